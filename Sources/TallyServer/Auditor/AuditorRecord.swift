import Foundation
import TallyCore
import TallyStore

/// AUDITOR's record on the wire (ALU-Schumacher/AUDITOR `RecordAdd`, `RecordUpdate`, `Record`):
/// an id, `meta` (key → list of strings), `components` (name, integer amount, scores), RFC 3339
/// start and stop times. See docs/api.md for how it maps onto Tally's record.
struct AuditorScore: Codable, Hashable, Sendable {
    var name: String
    var value: Double
}

struct AuditorComponent: Codable, Hashable, Sendable {
    var name: String
    var amount: Int64
    var scores: [AuditorScore]

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        amount = try container.decode(Int64.self, forKey: .amount)
        scores = try container.decodeIfPresent([AuditorScore].self, forKey: .scores) ?? []
    }
}

/// `POST /record(s)` bodies, and what is stored and answered (with `runtime` added).
struct AuditorRecord: Codable, Hashable, Sendable {
    var recordID: String
    var meta: [String: [String]]?
    var components: [AuditorComponent]
    var startTime: String
    var stopTime: String?

    enum CodingKeys: String, CodingKey {
        case recordID = "record_id", meta, components, startTime = "start_time", stopTime = "stop_time"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        recordID = try container.decode(String.self, forKey: .recordID)
        meta = try container.decodeIfPresent([String: [String]].self, forKey: .meta)
        components = try container.decodeIfPresent([AuditorComponent].self, forKey: .components) ?? []
        startTime = try container.decode(String.self, forKey: .startTime)
        stopTime = try container.decodeIfPresent(String.self, forKey: .stopTime)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(recordID, forKey: .recordID)
        try container.encode(meta, forKey: .meta)
        try container.encode(components, forKey: .components)
        try container.encode(startTime, forKey: .startTime)
        try container.encode(stopTime, forKey: .stopTime)
    }

    /// Why AUDITOR itself would refuse this record, if it would.
    func validate() throws(AuditorError) {
        func name(_ text: String, _ what: String) throws(AuditorError) {
            guard !text.isEmpty, text.count <= 256 else { throw .invalid("\(what) must have 1 to 256 characters") }
        }
        try name(recordID, "record_id")
        for (key, values) in meta ?? [:] {
            try name(key, "a meta key")
            for value in values { try name(value, "meta value of \(key)") }
        }
        for component in components {
            try name(component.name, "a component name")
            guard component.amount >= 0 else { throw .invalid("component \(component.name): amount must be ≥ 0") }
            for score in component.scores {
                try name(score.name, "a score name")
                guard score.value >= 0, score.value.isFinite else {
                    throw .invalid("component \(component.name): score \(score.name) must be ≥ 0")
                }
            }
        }
        let start = try Self.seconds(startTime, "start_time")
        if let stopTime, try Self.seconds(stopTime, "stop_time") < start {
            throw .invalid("stop_time is before start_time")
        }
    }

    var start: Int64 { (try? Self.seconds(startTime, "start_time")) ?? 0 }
    var stop: Int64? { stopTime.flatMap { try? Self.seconds($0, "stop_time") } }

    /// RFC 3339 → epoch seconds (fractions dropped: Tally counts whole seconds).
    static func seconds(_ text: String, _ field: String) throws(AuditorError) -> Int64 {
        guard let date = RFC3339.parse(text) else { throw .invalid("\(field) is not an RFC 3339 time: \(text)") }
        return Int64(date.timeIntervalSince1970.rounded(.down))
    }

    func metaValue(_ keys: [String]) -> String? {
        for key in keys { if let value = meta?[key]?.first, !value.isEmpty { return value } }
        return nil
    }

    func amount(_ names: Set<String>) -> Int64? {
        components.first { names.contains($0.name.lowercased()) }?.amount
    }

    /// The Tally record this AUDITOR record accounts for.
    func apiRecord() throws(AuditorError) -> APIRecord {
        guard let site = metaValue(["site_id", "site"]) else {
            throw .invalid("meta.site_id is required: Tally keeps each site's records apart")
        }
        let start = self.start, stop = self.stop
        var record = APIRecord(site: site, cluster: metaValue(["cluster", "submit_host"]) ?? "auditor", jobID: recordID,
                               state: stop == nil ? JobState.running.rawValue : JobState.completed.rawValue)
        record.localJobID = recordID
        record.naturalKey = "\(site)/auditor/\(recordID)"
        record.source = SourceFormat.api.rawValue
        record.user = metaValue(["user_id", "user"])
        record.group = metaValue(["group_id", "group"])
        record.account = metaValue(["account", "vo", "VO"])
        record.partition = metaValue(["partition", "queue"])
        record.submit = start
        record.start = start
        record.end = stop
        record.wallSeconds = stop.map { $0 - start } ?? 0
        record.cores = amount(["cores", "cpus", "ncpus", "cpu"]).map { Int($0) } ?? 1
        record.gpus = amount(["gpus", "gpu"]).map { Int($0) }
        record.memAllocBytes = amount(["memory", "mem"])
        record.cpuSeconds = amount(["totalcpu", "cputime", "cpu_time"])
        return record
    }

    /// Canonical JSON (sorted keys): equal records, equal text, so a resend is recognised.
    var canonicalJSON: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    var document: AuditorDocument {
        AuditorDocument(recordID: recordID, json: canonicalJSON, start: start, stop: stop)
    }

    static func decode(_ document: AuditorDocument) throws -> AuditorRecord {
        try JSONDecoder().decode(AuditorRecord.self, from: Data(document.json.utf8))
    }
}

/// `PUT /record`: only the stop time changes (as in AUDITOR).
struct AuditorRecordUpdate: Decodable {
    var recordID: String
    var stopTime: String

    enum CodingKeys: String, CodingKey { case recordID = "record_id", stopTime = "stop_time" }
}

/// A record as AUDITOR answers it: the stored record plus its runtime in seconds.
struct AuditorRecordAnswer: Encodable {
    var record: AuditorRecord

    enum CodingKeys: String, CodingKey { case recordID = "record_id", meta, components, startTime = "start_time", stopTime = "stop_time", runtime }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(record.recordID, forKey: .recordID)
        try container.encode(record.meta, forKey: .meta)
        try container.encode(record.components, forKey: .components)
        try container.encode(record.startTime, forKey: .startTime)
        try container.encode(record.stopTime, forKey: .stopTime)
        try container.encode(record.stop.map { $0 - record.start }, forKey: .runtime)
    }
}

enum AuditorError: Error, CustomStringConvertible {
    case invalid(String)

    var description: String {
        switch self {
        case let .invalid(reason): reason
        }
    }
}

/// RFC 3339 with or without fractional seconds.
enum RFC3339 {
    static func parse(_ text: String) -> Date? {
        let plain = ISO8601DateFormatter()
        plain.formatOptions = [.withInternetDateTime]
        if let date = plain.date(from: text) { return date }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return fractional.date(from: text)
    }
}
