import Foundation
import TallyCore

/// Reads Standard Workload Format traces (Parallel Workloads Archive, v2.2; formats-and-policies
/// §6): `;` header comments, then one job per line, 18 whitespace-separated fields, `-1` unknown.
///
/// * Times are seconds from the header's `UnixStartTime` (or `--start-epoch`); a trace without
///   either whose submit times are already epochs (Alea's extended SWF) is read as such.
/// * Traces that do not record the wait time (LCG, NASA iPSC) place each run at its submit time.
/// * Processors: allocated, else requested. CPU time and memory are per processor in SWF and are
///   multiplied out. Partition and queue numbers take their names from the header.
/// * Lines with more than 18 fields (extended SWF) keep the first 18; fewer is a rejected line.
public struct SWFCollector: LineCollector {
    public struct Options: Sendable {
        public var site: String
        /// Cluster name; default: the file name without extensions.
        public var cluster: String?
        /// Epoch of time 0 when the header has no `UnixStartTime`, or to override it.
        public var startEpoch: Int64?

        public init(site: String = "local", cluster: String? = nil, startEpoch: Int64? = nil) {
            self.site = site; self.cluster = cluster; self.startEpoch = startEpoch
        }
    }

    public let format = SourceFormat.swf
    public let file: String
    public let options: Options
    private let cluster: String
    private var headerStart: Int64?
    private var partitions: [Int64: String] = [:]
    private var queues: [Int64: String] = [:]
    private var base: Int64?
    private var values = [Double](repeating: -1, count: 18)
    private var headerLines: [UInt8] = []

    public init(file: String, options: Options) {
        self.file = file
        self.options = options
        var stem = URL(fileURLWithPath: file).lastPathComponent
        for suffix in [".gz", ".swf"] where stem.hasSuffix(suffix) { stem.removeLast(suffix.count) }
        cluster = options.cluster ?? stem
    }

    public mutating func consume(_ line: Bytes, number: Int, into batch: inout CollectedBatch) throws(UnusableInput) {
        batch.linesRead += 1
        let text = line.trimmingSpaces
        if text.isEmpty {
            batch.skipped[.blank, default: 0] += 1
            return
        }
        if text[0] == UInt8(ascii: ";") {
            readHeader(text.string)
            headerLines += text
            headerLines.append(UInt8(ascii: "\n"))
            batch.skipped[.header, default: 0] += 1
            return
        }
        var count = 0
        var index = 0
        while index < text.count {
            while index < text.count, text[index] == UInt8(ascii: " ") || text[index] == UInt8(ascii: "\t") { index += 1 }
            guard index < text.count else { break }
            var end = index
            while end < text.count, text[end] != UInt8(ascii: " "), text[end] != UInt8(ascii: "\t") { end += 1 }
            if count < 18 {
                guard let value = Self.number(text.slice(index, end)) else {
                    reject(number, field: Self.fieldNames[count], "not a number: '\(text.slice(index, end).string)'",
                           line, &batch)
                    return
                }
                values[count] = value
            }
            count += 1
            index = end
        }
        guard count >= 18 else {
            reject(number, field: nil, "too few fields: \(count) of 18", line, &batch)
            return
        }
        let epoch: Int64
        if let base {
            epoch = base
        } else if let start = options.startEpoch ?? headerStart {
            epoch = start
            base = start
        } else if values[1] > 100_000_000 {
            epoch = 0  // submit times are already epochs (extended SWF without header)
            base = 0
        } else {
            throw UnusableInput(position: SourcePosition(file: file, line: number),
                                reason: "no UnixStartTime in the header; pass --start-epoch")
        }
        do {
            batch.records.append(try record(epoch: epoch, number: number))
        } catch {
            reject(number, field: error.field, error.reason, line, &batch)
        }
    }

    public mutating func finish(into batch: inout CollectedBatch) throws(UnusableInput) {}

    /// The header comments: the start time and partition and queue names.
    public var resumeState: [UInt8] { headerLines }

    public mutating func restore(_ state: [UInt8]) throws(UnusableInput) {
        for line in state.split(separator: UInt8(ascii: "\n")) {
            readHeader(String(decoding: line, as: UTF8.self))
            headerLines += line
            headerLines.append(UInt8(ascii: "\n"))
        }
    }

