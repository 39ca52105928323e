import Foundation

/// What to report: a window, a granularity, grouping keys and filters.
public struct ReportQuery: Sendable, Hashable {
    public var window: Range<Int64>?
    public var period: PeriodKind
    public var groupBy: [ReportDimension]
    public var filters: [ReportDimension: Set<String>]
    public var timeZone: TimeZone

    public init(window: Range<Int64>? = nil, period: PeriodKind = .month, groupBy: [ReportDimension] = [],
                filters: [ReportDimension: Set<String>] = [:], timeZone: TimeZone = TimeZone(identifier: "UTC")!) {
        self.window = window; self.period = period; self.groupBy = groupBy
        self.filters = filters; self.timeZone = timeZone
    }
}

/// One row of a report: a period, the values of the grouping keys, and the usage.
public struct ReportRow: Sendable, Hashable {
    public var period: Period
    public var keys: [String]
    public var amounts: UsageAmounts

    public init(period: Period, keys: [String], amounts: UsageAmounts) {
        self.period = period; self.keys = keys; self.amounts = amounts
    }
}

/// What a report rests on, so nobody has to trust a figure blindly.
public struct ReportBasis: Sendable, Hashable, Codable {
    public var records: Int64
    public var sources: Int64
    public var rejectedLines: Int64

    public init(records: Int64, sources: Int64, rejectedLines: Int64) {
        self.records = records; self.sources = sources; self.rejectedLines = rejectedLines
    }
}

public struct Report: Sendable, Hashable {
    public var query: ReportQuery
    public var window: Range<Int64>
    public var rows: [ReportRow]
    public var basis: ReportBasis

    public init(query: ReportQuery, window: Range<Int64>, rows: [ReportRow], basis: ReportBasis) {
        self.query = query; self.window = window; self.rows = rows; self.basis = basis
    }

    public var total: UsageAmounts {
        var sum = UsageAmounts()
        for row in rows { sum += row.amounts }
        return sum
    }
}

/// Accumulates contributions keyed by (period, grouping values) and emits sorted rows.
public struct ReportAccumulator: Sendable {
    private struct Key: Hashable { var period: Int; var keys: [String] }
    private var cells: [Key: UsageAmounts] = [:]
    public let periods: [Period]

    public init(periods: [Period]) { self.periods = periods }

    public mutating func add(period: Int, keys: [String], amounts: UsageAmounts) {
        guard !amounts.isZero else { return }
        cells[Key(period: period, keys: keys), default: UsageAmounts()] += amounts
    }

    public func rows() -> [ReportRow] {
        cells.sorted { lhs, rhs in
            if lhs.key.period != rhs.key.period { return lhs.key.period < rhs.key.period }
            return lhs.key.keys.lexicographicallyPrecedes(rhs.key.keys)
        }.map { ReportRow(period: periods[$0.key.period], keys: $0.key.keys, amounts: $0.value) }
    }
}
