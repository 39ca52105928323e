import Foundation

/// Writes APEL messages: a header line, then `Key: Value` records each followed by `%%`, at most
/// `maxRecords` records and under `maxBytes` bytes per message, in 7-bit ASCII (SSM sends ASCII).
public struct APELMessageWriter: Sendable {
    public static let jobHeader = "APEL-individual-job-message: v0.3"
    public static let summaryHeader = "APEL-summary-job-message: v0.2"
    public static let syncHeader = "APEL-sync-message: v0.1"

    public var maxRecords = 1000
    /// AMS refuses messages of 1 MB or more.
    public var maxBytes = 1_000_000 - 1024

    public init() {}

    /// Key-value messages of `records`, split by count and size.
    public func messages(header: String, records: some Sequence<APELFields>) -> [String] {
        var messages: [String] = []
        var current = header + "\n"
        var count = 0
        for record in records {
            var text = ""
            for (key, value) in record.fields { text += "\(key): \(Self.ascii(value))\n" }
            text += "%%\n"
            if count > 0, count == maxRecords || current.utf8.count + text.utf8.count >= maxBytes {
                messages.append(current)
                current = header + "\n"
                count = 0
            }
            current += text
            count += 1
        }
        if count > 0 { messages.append(current) }
        return messages
    }

    /// JSON accelerator messages (apel#459 `APEL-accelerator-message` v0.1).
    /// 12500 → "12.5", 10000 → "10.0" (as APEL writes scores).
    public static func decimal(milli: Int64) -> String {
        var fraction = String(milli % 1000)
        while fraction.count < 3 { fraction = "0" + fraction }
        while fraction.count > 1, fraction.hasSuffix("0") { fraction.removeLast() }
        return "\(milli / 1000).\(fraction)"
    }

    public func acceleratorMessages(_ records: some Sequence<APELAcceleratorRecord>) -> [String] {
        var messages: [String] = []
        var items: [String] = []
        var bytes = 0
        func flush() {
            guard !items.isEmpty else { return }
            messages.append(#"{"Type": "APEL-accelerator-message", "Version": "0.1", "UsageRecords": ["#
                            + items.joined(separator: ",\n ") + "]}\n")
            items.removeAll()
            bytes = 0
        }
        for record in records {
            func string(_ value: String?) -> String { value.map { "\"\(Self.jsonEscaped(Self.ascii($0)))\"" } ?? "null" }
            let item = """
                {"MeasurementMonth": \(record.measurementMonth), "MeasurementYear": \(record.measurementYear), \
                "AssociatedRecordType": "job", "AssociatedRecord": \(string(record.associatedRecord)), \
                "GlobalUserName": \(string(record.globalUserName)), "FQAN": \(string(record.fqan)), \
                "SiteName": \(string(record.siteName)), "Count": \(record.count), \
                "Cores": \(record.cores.map(String.init) ?? "null"), \
                "ActiveDuration": \(record.activeDuration.map(String.init) ?? "null"), \
                "AvailableDuration": \(record.availableDuration), "BenchmarkType": \(string(record.benchmarkType)), \
                "Benchmark": \(record.benchmarkMilli.map { Self.decimal(milli: $0) } ?? "null"), "Type": "GPU", \
                "Model": \(string(record.model))}
                """
            if items.count == maxRecords || bytes + item.utf8.count + 128 >= maxBytes { flush() }
            items.append(item)
            bytes += item.utf8.count + 3
        }
        flush()
        return messages
    }

    /// 7-bit ASCII: other characters become `?` (SSM decodes messages as ASCII); line breaks
    /// would end the value, so they become spaces.
    public static func ascii(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            if scalar == "\n" || scalar == "\r" || scalar == "\t" {
                out.append(" ")
            } else if scalar.isASCII, scalar.value >= 0x20, scalar.value != 0x7F {
                out.unicodeScalars.append(scalar)
            } else {
                out.append("?")
            }
        }
        return out
    }

    static func jsonEscaped(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }
}

/// Reads APEL key-value messages as APEL's loader does: header first, `Key: Value` split on the
/// first colon and trimmed, records separated by `%%`, blank lines and CRLF tolerated, a repeated
/// key keeps its last value, unknown keys reject the message.
public struct APELMessage: Sendable {
    public enum Kind: Sendable, Equatable {
        case job, summary, sync
    }

