import Foundation
import GRDB
import GRDBSQLite
import TallyCore

extension SQLiteStore {
    public func report(_ query: ReportQuery) async throws -> Report {
        let dictionary = dimensions
        let cache = plans
        let configuration = configuration
        return try await queue.read { db in
            var runner = ReportRunner(db: db, dimensions: dictionary, plans: cache, configuration: configuration)
            return try runner.run(query)
        }
    }

    public func jobs(_ query: JobQuery) async throws -> [UsageRecord] {
        let dictionary = dimensions
        return try await queue.read { db in
            var records: [UsageRecord] = []
            try JobReader(db: db, dimensions: dictionary).forEach(query) { record, _ in records.append(record) }
            return records
        }
    }

    /// Streams matching records without holding them all (for exports of millions of jobs).
    public func forEachJob(_ query: JobQuery, _ body: @escaping @Sendable (UsageRecord) throws -> Void) async throws {
        let dictionary = dimensions
        try await queue.read { db in
            try JobReader(db: db, dimensions: dictionary).forEach(query) { record, _ in try body(record) }
        }
    }

    /// One page of records with their row ids (the cursor of the next page is the last id).
    public func jobPage(_ query: JobQuery) async throws -> [(record: UsageRecord, id: Int64)] {
        let dictionary = dimensions
        return try await queue.read { db in
            var page: [(record: UsageRecord, id: Int64)] = []
            try JobReader(db: db, dimensions: dictionary).forEach(query) { page.append(($0, $1)) }
            return page
        }
    }
}

/// SQL filter clauses for `--where`, always with bound arguments.
struct DimensionFilter {
    var sql = ""
    var arguments: StatementArguments = []

    init(_ filters: [ReportDimension: Set<String>], dimensions: DimensionDictionary, table: String) {
        for (dimension, values) in filters.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            let ids = values.compactMap { dimensions.existingID(dimension, Self.normalise($0, for: dimension)) }
            if ids.isEmpty {
                sql += " AND 0"
                continue
            }
            sql += " AND \(table).\(DimensionColumn.column(dimension)) IN (\(ids.map { _ in "?" }.joined(separator: ", ")))"
            arguments += StatementArguments(ids)
        }
    }

    static func normalise(_ value: String, for dimension: ReportDimension) -> String {
        dimension == .state ? JobState(slurmName: value).rawValue : value
    }
}

struct StoreMeta {
    var minT0: Int64?
    var maxT1: Int64?
    var maxSpan: Int64

    init(_ db: Database) throws {
        var values: [String: Int64] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT key, value FROM meta") {
            values[row[0]] = row[1]
        }
        minT0 = values["min_t0"]
        maxT1 = values["max_t1"]
        maxSpan = values["max_span"] ?? 0
    }
}

/// Answers a report from monthly and daily rollups plus exact raw-record splits where periods
/// cut a UTC day. Accumulates on integer ids and turns them into names once, at the end.
struct ReportRunner {
    let db: Database
    var dimensions: DimensionDictionary
    var plans: PlanCache
    let configuration: TallyConfiguration

