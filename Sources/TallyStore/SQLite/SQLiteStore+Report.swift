import Foundation
import GRDB
import TallyCore

extension SQLiteStore {
    public func report(_ query: ReportQuery) async throws -> Report {
        let dictionary = dimensions
        return try await queue.read { db in
            try ReportRunner(db: db, dimensions: dictionary).run(query)
        }
    }

    public func jobs(_ query: JobQuery) async throws -> [UsageRecord] {
        let dictionary = dimensions
        return try await queue.read { db in
            var records: [UsageRecord] = []
            try JobReader(db: db, dimensions: dictionary).forEach(query) { records.append($0) }
            return records
        }
    }

    /// Streams matching records without holding them all (for exports of millions of jobs).
    public func forEachJob(_ query: JobQuery, _ body: @escaping @Sendable (UsageRecord) throws -> Void) async throws {
        let dictionary = dimensions
        try await queue.read { db in
            try JobReader(db: db, dimensions: dictionary).forEach(query, body)
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

/// Answers a report from daily rollups plus exact raw-record splits where periods cut a UTC day.
struct ReportRunner {
    let db: Database
    let dimensions: DimensionDictionary

    func run(_ query: ReportQuery) throws -> Report {
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
        let plan = ReportPlan(periods: periods)
        var accumulator = ReportAccumulator(periods: periods)
        let groupIndexes = query.groupBy.map(DimensionColumn.index)
        let groupColumns = query.groupBy.map(DimensionColumn.column)

        if let first = plan.dayRuns.first, let last = plan.dayRuns.last {
            let filter = DimensionFilter(query.filters, dimensions: dimensions, table: "rollup_day")
            let selectKeys = groupColumns.map { ", \($0)" }.joined()
            let sql = """
                SELECT day\(selectKeys), SUM(jobs), SUM(wall), SUM(core), SUM(cpu), SUM(gpu), SUM(mem)
                FROM rollup_day WHERE day >= ? AND day < ?\(filter.sql)
                GROUP BY day\(selectKeys)
                """
            var arguments: StatementArguments = [first.firstDay, last.endDay]
            arguments += filter.arguments
            let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
            let keyCount = groupColumns.count
            while let row = try rows.next() {
                let day: Int64 = row[0]
                guard let period = plan.period(ofDay: day) else { continue }
                var keys: [String] = []
                keys.reserveCapacity(keyCount)
                for index in 0..<keyCount { keys.append(dimensions.value(row[index + 1])) }
                let base = keyCount + 1
                let amounts = UsageAmounts(jobs: row[base], wallSeconds: row[base + 1], coreSeconds: row[base + 2],
                                           cpuSeconds: row[base + 3], gpuSeconds: row[base + 4],
                                           memoryMiBSeconds: row[base + 5])
                accumulator.add(period: period, keys: keys, amounts: amounts)
            }
        }

        for group in plan.rawGroups {
            try JobReader(db: db, dimensions: dimensions).forEachFacts(
                touching: group.range, filters: query.filters, maxSpan: meta.maxSpan
            ) { facts, ids in
                let keys = groupIndexes.map { dimensions.value(ids[$0]) }
                for span in group.spans {
                    accumulator.add(period: span.period, keys: keys, amounts: facts.amounts(in: span.range))
                }
            }
        }

        let rows = accumulator.rows()
        let jobs = rows.reduce(Int64(0)) { $0 + $1.amounts.jobs }
        let basis = ReportBasis(
            records: jobs,
            sources: try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM source") ?? 0,
            rejectedLines: try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM rejected_line") ?? 0)
        return Report(query: query, window: window, rows: rows, basis: basis)
    }
}
