import Foundation
import TallyStore

/// AUDITOR's `GET /records` filter grammar (serde_qs brackets):
/// `start_time[gt|gte|lt|lte]=RFC3339`, `stop_time[…]`, `runtime[gt|gte|lt|lte|equals]=seconds`,
/// `component[NAME][gt|gte|lt|lte|equals]=amount`, `meta[KEY][c|dnc][i]=value`, `record_id=…`,
/// `sort_by[asc|desc]=start_time|stop_time|runtime|record_id`, `limit=N`. Unknown keys are a 400.
/// Times and runtime go to the database; meta and components are checked on each record.
struct AuditorQuery {
    var documents = AuditorDocumentQuery()
    var meta: [(key: String, contains: Bool, value: String)] = []
    var components: [(name: String, comparison: AuditorDocumentQuery.Comparison, amount: Int64)] = []
    var limit: Int?

    init(rawQuery: String?) throws(AuditorError) {
        var filtered = false
        var hasRuntime = false
        var seen = Set<String>()
        for pair in (rawQuery ?? "").split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = Self.decode(parts[0]), value = parts.count > 1 ? Self.decode(parts[1]) : ""
            guard seen.insert(key).inserted else { throw .invalid("\(key) is given twice") }
            let path = Self.path(key)
            switch (path.first, path.count) {
            case ("record_id", 1):
                documents.recordID = value
                filtered = true
            case ("limit", 1):
                guard let number = Int(value), number >= 0 else { throw .invalid("limit must be a whole number ≥ 0") }
                limit = number
            case ("sort_by", 2):
                guard let field = AuditorDocumentQuery.Field(rawValue: value) else {
                    throw .invalid("sort_by takes start_time, stop_time, runtime or record_id, not \(value)")
                }
                switch path[1] {
                case "asc": documents.sort = (field, false)
                case "desc": documents.sort = (field, true)
                default: throw .invalid("sort_by[\(path[1])]: use sort_by[asc] or sort_by[desc]")
                }
            case ("start_time", 2), ("stop_time", 2):
                let comparison = try Self.comparison(path[1], key: key, allowsEquals: false)
                documents.conditions.append((path[0] == "start_time" ? .startTime : .stopTime, comparison,
                                             try AuditorRecord.seconds(value, key)))
                filtered = true
            case ("runtime", 2):
                guard let seconds = Int64(value) else { throw .invalid("\(key) must be whole seconds") }
                documents.conditions.append((.runtime, try Self.comparison(path[1], key: key, allowsEquals: true), seconds))
                filtered = true
                hasRuntime = true
            case ("component", 3):
                guard let amount = Int64(value) else { throw .invalid("\(key) must be an integer amount") }
                components.append((path[1], try Self.comparison(path[2], key: key, allowsEquals: true), amount))
                filtered = true
            case ("meta", 3), ("meta", 4):
                // `meta[KEY][c][0]=a&meta[KEY][c][1]=b`: the record's list holds a and b
                // (dnc: holds neither).
                if path.count == 4, Int(path[3]) == nil { throw .invalid("\(key): the last index must be a number") }
                switch path[2] {
                case "c": meta.append((path[1], true, value))
                case "dnc": meta.append((path[1], false, value))
                default: throw .invalid("\(key): meta filters are meta[KEY][c] or meta[KEY][dnc]")
                }
                filtered = true
            default:
                throw .invalid("unknown filter \(key)")
            }
        }
        for field in [AuditorDocumentQuery.Field.startTime, .stopTime, .runtime] {
            let kinds = documents.conditions.filter { $0.field == field }.map(\.comparison)
            if kinds.contains(.gt) && kinds.contains(.gte) || kinds.contains(.lt) && kinds.contains(.lte) {
                throw .invalid("\(field.rawValue): give gt or gte, lt or lte, not both")
            }
        }
        // As AUDITOR: a filtered query answers finished records only.
        documents.stoppedOnly = filtered && !hasRuntime
    }

    /// `meta[site_id][c]` → ["meta", "site_id", "c"].
    static func path(_ key: String) -> [String] {
        guard let open = key.firstIndex(of: "[") else { return [key] }
        var parts = [String(key[..<open])]
        var rest = key[open...]
        while rest.first == "[", let close = rest.firstIndex(of: "]") {
            parts.append(String(rest[rest.index(after: rest.startIndex)..<close]))
            rest = rest[rest.index(after: close)...]
        }
        return rest.isEmpty ? parts : [key]
    }

    static func decode(_ text: Substring) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }

    static func comparison(_ text: String, key: String, allowsEquals: Bool) throws(AuditorError) -> AuditorDocumentQuery.Comparison {
        guard let comparison = AuditorDocumentQuery.Comparison(rawValue: text), allowsEquals || comparison != .equals else {
            throw .invalid("\(key): use gt, gte, lt, lte\(allowsEquals ? " or equals" : "")")
        }
        return comparison
    }

    /// The checks the database did not make.
    func matches(_ record: AuditorRecord) -> Bool {
        for filter in meta {
            let values = record.meta?[filter.key] ?? []
            if values.contains(filter.value) != filter.contains { return false }
        }
        for filter in components {
            let amounts = record.components.filter { $0.name == filter.name }.map(\.amount)
            let satisfied = amounts.contains { amount in
                switch filter.comparison {
                case .gt: amount > filter.amount
                case .gte: amount >= filter.amount
                case .lt: amount < filter.amount
                case .lte: amount <= filter.amount
                case .equals: amount == filter.amount
                }
            }
            if !satisfied { return false }
        }
        return true
    }
}