    mutating func run(_ query: ReportQuery) throws -> Report {
        let meta = try StoreMeta(db)
        let calendar = PeriodCalendar(timeZone: query.timeZone)
        let window: Range<Int64>
        if let given = query.window {
            window = given
        } else if let low = meta.minT0, let high = meta.maxT1, low < high {
            window = calendar.periodStart(.day, containing: low)..<calendar.periodEnd(.day, containing: high - 1)
        } else {
            window = 0..<0
        }
        let periods = calendar.periods(query.period, covering: window)
        // Rollups do not keep job size and wall buckets: reports by them read raw records.
        let buckets = (query.groupBy + query.filters.keys).contains { $0 == .jobSize || $0 == .wallBucket }
        let plan = buckets ? ReportPlan(rawOnly: periods) : ReportPlan(periods: periods)
        let grouped = query.groupBy.map(DimensionColumn.index)
        var cells: [RollupKey: UsageAmounts] = [:]

        func key(_ period: Int, _ ids: DimensionIDs) -> RollupKey {
            var masked = DimensionIDs()
            for index in grouped { masked[index] = ids[index] }
            return RollupKey(period: Int64(period), ids: masked)
        }

        let filter = DimensionFilter(query.filters, dimensions: dimensions, table: "r")
        for (table, column, runs) in [("rollup_month", "month", plan.monthRuns), ("rollup_day", "day", plan.dayRuns)] {
            guard let first = runs.first, let last = runs.last else { continue }
            let statement = try db.makeStatement(sql: """
                SELECT \(column), \(RollupColumns.keys), \(RollupColumns.amounts.joined(separator: ", "))
                FROM \(table) r WHERE \(column) >= ? AND \(column) < ?\(filter.sql)
                """)
            var arguments: StatementArguments = [first.first, last.end]
            arguments += filter.arguments
            try statement.setArguments(arguments)
            try db.forEachRow(statement) { handle in
                let unit = sqlite3_column_int64(handle, 0)
                guard let period = column == "month" ? plan.period(ofMonth: unit) : plan.period(ofDay: unit) else { return }
                var ids = DimensionIDs()
                for index in grouped { ids[index] = sqlite3_column_int64(handle, Int32(index + 1)) }
                let amounts = RollupColumns.amounts({ sqlite3_column_int64(handle, $0) }, from: Int32(DimensionIDs.rollupCount + 1))
                cells[RollupKey(period: Int64(period), ids: ids), default: UsageAmounts()] += amounts
            }
        }

        // Filters on names configuration decides (aliases, classes, organisations) and on
        // buckets are checked after a raw record is normalised.
        var derivedFilters: [(index: Int, ids: Set<Int64>)] = []
        for (dimension, values) in query.filters where !dimension.filtersRawRecords {
            let ids = values.map { $0.isEmpty ? 0 : dimensions.provisionalID(dimension, $0) }
            derivedFilters.append((DimensionColumn.index(dimension), Set(ids)))
        }

        // Raw slivers: one indexed query per group when there are few; with many (a year of days
        // in a non-UTC zone) one sweep over the records, each dispatched to the groups it touches,
        // instead of hundreds of scans that each reach back by the longest job.
        let allGroups = plan.rawGroups
        // Each query dispatches only into the groups it was issued for, or a record touching
        // two groups would be counted by both queries.
        var sweeps = allGroups.map { [$0] }
        var tableScan = false
        if let low = meta.minT0, let high = meta.maxT1, high > low, allGroups.count > 1 {
            // Estimated by time covered: each per-group query reaches back by the longest span.
            let perGroup = allGroups.reduce(Int64(0)) { $0 + ($1.range.upperBound - $1.range.lowerBound) + meta.maxSpan }
            if perGroup > (high - low) / 2 {
                sweeps = [allGroups]
                tableScan = true
            }
        }
        var dictionary = dimensions
        var cache = plans
        for groups in sweeps {
            let groupStarts = groups.map(\.range.lowerBound)
            let sweep = groups.first!.range.lowerBound..<groups.last!.range.upperBound
            try JobReader(db: db, dimensions: dimensions).forEachFacts(
                touching: sweep, filters: query.filters, maxSpan: meta.maxSpan, tableScan: tableScan,
                hosts: cache.needsHosts
            ) { facts, recorded, touched, host in
                let resolved = try cache.resolve(recorded, host: host, dictionary: &dictionary, source: .provisional)
                let job = ChargedJob(facts: facts, plan: resolved.plan)
                var pieceKeys: [DimensionIDs?] = Array(repeating: nil, count: resolved.plan.pieces.count)
                // Groups are sorted and disjoint: start at the last one beginning before `touched` ends.
                var low = 0, high = groupStarts.count
                while low < high {
                    let mid = (low + high) / 2
                    if groupStarts[mid] < touched.upperBound { low = mid + 1 } else { high = mid }
                }
                var index = low - 1
                while index >= 0, groups[index].range.upperBound > touched.lowerBound {
                    for span in groups[index].spans {
                        try job.forEachShare(in: span.range) { piece, amounts in
                            let ids: DimensionIDs
                            if let known = pieceKeys[piece] {
                                ids = known
                            } else {
                                ids = try cache.keys(resolved, piece: piece, facts: facts, state: recorded.state,
                                                     buckets: buckets, dictionary: &dictionary, source: .provisional)
                                pieceKeys[piece] = ids
                            }
                            for filter in derivedFilters where !filter.ids.contains(ids[filter.index]) { return }
                            if span.sign > 0 {
                                cells[key(span.period, ids), default: UsageAmounts()] += amounts
                            } else {
                                cells[key(span.period, ids), default: UsageAmounts()] -= amounts
                            }
                        }
                    }
                    index -= 1
                }
            }
        }

        var accumulator = ReportAccumulator(periods: periods)
        for (cell, amounts) in cells {
            accumulator.add(period: Int(cell.period), keys: grouped.map { dictionary.value(cell.ids[$0]) }, amounts: amounts)
        }
        var rows = accumulator.rows()
        let jobs = rows.reduce(Int64(0)) { $0 + $1.amounts.jobs }
        let basis = ReportBasis(
            records: jobs,
            sources: try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM source") ?? 0,
            rejectedLines: try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM rejected_line") ?? 0)
        var report = Report(query: query, window: window, rows: [], basis: basis,
                            benchmarkKind: configuration.benchmarkKind)
        let capacities = CapacityModel(configuration.resources)
        if !capacities.isEmpty {
            for index in rows.indices {
                rows[index].capacity = capacity(capacities, query: query, keys: rows[index].keys,
                                                over: rows[index].period.range)
            }
            report.totalCapacity = capacity(capacities, query: query, keys: nil, over: window)
        }
        report.rows = rows
        report.metrics = metrics(for: report)
        if query.groupBy.contains(.user) {
            report.displayNames = configuration.users.compactMapValues(\.name)
        }
        report.notes = notes(for: report)
        return report
    }

    /// Capacity in scope of a row: its cluster and partition when grouped by them, else the
    /// filter's single cluster or partition, else everything configured.
    private func capacity(_ model: CapacityModel, query: ReportQuery, keys: [String]?, over range: Range<Int64>) -> Capacity {
        func scope(_ dimension: ReportDimension) -> String? {
            if let keys, let index = query.groupBy.firstIndex(of: dimension) { return keys[index] }
            if let values = query.filters[dimension], values.count == 1 { return values.first }
            return nil
        }
        return model.capacity(cluster: scope(.cluster), partition: scope(.partition), gpuModel: scope(.gpuModel),
                              over: range)
    }

    private func metrics(for report: Report) -> [Metric] {
        var metrics = Metric.basic
        let total = report.total
        if total.gpuSeconds > 0 { metrics.append(.averageGPUs) }
        if !configuration.benchmarks.isEmpty { metrics.append(.benchmarkHours) }
        if !configuration.gpuClasses.isEmpty { metrics.append(.normalisedGPUHours) }
        if !configuration.chargeRates.isEmpty { metrics.append(.serviceUnits) }
        if !configuration.resources.isEmpty {
            metrics.append(.coreUtilisation)
            if configuration.resources.contains(where: { $0.totalGPUs > 0 }) { metrics.append(.gpuUtilisation) }
        }
        return metrics
    }

    private func notes(for report: Report) -> [String] {
        var notes: [String] = []
        let total = report.total
        if !configuration.benchmarks.isEmpty, total.coreSecondsBenchmarked < total.coreSeconds {
            let hours = Double(total.coreSeconds - total.coreSecondsBenchmarked) / 3600
            notes.append("\(fixedPoint(hours, places: 2)) core hours ran where no [[benchmark]] rule matched: "
                         + "they count 0 \(configuration.benchmarkKind) hours (tally config check lists them)")
        }
        return notes
    }
}
