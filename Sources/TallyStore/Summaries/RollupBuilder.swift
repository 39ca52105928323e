import TallyCore

/// Resolves a job's recorded ids to its rate plan and the rollup keys of each plan piece,
/// cached per combination of names (jobs of the same user, account and partition share one).
struct PlanCache {
    let normaliser: Normaliser
    private let usesHosts: Bool
    private var plans: [PlanKey: ResolvedPlan] = [:]
    private var resolutions = 0
    /// Names that some alias or directory entry mentions, by kind and stored id (see `resolve`):
    /// 0 not yet looked up, 1 no, 2 yes. Flat arrays, because this is asked three times per job
    /// of every scan (hashing an `AliasKind` hashes its raw string).
    private var mentioned: [[UInt8]] = [[], [], []]
    /// Alias sources by kind (user, group, account), nil when no alias of that kind exists.
    private let aliased: [Set<String>?]
    private let organised: Set<String>
    private var sizeIDs: [Int64?] = Array(repeating: nil, count: JobBuckets.sizeCount)
    private var wallIDs: [Int64?] = Array(repeating: nil, count: JobBuckets.wallCount)

    struct PlanKey: Hashable {
        var ids: DimensionIDs
        var host: String
    }

    struct ResolvedPlan {
        /// Unique within this cache, also across its trims.
        var serial: Int
        var plan: RatePlan
        /// Rollup keys of each piece; state, buckets and (for jobs without GPUs) class are per job,
        /// and so are the user, group and account where `ownNames` says so.
        var pieceIDs: [DimensionIDs]
        /// The names no rule mentions: each job keeps its own (the plan was resolved without them).
        var ownNames: (user: Bool, group: Bool, account: Bool)

        /// The keys of one piece for a job with these recorded ids (state not set).
        @inline(__always)
        func ids(piece: Int, recorded: DimensionIDs) -> DimensionIDs {
            var ids = pieceIDs[piece]
            if ownNames.user { ids.user = recorded.user }
            if ownNames.group { ids.group = recorded.group }
            if ownNames.account { ids.account = recorded.account }
            return ids
        }
    }

    init(normaliser: Normaliser) {
        self.normaliser = normaliser
        usesHosts = normaliser.configuration.usesHosts
        let configuration = normaliser.configuration
        let byKind = Dictionary(grouping: configuration.aliases, by: \.kind).mapValues { Set($0.map(\.from)) }
        aliased = [byKind[.user], byKind[.group], byKind[.account]]
        organised = Set(configuration.users.compactMap { $0.value.organisation == nil ? nil : $0.key })
    }

    /// Whether a rule looks at this name: an alias from it, or (users) a directory organisation.
    /// `kind`: 0 user, 1 group, 2 account.
    @inline(__always)
    private mutating func isMentioned(_ id: Int64, _ kind: Int, _ dictionary: DimensionDictionary) -> Bool {
        if id == 0 || (aliased[kind] == nil && (kind != 0 || organised.isEmpty)) { return false }
        if id > 0, id < mentioned[kind].count, mentioned[kind][Int(id)] != 0 { return mentioned[kind][Int(id)] == 2 }
        let name = dictionary.value(id)
        let result = aliased[kind]?.contains(name) == true || (kind == 0 && organised.contains(name))
        // Provisional (negative) ids are renumbered when stored: only stored ids are remembered.
        if id > 0, id < 1 << 24 {
            if id >= mentioned[kind].count {
                mentioned[kind].append(contentsOf: repeatElement(0, count: Int(id) + 1 - mentioned[kind].count))
            }
            mentioned[kind][Int(id)] = result ? 2 : 1
        }
        return result
    }

    var needsHosts: Bool { usesHosts }

    /// Plans by the packed ids a plan depends on, for fact scans (a million lookups per
    /// report): an open-addressed table probed with one multiply, instead of hashing a
    /// `PlanKey` with its host string. Misses, and ids too large to pack, go to `resolve`.
    private var memo = PlanMemo()