    public struct Record: Sendable {
        public var fields: [String: String]
        /// Line of the record's first field in the message.
        public var line: Int

        public init(fields: [String: String], line: Int) {
            self.fields = fields
            self.line = line
        }
    }

    public var kind: Kind
    public var header: String
    public var records: [Record]

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var line: Int
        public var reason: String
        public var description: String { "line \(line): \(reason)" }

        public init(line: Int, reason: String) {
            self.line = line
            self.reason = reason
        }
    }

    public static let jobKeys: Set<String> = [
        "Site", "SubmitHost", "MachineName", "Queue", "LocalJobId", "LocalUserId", "GlobalUserName", "FQAN", "VO",
        "VOGroup", "VORole", "WallDuration", "CpuDuration", "Processors", "NodeCount", "StartTime", "EndTime",
        "InfrastructureDescription", "InfrastructureType", "MemoryReal", "MemoryVirtual", "ServiceLevelType",
        "ServiceLevel", "SubmitHostType", "UpdateTime",
    ]
    static let summaryKeys: Set<String> = [
        "Site", "Month", "Year", "GlobalUserName", "VO", "VOGroup", "VORole", "SubmitHost", "InfrastructureType",
        "InfrastructureDescription", "ServiceLevelType", "ServiceLevel", "NodeCount", "Processors",
        "EarliestEndTime", "LatestEndTime", "WallDuration", "CpuDuration", "NumberOfJobs", "UpdateTime",
    ]
    static let syncKeys: Set<String> = ["Site", "SubmitHost", "NumberOfJobs", "Month", "Year"]

    public init(parsing text: String) throws(Failure) {
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            .map { $0.hasSuffix("\r") ? String($0.dropLast()) : String($0) }
        while let first = lines.first, first.trimmingCharacters(in: .whitespaces).isEmpty { lines.removeFirst() }
        guard let headerLine = lines.first else { throw Failure(line: 1, reason: "empty message") }
        header = headerLine.trimmingCharacters(in: .whitespaces)
        let keys: Set<String>
        switch header {
        case "APEL-individual-job-message: v0.1", "APEL-individual-job-message: v0.2", APELMessageWriter.jobHeader:
            kind = .job; keys = Self.jobKeys
        case APELMessageWriter.summaryHeader:
            kind = .summary; keys = Self.summaryKeys
        case APELMessageWriter.syncHeader:
            kind = .sync; keys = Self.syncKeys
        default:
            throw Failure(line: 1, reason: "message type not handled: \(header) (job v0.1–v0.3, summary v0.2, sync v0.1 are)")
        }
        records = []
        var current: [String: String] = [:]
        var start = 0
        for (offset, line) in lines.enumerated().dropFirst() {
            let number = offset + 1
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            if trimmed == "%%" {
                if !current.isEmpty { records.append(Record(fields: current, line: start)) }
                current = [:]
                continue
            }
            guard let colon = trimmed.firstIndex(of: ":") else {
                throw Failure(line: number, reason: "not a Key: Value line")
            }
            let key = trimmed[..<colon].trimmingCharacters(in: .whitespaces)
            let value = trimmed[trimmed.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            guard keys.contains(key) else { throw Failure(line: number, reason: "unknown field: \(key)") }
            if current.isEmpty { start = number }
            current[key] = value
        }
        if !current.isEmpty { records.append(Record(fields: current, line: start)) }
    }
}

extension APELMessage.Record {
    /// The value, or nil for APEL's null words (empty, `None`, `null`).
    public func value(_ key: String) -> String? {
        guard let value = fields[key], !value.isEmpty, value.lowercased() != "none", value.lowercased() != "null" else {
            return nil
        }
        return value
    }

    /// A plain integer (APEL rejects `100.5`).
    public func integer(_ key: String, required: Bool = false) throws(APELMessage.Failure) -> Int64? {
        guard let text = value(key) else {
            if required { throw APELMessage.Failure(line: line, reason: "\(key) is required") }
            return nil
        }
        guard let number = Int64(text) else {
            throw APELMessage.Failure(line: line, reason: "\(key) is not an integer: \(text)")
        }
        return number
    }
}
