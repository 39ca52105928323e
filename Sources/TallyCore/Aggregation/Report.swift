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
    /// What the configured resources offered for this row's scope (utilisation's denominator).
    public var capacity: Capacity?

    public init(period: Period, keys: [String], amounts: UsageAmounts, capacity: Capacity? = nil) {
        self.period = period; self.keys = keys; self.amounts = amounts; self.capacity = capacity
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
    /// The columns this report shows by default: the basic ones plus what the configuration adds.
    public var metrics: [Metric]
    public var benchmarkKind: String
    /// User name → display name from the user directory.
    public var displayNames: [String: String]
    public var totalCapacity: Capacity?
    /// What a reader must know to trust the figures (unclassified GPUs, unbenchmarked hours…).
    public var notes: [String]

    public init(query: ReportQuery, window: Range<Int64>, rows: [ReportRow], basis: ReportBasis,
                metrics: [Metric] = Metric.basic, benchmarkKind: String = "HS23", displayNames: [String: String] = [:],
                totalCapacity: Capacity? = nil, notes: [String] = []) {
        self.query = query; self.window = window; self.rows = rows; self.basis = basis
        self.metrics = metrics; self.benchmarkKind = benchmarkKind; self.displayNames = displayNames
        self.totalCapacity = totalCapacity; self.notes = notes
    }

    public var total: UsageAmounts {
        var sum = UsageAmounts()
        for row in rows { sum += row.amounts }
        return sum
    }

    /// The same figures grouped by some of this report's keys, summed; with `total`, all periods
    /// folded into one spanning the window. Sums are exact (amounts are integers), so this equals
    /// asking the store again — without reading the rollups again. Capacity is not carried over.
    public func regrouped(by dimensions: [ReportDimension], total: Bool) -> Report {
        let positions = dimensions.map { dimension in query.groupBy.firstIndex(of: dimension)! }
        let periods = total ? PeriodCalendar(timeZone: query.timeZone).periods(.total, covering: window)
                            : Array(Set(rows.map(\.period))).sorted { $0.start < $1.start }
        let index = Dictionary(uniqueKeysWithValues: periods.enumerated().map { ($1.start, $0) })
        var accumulator = ReportAccumulator(periods: periods)
        for row in rows {
            accumulator.add(period: total ? 0 : index[row.period.start]!, keys: positions.map { row.keys[$0] }, amounts: row.amounts)
        }
        var result = self
        result.query.groupBy = dimensions
        if total { result.query.period = .total }
        result.rows = accumulator.rows()
        result.totalCapacity = nil
        return result
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
            return Self.precedes(lhs.key.keys, rhs.key.keys)
        }.map { ReportRow(period: periods[$0.key.period], keys: $0.key.keys, amounts: $0.value) }
    }

    /// Row order within a period: size and wall-time buckets by size, everything else by name.
    public static func precedes(_ lhs: [String], _ rhs: [String]) -> Bool {
        for (left, right) in zip(lhs, rhs) where left != right {
            if let leftOrder = JobBuckets.order(of: left), let rightOrder = JobBuckets.order(of: right) {
                return leftOrder < rightOrder
            }
            return left < right
        }
        return false
    }

    /// A partial sum for one period and group number (the same pair may come several times).
    public struct Cell: Sendable {
        public var period: Int
        public var group: Int
        public var amounts: UsageAmounts
        public init(period: Int, group: Int, amounts: UsageAmounts) {
            self.period = period; self.group = group; self.amounts = amounts
        }
    }

    /// Rows from partial sums per period and group number, in the same order as `rows()`:
    /// names are compared once per group, not once per comparison of a sort over hundreds of
    /// thousands of cells, and the sort itself is on integers. As in `add`, a group's sum that
    /// is zero is dropped; groups whose names are equal are then merged.
    public static func rows(periods: [Period], groups: [[String]], cells: [Cell]) -> [ReportRow] {
        var canonical = [Int](repeating: 0, count: groups.count)
        var byNames: [[String]: Int] = [:]
        for (index, names) in groups.enumerated() {
            if let first = byNames[names] { canonical[index] = first } else { byNames[names] = index; canonical[index] = index }
        }
        var rank = [Int](repeating: 0, count: groups.count)
        for (position, index) in byNames.values.sorted(by: { precedes(groups[$0], groups[$1]) }).enumerated() {
            rank[index] = position
        }
        // Cells by period (a counting sort: periods are dense), then each period's few by name
        // rank and group number, packed in one integer; the cells themselves (136 bytes) stay put.
        var starts = [Int](repeating: 0, count: periods.count + 1)
        for cell in cells { starts[cell.period + 1] += 1 }
        for period in periods.indices { starts[period + 1] += starts[period] }
        var byPeriod = [Int](repeating: 0, count: cells.count)
        var next = starts
        for (index, cell) in cells.enumerated() {
            byPeriod[next[cell.period]] = index
            next[cell.period] += 1
        }
        var rows: [ReportRow] = []
        rows.reserveCapacity(cells.count)
        var order: [(key: UInt64, cell: Int)] = []
        for period in periods.indices where starts[period] < starts[period + 1] {
            order.removeAll(keepingCapacity: true)
            for index in byPeriod[starts[period]..<starts[period + 1]] {
                let group = cells[index].group
                order.append((UInt64(rank[canonical[group]]) << 32 | UInt64(group), index))
            }
            order.sort { $0.key < $1.key }
            var position = 0
            while position < order.count {
                // One name group: sum each group number, drop zero sums, merge the rest.
                let named = canonical[Int(order[position].key & 0xFFFF_FFFF)]
                var total = UsageAmounts(), any = false
                while position < order.count, canonical[Int(order[position].key & 0xFFFF_FFFF)] == named {
                    let key = order[position].key
                    var sum = UsageAmounts()
                    while position < order.count, order[position].key == key {
                        sum += cells[order[position].cell].amounts
                        position += 1
                    }
                    if !sum.isZero { total += sum; any = true }
                }
                if any { rows.append(ReportRow(period: periods[period], keys: groups[named], amounts: total)) }
            }
        }
        return rows
    }
}