    /// `resolve` for a job whose first host is the dictionary id `host` (a fact slot).
    @inline(__always)
    mutating func resolve(_ recorded: DimensionIDs, hostID: Int64, dictionary: inout DimensionDictionary,
                          source: DerivedIDSource) throws -> ResolvedPlan {
        let key = PlanMemo.Key(
            recorded, host: usesHosts ? hostID : 0,
            user: isMentioned(recorded.user, 0, dictionary) ? recorded.user : 0,
            group: isMentioned(recorded.group, 1, dictionary) ? recorded.group : 0,
            account: isMentioned(recorded.account, 2, dictionary) ? recorded.account : 0)
        if let key, let known = memo.plan(for: key) { return known }
        let resolved = try resolve(recorded, host: usesHosts ? dictionary.value(hostID) : "", dictionary: &dictionary,
                                   source: source)
        if let key { memo.insert(resolved, for: key) }
        return resolved
    }

    mutating func resolve(_ recorded: DimensionIDs, host: String, dictionary: inout DimensionDictionary,
                          source: DerivedIDSource) throws -> ResolvedPlan {
        var key = PlanKey(ids: recorded, host: usesHosts ? host : "")
        key.ids.state = 0
        // Rules match on cluster, partition, QOS, host and GPU model; names matter only where an
        // alias or directory entry mentions them. Other names are left out of the key, so jobs of
        // every user and account share a few plans (there can be more name combinations than jobs).
        let own = (user: !isMentioned(recorded.user, 0, dictionary),
                   group: !isMentioned(recorded.group, 1, dictionary),
                   account: !isMentioned(recorded.account, 2, dictionary))
        if own.user { key.ids.user = 0 }
        if own.group { key.ids.group = 0 }
        if own.account { key.ids.account = 0 }
        if let known = plans[key] { return known }
        let subject = RuleSubject(
            cluster: dictionary.value(recorded.cluster), partition: dictionary.value(recorded.partition),
            qos: dictionary.value(recorded.qos), host: key.host, gpuModel: dictionary.value(recorded.gpuModel),
            user: dictionary.value(key.ids.user), group: dictionary.value(key.ids.group),
            account: dictionary.value(key.ids.account))
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
        resolutions += 1
        let resolved = ResolvedPlan(serial: resolutions, plan: plan, pieceIDs: pieceIDs, ownNames: own)
        // Bounded: a host-matched configuration can make many combinations.
        if plans.count >= 100_000 { plans.removeAll(keepingCapacity: true) }
        plans[key] = resolved
        return resolved
    }

    /// The report keys of one piece for one job; size and wall buckets only when `buckets`
    /// (rollups do not keep them).
    mutating func keys(_ resolved: ResolvedPlan, piece: Int, facts: UsageFacts, recorded: DimensionIDs, buckets: Bool,
                       dictionary: inout DimensionDictionary, source: DerivedIDSource) throws -> DimensionIDs {
        var ids = resolved.ids(piece: piece, recorded: recorded)
        ids.state = recorded.state
        if facts.gpus == 0 { ids.gpuClass = 0 }
        guard buckets else { return ids }
        try addBuckets(&ids, facts: facts, dictionary: &dictionary, source: source)
        return ids
    }

