import TallyCore

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
        try dictionary.id(dimension, value, source)
    }
}

/// Daily and monthly summary deltas of many jobs, applied to the rollup tables in key order.
struct RollupBuilder {
    private(set) var days: [RollupKey: UsageAmounts] = [:]
    private(set) var months: [RollupKey: UsageAmounts] = [:]

    /// Adds (or, with `sign` −1, takes away) a job's contribution to every UTC day it touches.
    mutating func add(_ facts: UsageFacts, recorded: DimensionIDs, host: String, sign: Int64, plans: inout PlanCache,
                      dictionary: inout DimensionDictionary, source: DerivedIDSource) throws {
        guard let span = facts.touchSpan else { return }
        let resolved = try plans.resolve(recorded, host: host, dictionary: &dictionary, source: source)
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

    /// Takes every pending row: days, and the months they add up to.
    mutating func drainAll() -> (days: [RollupKey: UsageAmounts], months: [RollupKey: UsageAmounts]) {
        foldIntoMonths(days)
        defer { days.removeAll(keepingCapacity: true); months.removeAll(keepingCapacity: true) }
        return (days, months)
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

    /// Takes only the days before `day` and the months before its month: when jobs are added in
    /// order of their first touched instant, those are complete, and their rows append at the
    /// tables' right edge.
    mutating func drainCompleted(before day: Int64) -> (days: [RollupKey: UsageAmounts], months: [RollupKey: UsageAmounts]) {
        let completeDays = days.filter { $0.key.period < day }
        if !completeDays.isEmpty {
            for key in completeDays.keys { days[key] = nil }
            foldIntoMonths(completeDays)
        }
        let month = UTCMonth.of(day: day)
        let completeMonths = months.filter { $0.key.period < month }
        for key in completeMonths.keys { months[key] = nil }
        return (completeDays, completeMonths)
    }

    /// Rows an update emptied must go: a zero row would still show up as a group in reports.
    static func mayHaveEmptied(_ rows: [RollupKey: UsageAmounts]) -> Bool {
        rows.values.contains { $0.jobs < 0 || $0.wallSeconds < 0 || $0.cpuSeconds < 0 || $0.chargeMilli < 0 }
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
