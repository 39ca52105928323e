/// A record as an AUDITOR client sent it (`POST /record`), kept verbatim so that reading it back
/// returns what was sent (meta lists, components, scores), beside the usage record it maps to.
public struct AuditorDocument: Sendable, Hashable {
    public var recordID: String
    /// The record as JSON, in canonical form (sorted keys).
    public var json: String
    /// Start and stop as epoch seconds, runtime in seconds: what AUDITOR's filters compare.
    public var start: Int64
    public var stop: Int64?
    public var runtime: Int64? { stop.map { $0 - start } }

    public init(recordID: String, json: String, start: Int64, stop: Int64?) {
        self.recordID = recordID; self.json = json; self.start = start; self.stop = stop
    }
}

/// Which AUDITOR documents to read, in which order: the comparisons a database can do
/// (times, runtime); meta and component filters are applied by the caller.
public struct AuditorDocumentQuery: Sendable, Hashable {
    public enum Field: String, Sendable { case startTime = "start_time", stopTime = "stop_time", runtime, recordID = "record_id" }
    public enum Comparison: String, Sendable { case gt, gte, lt, lte, equals }

    public var recordID: String?
    public var conditions: [(field: Field, comparison: Comparison, value: Int64)] = []
    /// Only records with a stop time (AUDITOR leaves running ones out of filtered queries).
    public var stoppedOnly = false
    public var sort: (field: Field, descending: Bool) = (.stopTime, false)

    public init() {}

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.recordID == rhs.recordID && lhs.stoppedOnly == rhs.stoppedOnly && lhs.sort == rhs.sort
            && lhs.conditions.elementsEqual(rhs.conditions) { $0 == $1 }
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(recordID); hasher.combine(conditions.count) }

    /// The shared SQL over `auditor_record`.
    func sql(_ dialect: SQLDialect) -> SQLText {
        var text = SQLText(dialect, "SELECT record_id, document, start_time, stop_time FROM auditor_record WHERE TRUE")
        if let recordID {
            text.append(" AND record_id = ")
            text.bind(recordID)
        }
        if stoppedOnly { text.append(" AND stop_time IS NOT NULL") }
        for condition in conditions {
            let column = switch condition.field {
            case .startTime: "start_time"
            case .stopTime: "stop_time"
            case .runtime: "(stop_time - start_time)"
            case .recordID: "record_id"
            }
            let op = switch condition.comparison {
            case .gt: ">"
            case .gte: ">="
            case .lt: "<"
            case .lte: "<="
            case .equals: "="
            }
            text.append(" AND \(column) \(op) ")
            text.bind(condition.value)
        }
        let column = switch sort.field {
        case .startTime: "start_time"
        case .stopTime: "stop_time"
        case .runtime: "(stop_time - start_time)"
        case .recordID: "record_id"
        }
        // NULL stop times sort last either way, as PostgreSQL does by default ascending.
        text.append(" ORDER BY \(column) IS NULL, \(column) \(sort.descending ? "DESC" : "ASC"), record_id")
        return text
    }
}
