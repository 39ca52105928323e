import GRDB
import GRDBSQLite
import TallyCore

/// Where a reader or writer gets ids for names that configuration derives (aliases, classes,
/// organisations, buckets): a writer inserts them, a reader makes provisional ones.
enum DerivedIDSource {
    case inserting(Database)
    case provisional
}

/// Resolves a job's recorded ids to its rate plan and the rollup keys of each plan piece,
/// cached per combination of names (jobs of the same user, account and partition share one).
struct PlanCache {
    let normaliser: Normaliser
    private let usesHosts: Bool
    private var plans: [PlanKey: ResolvedPlan] = [:]
    private var sizeIDs: [Int64?] = Array(repeating: nil, count: JobBuckets.sizeCount)
    private var wallIDs: [Int64?] = Array(repeating: nil, count: JobBuckets.wallCount)

    struct PlanKey: Hashable {
        var ids: DimensionIDs
        var host: String
    }

    struct ResolvedPlan {
        var plan: RatePlan
        /// Rollup keys of each piece; state, buckets and (for jobs without GPUs) class are per job.
        var pieceIDs: [DimensionIDs]
    }

    init(normaliser: Normaliser) {
        self.normaliser = normaliser
        usesHosts = normaliser.configuration.usesHosts
    }

    var needsHosts: Bool { usesHosts }

    mutating func resolve(_ recorded: DimensionIDs, host: String, dictionary: inout DimensionDictionary,
                          source: DerivedIDSource) throws -> ResolvedPlan {
        var key = PlanKey(ids: recorded, host: usesHosts ? host : "")
        key.ids.state = 0
        if let known = plans[key] { return known }
        let subject = RuleSubject(
            cluster: dictionary.value(recorded.cluster), partition: dictionary.value(recorded.partition),
            qos: dictionary.value(recorded.qos), host: key.host, gpuModel: dictionary.value(recorded.gpuModel),
            user: dictionary.value(recorded.user), group: dictionary.value(recorded.group),
            account: dictionary.value(recorded.account))
        let plan = normaliser.plan(for: subject)
        var pieceIDs: [DimensionIDs] = []
        for piece in plan.pieces {
            var ids = key.ids
            ids.account = try Self.id(.account, piece.keys.account, &dictionary, source)
            ids.group = try Self.id(.group, piece.keys.group, &dictionary, source)
            ids.user = try Self.id(.user, piece.keys.user, &dictionary, source)
            ids.gpuClass = try Self.id(.gpuClass, piece.keys.gpuClass, &dictionary, source)
            ids.organisation = try Self.id(.organisation, piece.keys.organisation, &dictionary, source)
            pieceIDs.append(ids)
        }
        let resolved = ResolvedPlan(plan: plan, pieceIDs: pieceIDs)
        // Bounded: a host-matched configuration can make many combinations.
        if plans.count >= 100_000 { plans.removeAll(keepingCapacity: true) }
        plans[key] = resolved
        return resolved
    }

    /// The report keys of one piece for one job; size and wall buckets only when `buckets`
    /// (rollups do not keep them).
    mutating func keys(_ resolved: ResolvedPlan, piece: Int, facts: UsageFacts, state: Int64, buckets: Bool,
                       dictionary: inout DimensionDictionary, source: DerivedIDSource) throws -> DimensionIDs {
        var ids = resolved.pieceIDs[piece]
        ids.state = state
        if facts.gpus == 0 { ids.gpuClass = 0 }
        guard buckets else { return ids }
        ids.jobSize = try Self.bucketID(.jobSize, JobBuckets.sizeIndex(cores: facts.cores), JobBuckets.sizeLabel,
                                        &sizeIDs, &dictionary, source)
        ids.wallBucket = try Self.bucketID(.wallBucket, JobBuckets.wallIndex(seconds: facts.wallSeconds),
                                           JobBuckets.wallLabel, &wallIDs, &dictionary, source)
        return ids
    }

    /// A bucket's id, looked up once per bucket.
    private static func bucketID(_ dimension: ReportDimension, _ index: Int, _ label: (Int) -> String,
                                 _ known: inout [Int64?], _ dictionary: inout DimensionDictionary,
                                 _ source: DerivedIDSource) throws -> Int64 {
        if let id = known[index] { return id }
        let id = try Self.id(dimension, label(index), &dictionary, source)
        known[index] = id
        return id
    }

    private static func id(_ dimension: ReportDimension, _ value: String, _ dictionary: inout DimensionDictionary,
                           _ source: DerivedIDSource) throws -> Int64 {
        switch source {
        case let .inserting(db): try dictionary.id(dimension, value, db)
        case .provisional: value.isEmpty ? 0 : dictionary.provisionalID(dimension, value)
        }
    }
}

/// Daily and monthly summary deltas of many jobs, applied to the rollup tables in key order.
struct RollupBuilder {
    private(set) var days: [RollupKey: UsageAmounts] = [:]
    private(set) var months: [RollupKey: UsageAmounts] = [:]


