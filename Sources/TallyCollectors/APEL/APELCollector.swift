import Foundation
import TallyCore

/// Reads APEL individual job messages (`APEL-individual-job-message: v0.1`–`v0.3`, as APEL clients
/// send them to a central repository), one record per `%%`-terminated block. Keys follow APEL's
/// loader: split on the first colon, trimmed, a repeated key keeps its last value, unknown keys
/// reject the record (APEL rejects the whole message; here the other records are kept).
/// Several messages may follow each other in one file (each starts with its header line).
public struct APELCollector: LineCollector {
    public struct Options: Sendable {
        /// Cluster when a record names no MachineName or SubmitHost.
        public var cluster: String?
        public init(cluster: String? = nil) { self.cluster = cluster }
    }

    public let format = SourceFormat.apel
    let file: String
    let options: Options
    private var inMessage = false
    private var fields: [String: String] = [:]
    private var firstLine = 0
    private var problem: (line: Int, field: String?, reason: String, excerpt: String)?

    public init(file: String, options: Options = Options()) {
        self.file = file
        self.options = options
    }

    public mutating func consume(_ line: UnsafeBufferPointer<UInt8>, number: Int,
                                 into batch: inout CollectedBatch) throws(UnusableInput) {
        var text = String(decoding: line, as: UTF8.self)
        if text.hasSuffix("\r") { text.removeLast() }
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty { return }
        if trimmed.hasPrefix("APEL-") {
            // A header: the previous message's last record may lack its final `%%`.
            finishRecord(into: &batch)
            guard trimmed.hasPrefix("APEL-individual-job-message:") else {
                throw UnusableInput(position: SourcePosition(file: file, line: number),
                                    reason: "\(trimmed): only individual job messages are read (summaries and sync records carry no jobs)")
            }
            let version = trimmed.dropFirst("APEL-individual-job-message:".count).trimmingCharacters(in: .whitespaces)
            guard ["v0.1", "v0.2", "v0.3"].contains(version) else {
                throw UnusableInput(position: SourcePosition(file: file, line: number),
                                    reason: "job message version \(version) is not read (v0.1–v0.3 are)")
            }
            inMessage = true
            return
        }
        guard inMessage else {
            throw UnusableInput(position: SourcePosition(file: file, line: number),
                                reason: "no APEL message header (APEL-individual-job-message: v0.3)")
        }
        if trimmed == "%%" {
            finishRecord(into: &batch)
            return
        }
        if fields.isEmpty, problem == nil { firstLine = number }
        guard let colon = trimmed.firstIndex(of: ":") else {
            if problem == nil { problem = (number, nil, "not a Key: Value line", trimmed) }
            return
        }
        let key = trimmed[..<colon].trimmingCharacters(in: .whitespaces)
        let value = trimmed[trimmed.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        guard APELMessage.jobKeys.contains(key) else {
            if problem == nil { problem = (number, key, "unknown field: \(key)", trimmed) }
            return
        }
        fields[key] = value
    }

    public mutating func finish(into batch: inout CollectedBatch) throws(UnusableInput) {
        finishRecord(into: &batch)
    }

    private mutating func finishRecord(into batch: inout CollectedBatch) {
        defer { fields = [:]; problem = nil }
        if let problem {
            batch.rejections.append(Rejection(position: SourcePosition(file: file, line: problem.line),
                                              field: problem.field, reason: problem.reason, excerpt: problem.excerpt))
            return
        }
        guard !fields.isEmpty else { return }
        let record = APELMessage.Record(fields: fields, line: firstLine)
        do {
            batch.records.append(try Self.usageRecord(record, file: file, options: options))
        } catch let failure as APELMessage.Failure {
            batch.rejections.append(Rejection(position: SourcePosition(file: file, line: failure.line), field: nil,
                                              reason: failure.reason, excerpt: fields.map { "\($0): \($1)" }.sorted().joined(separator: "; ")))
        } catch {
            batch.rejections.append(Rejection(position: SourcePosition(file: file, line: firstLine), field: nil,
                                              reason: "\(error)", excerpt: fields["LocalJobId"] ?? ""))
        }
    }

    static func usageRecord(_ record: APELMessage.Record, file: String, options: Options) throws -> UsageRecord {
        guard let site = record.value("Site") else { throw APELMessage.Failure(line: record.line, reason: "Site is required") }
        guard let jobID = record.value("LocalJobId") else {
            throw APELMessage.Failure(line: record.line, reason: "LocalJobId is required")
        }
        let wall = try record.integer("WallDuration", required: true)!
        let cpu = try record.integer("CpuDuration", required: true)!
        let start = try record.integer("StartTime", required: true)!
        let end = try record.integer("EndTime", required: true)!
        guard end >= start else { throw APELMessage.Failure(line: record.line, reason: "EndTime is before StartTime") }
        guard wall >= 0, cpu >= 0 else { throw APELMessage.Failure(line: record.line, reason: "negative duration") }
        let cluster = record.value("MachineName") ?? record.value("SubmitHost") ?? options.cluster ?? "apel"
        let vo = record.value("VO")
        return try UsageRecord(
            site: site, cluster: cluster, source: .apel, jobID: jobID, localJobID: jobID,
            // APEL's own key: (Site, LocalJobId, EndTime).
            naturalKey: "\(site)/apel/\(jobID)/\(end)",
            user: record.value("LocalUserId"), group: vo, account: vo, partition: record.value("Queue"), qos: nil,
            nodeCount: Int(try record.integer("NodeCount") ?? 1), submit: start, start: start, end: end,
            wallSeconds: wall, cores: Int(try record.integer("Processors") ?? 1),
            memoryUsedPeak: try record.integer("MemoryReal").map { $0 * 1024 }, cpuSeconds: cpu,
            state: .completed, rawState: "APEL", origin: SourcePosition(file: file, line: record.line))
    }
}