    /// Sets a job's size and wall-bucket keys.
    mutating func addBuckets(_ ids: inout DimensionIDs, facts: UsageFacts, dictionary: inout DimensionDictionary,
                             source: DerivedIDSource) throws {
        ids.jobSize = try Self.bucketID(.jobSize, JobBuckets.sizeIndex(cores: facts.cores), JobBuckets.sizeLabel,
                                        &sizeIDs, &dictionary, source)
        ids.wallBucket = try Self.bucketID(.wallBucket, JobBuckets.wallIndex(seconds: facts.wallSeconds),
                                           JobBuckets.wallLabel, &wallIDs, &dictionary, source)
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

/// Resolved plans by packed ids (see `PlanCache.resolve(_:hostID:dictionary:source:)`).
struct PlanMemo {
    /// Site, cluster, partition, QOS, GPU model, host and the mentioned user, group and account
    /// (all a plan's keys depend on), 21 bits each: ids from 0 to 2 097 151, stored ones only.
    struct Key {
        var words: (UInt64, UInt64, UInt64)

        @inline(__always)
        init?(_ recorded: DimensionIDs, host: Int64, user: Int64, group: Int64, account: Int64) {
            let limit: Int64 = 1 << 21
            let all = (recorded.site | recorded.cluster | recorded.partition | recorded.qos | recorded.gpuModel | host
                       | user | group | account)
            guard all >= 0, all < limit else { return nil }
            @inline(__always) func pack(_ a: Int64, _ b: Int64, _ c: Int64) -> UInt64 {
                UInt64(a) | UInt64(b) << 21 | UInt64(c) << 42
            }
            // The top bit marks a used entry of the table.
            words = (pack(recorded.cluster, recorded.partition, recorded.qos) | 1 << 63,
                     pack(recorded.gpuModel, host, user), pack(group, account, recorded.site))
        }

        @inline(__always)
        var hash: UInt64 {
            (words.0 &* 0x9E37_79B9_7F4A_7C15) ^ (words.1 &* 0xC2B2_AE3D_27D4_EB4F) ^ (words.2 &* 0x1656_67B1_9E37_79F9)
        }
    }

    private static let capacity = 1 << 12
    private var keys = [(UInt64, UInt64, UInt64)](repeating: (0, 0, 0), count: 0)
    private var plans: [PlanCache.ResolvedPlan?] = []
    private var count = 0

    @inline(__always)
    func plan(for key: Key) -> PlanCache.ResolvedPlan? {
        guard count > 0 else { return nil }
        var slot = Int(truncatingIfNeeded: key.hash >> 52)
        while true {
            let stored = keys[slot]
            if stored.0 == 0 { return nil }
            if stored == key.words { return plans[slot] }
            slot = (slot + 1) & (Self.capacity - 1)
        }
    }

    mutating func insert(_ plan: PlanCache.ResolvedPlan, for key: Key) {
        // Half full at most, so probes stay short; then it starts again (plans are few).
        if keys.isEmpty || count >= Self.capacity / 2 {
            keys = Array(repeating: (0, 0, 0), count: Self.capacity)
            plans = Array(repeating: nil, count: Self.capacity)
            count = 0
        }
        var slot = Int(truncatingIfNeeded: key.hash >> 52)
        while keys[slot].0 != 0 { slot = (slot + 1) & (Self.capacity - 1) }
        keys[slot] = key.words
        plans[slot] = plan
        count += 1
    }
}

/// Daily and monthly summary deltas of many jobs, keyed by day (or month) and an interned
/// rollup key (two integers), applied to the rollup tables in key order.
struct RollupBuilder {
    private var days: [Int64: [Int32: UsageAmounts]] = [:]
    private var months: [Int64: [Int32: UsageAmounts]] = [:]
    /// Every rollup key seen, interned: deltas are keyed by this index. A job's key depends only
    /// on its plan piece, its state and whether it has GPUs, so it is found by those (`variants`)
    /// instead of hashing thirteen ids for every share of every job.
    private(set) var keys: [DimensionIDs] = []
    private var indexOfKey: [DimensionIDs: Int32] = [:]
    private var variants: [Variant: Int32] = [:]
    /// What a store keeps per interned key (SQLite: its combination id; 0 while unknown).
    var storedKeyIDs: [Int64] = []

    private struct Variant: Hashable {
        var plan: Int
        var piece: Int
        var state: Int64
        var noGPUs: Bool
        /// The job's own names, where the plan leaves them to the job (else 0).
        var user: Int64, group: Int64, account: Int64
    }

    /// A pending row: a day or month, an index into `keys`, and the sums.
    struct Row {
        var period: Int64
        var key: Int32
        var amounts: UsageAmounts
    }

    /// Adds (or, with `sign` −1, takes away) a job's contribution to every UTC day it touches.
    mutating func add(_ facts: UsageFacts, recorded: DimensionIDs, host: String, sign: Int64, plans: inout PlanCache,
                      dictionary: inout DimensionDictionary, source: DerivedIDSource) throws {
        guard let span = facts.touchSpan else { return }
        let resolved = try plans.resolve(recorded, host: host, dictionary: &dictionary, source: source)
        let job = ChargedJob(facts: facts, plan: resolved.plan)
        let firstDay = UTCDay.of(span.lowerBound), lastDay = UTCDay.of(span.upperBound - 1)
        // Rollup keys: the piece's names with this job's state (no buckets in rollups).
        // Pieces come in time order, so remembering the last one looks each up once (without
        // allocating a table per job).
        var lastPiece = -1, key: Int32 = -1
        for day in firstDay...lastDay {
            let start = UTCDay.start(day)
            job.forEachShare(in: start..<(start + UTCDay.seconds)) { piece, share in
                if piece != lastPiece {
                    key = rollupKey(resolved, piece: piece, recorded: recorded, noGPUs: facts.gpus == 0)
                    lastPiece = piece
                }
                // Months are summed from days when days are drained: day shares of a month add
                // up to the month exactly (the split telescopes).
                if sign < 0 {
                    days[day, default: [:]][key, default: UsageAmounts()] -= share
                } else {
                    days[day, default: [:]][key, default: UsageAmounts()] += share
                }
            }
        }
    }

    /// The interned rollup key of one piece of a job in `state`.
    private mutating func rollupKey(_ resolved: PlanCache.ResolvedPlan, piece: Int, recorded: DimensionIDs,
                                    noGPUs: Bool) -> Int32 {
        let own = resolved.ownNames
        let variant = Variant(plan: resolved.serial, piece: piece, state: recorded.state, noGPUs: noGPUs,
                              user: own.user ? recorded.user : 0, group: own.group ? recorded.group : 0,
                              account: own.account ? recorded.account : 0)
        if let known = variants[variant] { return known }
        var ids = resolved.ids(piece: piece, recorded: recorded)
        ids.state = recorded.state
        if noGPUs { ids.gpuClass = 0 }
        let index: Int32
        if let existing = indexOfKey[ids] {
            index = existing
        } else {
            index = Int32(keys.count)
            keys.append(ids)
            indexOfKey[ids] = index
            storedKeyIDs.append(0)
        }
        // Bounded (a few megabytes): a miss costs one hash of the thirteen ids.
        if variants.count >= 1 << 15 { variants.removeAll(keepingCapacity: true) }
        variants[variant] = index
        return index
    }

    /// Takes every pending row: days, and the months they add up to.
    mutating func drainAllRows() -> (days: [Row], months: [Row]) {
        drainRows(daysBefore: .max, monthsBefore: .max)
    }

    /// Takes only the days before `day` and the months before its month: when jobs are added in
    /// order of their first touched instant, those are complete, and their rows append at the
    /// tables' right edge.
    mutating func drainCompletedRows(before day: Int64) -> (days: [Row], months: [Row]) {
        drainRows(daysBefore: day, monthsBefore: UTCMonth.of(day: day))
    }

    private mutating func drainRows(daysBefore: Int64, monthsBefore: Int64) -> (days: [Row], months: [Row]) {
        // The finished periods first: removing while iterating `keys` would copy the dictionary.
        var dayRows: [Row] = []
        for day in days.keys.filter({ $0 < daysBefore }) {
            let month = UTCMonth.of(day: day)
            for (key, amounts) in days.removeValue(forKey: day)! {
                dayRows.append(Row(period: day, key: key, amounts: amounts))
                months[month, default: [:]][key, default: UsageAmounts()] += amounts
            }
        }
        var monthRows: [Row] = []
        for month in months.keys.filter({ $0 < monthsBefore }) {
            for (key, amounts) in months.removeValue(forKey: month)! {
                monthRows.append(Row(period: month, key: key, amounts: amounts))
            }
        }
        return (dayRows, monthRows)
    }

    /// Every pending row keyed by its dimension ids (for stores that write ids, not combinations).
    mutating func drainAll() -> (days: [RollupKey: UsageAmounts], months: [RollupKey: UsageAmounts]) {
        Self.keyed(drainAllRows(), keys)
    }

    mutating func drainCompleted(before day: Int64) -> (days: [RollupKey: UsageAmounts], months: [RollupKey: UsageAmounts]) {
        Self.keyed(drainCompletedRows(before: day), keys)
    }

    private static func keyed(_ rows: (days: [Row], months: [Row]), _ keys: [DimensionIDs])
        -> (days: [RollupKey: UsageAmounts], months: [RollupKey: UsageAmounts]) {
        func table(_ rows: [Row]) -> [RollupKey: UsageAmounts] {
            var result: [RollupKey: UsageAmounts] = [:]
            result.reserveCapacity(rows.count)
            for row in rows { result[RollupKey(period: row.period, ids: keys[Int(row.key)])] = row.amounts }
            return result
        }
        return (table(rows.days), table(rows.months))
    }

    /// Rows an update emptied must go: a zero row would still show up as a group in reports.
    static func mayHaveEmptied(_ amounts: some Sequence<UsageAmounts>) -> Bool {
        amounts.contains { $0.jobs < 0 || $0.wallSeconds < 0 || $0.cpuSeconds < 0 || $0.chargeMilli < 0 }
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