    /// Adds (or, with `sign` −1, takes away) a job's contribution to every UTC day it touches.
    mutating func add(_ facts: UsageFacts, recorded: DimensionIDs, host: String, sign: Int64, plans: inout PlanCache,
                      dictionary: inout DimensionDictionary, db: Database) throws {
        guard let span = facts.touchSpan else { return }
        let resolved = try plans.resolve(recorded, host: host, dictionary: &dictionary, source: .inserting(db))
        let job = ChargedJob(facts: facts, plan: resolved.plan)
        let firstDay = UTCDay.of(span.lowerBound), lastDay = UTCDay.of(span.upperBound - 1)
        let noGPUs = facts.gpus == 0
        for day in firstDay...lastDay {
            let start = UTCDay.start(day)
            job.forEachShare(in: start..<(start + UTCDay.seconds)) { piece, share in
                // Rollup keys: the piece's names with this job's state (no buckets in rollups).
                var ids = resolved.pieceIDs[piece]
                ids.state = recorded.state
                if noGPUs { ids.gpuClass = 0 }
                // Months are summed from days when days are written: day shares of a month add
                // up to the month exactly (the split telescopes).
                if sign < 0 {
                    days[RollupKey(period: day, ids: ids), default: UsageAmounts()] -= share
                } else {
                    days[RollupKey(period: day, ids: ids), default: UsageAmounts()] += share
                }
            }
        }
    }

    mutating func flush(_ db: Database) throws {
        foldIntoMonths(days)
        try Self.flush(&days, table: "rollup_day", period: "day", db)
        try Self.flush(&months, table: "rollup_month", period: "month", db)
    }

    private mutating func foldIntoMonths(_ dayRows: [RollupKey: UsageAmounts]) {
        var lastDay = Int64.min, lastMonth: Int64 = 0
        for (key, amounts) in dayRows {
            if key.period != lastDay {
                lastDay = key.period
                lastMonth = UTCMonth.of(day: key.period)
            }
            months[RollupKey(period: lastMonth, ids: key.ids), default: UsageAmounts()] += amounts
        }
    }

    /// Writes only the days before `day` and the months before its month: when jobs are added
    /// in order of their first touched instant, those are complete, and their rows append at the
    /// tables' right edge.
    mutating func flushCompleted(before day: Int64, _ db: Database) throws {
        var completeDays = days.filter { $0.key.period < day }
        if !completeDays.isEmpty {
            for key in completeDays.keys { days[key] = nil }
            foldIntoMonths(completeDays)
            try Self.flush(&completeDays, table: "rollup_day", period: "day", db)
        }
        let month = UTCMonth.of(day: day)
        var completeMonths = months.filter { $0.key.period < month }
        if !completeMonths.isEmpty {
            for key in completeMonths.keys { months[key] = nil }
            try Self.flush(&completeMonths, table: "rollup_month", period: "month", db)
        }
    }

    private static func flush(_ rollups: inout [RollupKey: UsageAmounts], table: String, period: String,
                              _ db: Database) throws {
        guard !rollups.isEmpty else { return }
        let amountColumns = RollupColumns.amounts
        let placeholders = Array(repeating: "?", count: 1 + DimensionIDs.rollupCount + amountColumns.count)
        let statement = try db.cachedStatement(sql: """
            INSERT INTO \(table) (\(period), \(RollupColumns.keys), \(amountColumns.joined(separator: ", ")))
            VALUES (\(placeholders.joined(separator: ", ")))
            ON CONFLICT DO UPDATE SET \(amountColumns.map { "\($0) = \($0) + excluded.\($0)" }.joined(separator: ", "))
            """)
        let handle = statement.sqliteStatement
        var sawNegative = false
        // In key order, so the upserts walk the table's B-tree forwards.
        for (key, amounts) in rollups.sorted(by: { $0.key < $1.key }) where !amounts.isZero {
            sqlite3_reset(handle)
            sqlite3_bind_int64(handle, 1, key.period)
            for index in 0..<DimensionIDs.rollupCount { sqlite3_bind_int64(handle, Int32(index + 2), key.ids[index]) }
            let first = Int32(DimensionIDs.rollupCount + 2)
            for (offset, value) in RollupColumns.values(amounts).enumerated() {
                sqlite3_bind_int64(handle, first + Int32(offset), value)
            }
            let code = sqlite3_step(handle)
            guard code == SQLITE_DONE else {
                let message = String(cString: sqlite3_errmsg(db.sqliteConnection))
                sqlite3_reset(handle)
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: message)
            }
            if amounts.jobs < 0 || amounts.wallSeconds < 0 || amounts.cpuSeconds < 0 || amounts.chargeMilli < 0 {
                sawNegative = true
            }
        }
        rollups.removeAll(keepingCapacity: true)
        if sawNegative {
            // Rows an update emptied: a zero row would still show up as a group in reports.
            try db.execute(sql: "DELETE FROM \(table) WHERE \(amountColumns.map { "\($0) = 0" }.joined(separator: " AND "))")
        }
    }
}

/// A rollup row's key: a day or month number and the dimension ids.
struct RollupKey: Hashable, Comparable {
    var period: Int64
    var ids: DimensionIDs

    static func < (lhs: RollupKey, rhs: RollupKey) -> Bool {
        if lhs.period != rhs.period { return lhs.period < rhs.period }
        return lhs.ids.precedes(rhs.ids)
    }
}
