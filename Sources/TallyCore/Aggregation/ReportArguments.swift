import Foundation

/// How report options read, whoever gives them: `tally report`'s flags and the API's query
/// parameters go through these, so the two cannot drift apart.
public enum ReportArguments {
    /// An option that cannot be used; `option` is its name without dashes (`from`, `where`…).
    public struct Invalid: Error, Sendable, CustomStringConvertible {
        public let option: String
        public let reason: String
        public var description: String { "\(option): \(reason)" }
    }

    /// `from`/`to` as dates or date-times in `calendar`'s zone (a date in `to` is inclusive); nil
    /// when neither is given; `to` defaults to `now`.
    public static func window(from: String?, to: String?, calendar: PeriodCalendar,
                              now: Int64 = Int64(Date().timeIntervalSince1970)) throws(Invalid) -> Range<Int64>? {
        if from == nil, to == nil { return nil }
        var start: Int64 = 0
        if let from {
            guard let parsed = calendar.parse(from) else { throw Invalid(option: "from", reason: "cannot read '\(from)' as a date") }
            start = parsed
        }
        var end = now
        if let to {
            guard let parsed = calendar.parseEnd(to) else { throw Invalid(option: "to", reason: "cannot read '\(to)' as a date") }
            end = parsed
        }
        guard start < end else { throw Invalid(option: "from", reason: "must be before to") }
        return start..<end
    }

    /// Grouping keys, each argument possibly comma-separated.
    public static func dimensions(_ arguments: [String]) throws(Invalid) -> [ReportDimension] {
        var result: [ReportDimension] = []
        for name in split(arguments) {
            guard let dimension = ReportDimension(argument: name) else {
                throw Invalid(option: "by", reason: "unknown key '\(name)' (one of \(knownKeys))")
            }
            result.append(dimension)
        }
        return result
    }

    /// Filters `key=value[,value…]`, repeatable.
    public static func filters(_ clauses: [String]) throws(Invalid) -> [ReportDimension: Set<String>] {
        var result: [ReportDimension: Set<String>] = [:]
        for clause in clauses {
            guard let equals = clause.firstIndex(of: "=") else {
                throw Invalid(option: "where", reason: "'\(clause)': expected key=value")
            }
            let key = String(clause[..<equals])
            guard let dimension = ReportDimension(argument: key) else {
                throw Invalid(option: "where", reason: "unknown key '\(key)' (one of \(knownKeys))")
            }
            result[dimension, default: []].formUnion(clause[clause.index(after: equals)...].split(separator: ",").map(String.init))
        }
        return result
    }

    /// Columns to show; nil when none are named (every column that applies).
    public static func metrics(_ arguments: [String]) throws(Invalid) -> [Metric]? {
        let names = split(arguments)
        guard !names.isEmpty else { return nil }
        var result: [Metric] = []
        for name in names {
            guard let metric = Metric(name: name) else {
                throw Invalid(option: "metrics", reason: "unknown column '\(name)' (one of \(Metric.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            result.append(metric)
        }
        return result
    }

    private static var knownKeys: String { ReportDimension.allCases.map(\.rawValue).joined(separator: ", ") }

    private static func split(_ arguments: [String]) -> [String] {
        arguments.flatMap { $0.split(separator: ",") }.map(String.init)
    }
}