    private func record(epoch: Int64, number: Int) throws(FieldError) -> UsageRecord {
        func known(_ index: Int) -> Double? { values[index] < 0 ? nil : values[index] }
        for index in 0..<18 where values[index] < 0 && values[index] != -1 {
            throw FieldError(field: Self.fieldNames[index], reason: "negative value \(values[index])")
        }
        guard let jobNumber = known(0) else { throw FieldError(field: "Job Number", reason: "unknown job number") }
        let submit = known(1).map { epoch + Int64($0.rounded()) }
        let run = known(3).map { Int64($0.rounded()) }
        let start: Int64? = run == nil ? nil : submit.map { $0 + Int64((known(2) ?? 0).rounded()) }
        let wall = run ?? 0
        let processors = known(4) ?? known(7) ?? 0
        let cores = Int64(processors.rounded())
        func perProcessor(_ index: Int, scale: Double) -> Int64? {
            guard let value = known(index), cores > 0 else { return nil }
            let total = value * Double(cores) * scale
            return total < 9e18 ? Int64(total.rounded()) : nil
        }
        let status = Int(values[10])
        let state: JobState = switch status {
        case 1: .completed
        case 0: .failed
        case 5: .cancelled
        default: .unknown
        }
        let partition = known(15).map { Int64($0) }.map { partitions[$0] ?? String($0) }
        let queue = known(14).map { Int64($0) }.map { queues[$0] ?? String($0) }
        let group = known(12).map { String(Int64($0)) }
        let id = String(Int64(jobNumber))
        do {
            return try UsageRecord(
                site: options.site, cluster: cluster, source: .swf, jobID: id, localJobID: id,
                naturalKey: "\(options.site)/swf/\(cluster)/\(id)", name: known(13).map { "app\(Int64($0))" },
                user: known(11).map { String(Int64($0)) }, group: group, account: group,
                partition: partition, qos: queue, nodeCount: 0,
                submit: submit, start: start, end: start.map { $0 + wall }, wallSeconds: start == nil ? 0 : wall,
                cores: Int(cores), memoryAllocated: nil, memoryRequested: perProcessor(9, scale: 1024),
                memoryUsedPeak: perProcessor(6, scale: 1024), cpuSeconds: perProcessor(5, scale: 1),
                state: state, rawState: status == -1 ? "" : "status \(status)",
                origin: SourcePosition(file: file, line: number))
        } catch {
            throw FieldError(field: nil, reason: error.description)
        }
    }

    private mutating func readHeader(_ text: String) {
        let body = text.dropFirst().trimmingCharacters(in: .whitespaces)
        guard let colon = body.firstIndex(of: ":") else { return }
        let key = body[..<colon].trimmingCharacters(in: .whitespaces)
        let value = body[body.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        switch key {
        case "UnixStartTime": headerStart = Int64(value)
        case "Partition", "Queue":
            let parts = value.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard parts.count >= 2, let number = Int64(parts[0]) else { return }
            let name = parts[1...].joined(separator: " ")
            if key == "Partition" { partitions[number] = name } else { queues[number] = name }
        default: break
        }
    }

    private func reject(_ number: Int, field: String?, _ reason: String, _ line: Bytes, _ batch: inout CollectedBatch) {
        batch.reject(file, line: number, field: field, reason, excerpt: line.excerpt())
    }

    /// `-1`, `12`, `3400.5`.
    static func number(_ bytes: Bytes) -> Double? {
        guard !bytes.isEmpty else { return nil }
        if let integer = SlurmValues.integer(bytes) { return Double(integer) }
        return Double(bytes.string)
    }

    static let fieldNames = [
        "Job Number", "Submit Time", "Wait Time", "Run Time", "Allocated Processors", "Average CPU Time",
        "Used Memory", "Requested Processors", "Requested Time", "Requested Memory", "Status", "User ID",
        "Group ID", "Executable Number", "Queue Number", "Partition Number", "Preceding Job", "Think Time",
    ]
}

extension UnsafeBufferPointer<UInt8> {
    /// Without leading and trailing spaces and tabs.
    var trimmingSpaces: Bytes {
        var low = 0, high = count
        while low < high, self[low] == UInt8(ascii: " ") || self[low] == UInt8(ascii: "\t") { low += 1 }
        while high > low, self[high - 1] == UInt8(ascii: " ") || self[high - 1] == UInt8(ascii: "\t") { high -= 1 }
        return slice(low, high)
    }
}
