import Foundation
import TallyCore
import TallyStore

/// Policy questions answered from accounting records: fair-share and priorities, group quotas,
/// allocations, preemption. Each answer says how many records it rests on.
public struct PolicyEngine: Sendable {
    public let store: any UsageStore
    public let configuration: TallyConfiguration
    public var policy: PolicySettings { configuration.policy }

    public init(store: any UsageStore, configuration: TallyConfiguration) {
        self.store = store; self.configuration = configuration
    }

    public enum Failure: Error, Sendable, CustomStringConvertible {
        case noPool
        case noQuotaGroups
        case unknownAllocation(String)

        public var description: String {
            switch self {
            case .noPool: "no pool size: set [quota] pool, give [[resource]] capacity, or pass --pool"
            case .noQuotaGroups: "no [[quota_group]] entries in the configuration"
            case let .unknownAllocation(name): "no allocation named '\(name)' (tally alloc list)"
            }
        }
    }

    /// Records read for an answer, and the span they were read from.
    public struct Basis: Sendable, Hashable, Codable {
        public var records: Int64 = 0
        public var from: Int64?
        public var to: Int64
    }

    /// What a streaming pass accumulates, shared with the store's callback (called serially).
    final class PassState<Value>: @unchecked Sendable {
        var value: Value
        var records: Int64 = 0
        init(_ value: Value) { self.value = value }
    }

    // MARK: Fair-share

    public struct FairShare: Sendable {
        public var result: SlurmFairShare
        public var basis: Basis
        public var settings: FairShareSettings
    }

    /// Slurm's fair-share at `at`: usage decayed with the configured half-life, over the share tree
    /// given (or the configuration's `[[share]]` entries).
    public func fairShare(at: Int64, shares: [ShareEntry]? = nil, settings: FairShareSettings? = nil,
                          filters: [ReportDimension: Set<String>] = [:]) async throws -> FairShare {
        let settings = settings ?? policy.fairShare
        let decay = DecayedUsage(halfLife: settings.halfLife, at: at)
        let horizon = decay.horizon ?? Int64.min / 2
        let sums = PassState<[AccountUser: Double]>([:])
        let basis = settings.usage
        try await store.forEachRun(JobQuery(window: horizon..<at, filters: filters)) { record in
            guard let interval = record.facts.usageInterval else { return }
            let weight = basis == .billing ? Double(record.billing ?? record.facts.cores) : Double(record.facts.cores)
            let usage = decay.usage(weight: weight, over: interval)
            sums.records += 1
            guard usage > 0 else { return }
            sums.value[AccountUser(account: record.account ?? "", user: record.user ?? ""), default: 0] += usage
        }
        let result = SlurmFairShare(shares: shares ?? policy.shares, usage: sums.value, dampening: settings.dampening)
        return FairShare(result: result, basis: Basis(records: sums.records, from: decay.horizon, to: at), settings: settings)
    }

    /// HTCondor's accountant at `at`, replayed from records.
    public func priorities(at: Int64, filters: [ReportDimension: Set<String>] = [:]) async throws -> ([CondorAccountant.Row], Basis) {
        let settings = policy.priority
        // After 40 half-lives a principal's history weighs less than a trillionth.
        let from: Int64? = settings.halfLife > 0 ? at - Int64(settings.halfLife * 40) : nil
        let state = PassState(CondorAccountant(settings: settings, at: at))
        try await store.forEachRun(JobQuery(window: (from ?? Int64.min / 2)..<at, filters: filters)) { record in
            guard let interval = record.facts.usageInterval else { return }
            state.records += 1
            state.value.add(user: record.user, group: record.account, start: interval.lowerBound, end: interval.upperBound,
                            weight: Double(record.facts.cores))
        }
        return (state.value.rows(), Basis(records: state.records, from: from, to: at))
    }

    // MARK: Group quotas

    public struct QuotaStatus: Sendable, Codable {
        public var at: Int64
        public var pool: Double
        public var groups: [GroupQuotaTree.Group]
        public var basis: Basis
        public var orphans: [String]
    }

    func tree() throws -> GroupQuotaTree {
        guard !policy.quotaGroups.isEmpty else { throw Failure.noQuotaGroups }
        return GroupQuotaTree(groups: policy.quotaGroups, settings: policy.quota)
    }

    /// The pool in cores at an instant: `--pool`, `[quota] pool`, or the configured capacity.
    public func pool(at: Int64, given: Double?, filters: [ReportDimension: Set<String>]) throws -> Double {
        if let given { return given }
        if let pool = policy.quota.pool { return pool }
        let model = CapacityModel(configuration.resources)
        let clusters: [String?] = filters[.cluster].map { $0.sorted().map(Optional.some) } ?? [nil]
        let cores = clusters.reduce(Int64(0)) { $0 + model.capacity(cluster: $1, partition: nil, over: at..<(at + 1)).coreSeconds }
        guard cores > 0 else { throw Failure.noPool }
        return Double(cores)
    }

    /// Each group's quota, usage, demand and what HTCondor would allocate it, at `at`: usage from
    /// jobs running then; demand adds jobs waiting then that left the queue (started, or were
    /// cancelled) within `lookahead`.
    public func quotaStatus(at: Int64, pool given: Double? = nil, lookahead: Int64 = 86_400,
                            filters: [ReportDimension: Set<String>] = [:]) async throws -> QuotaStatus {
        let tree = try tree()
        let pool = try pool(at: at, given: given, filters: filters)
        let sums = PassState<(usage: [String: Double], demand: [String: Double])>(([:], [:]))
        try await store.forEachRun(JobQuery(window: at..<(at + max(1, lookahead)), filters: filters)) { record in
            let group = tree.group(for: record.account)
            let cores = Double(record.facts.cores)
            if let interval = record.facts.usageInterval, interval.contains(at) {
                sums.records += 1
                sums.value.usage[group, default: 0] += cores
                sums.value.demand[group, default: 0] += cores
            } else if let submitted = record.facts.eligible ?? record.facts.submit, submitted <= at,
                      // It left the queue when it started, or when it was cancelled before starting.
                      let left = record.facts.start ?? record.facts.end ?? (record.facts.state == .pending ? Int64.max : nil),
                      left > at {
                sums.records += 1
                sums.value.demand[group, default: 0] += cores
            }
        }
        let groups = tree.evaluate(pool: pool, demand: sums.value.demand, usage: sums.value.usage)
        return QuotaStatus(at: at, pool: pool, groups: groups, basis: Basis(records: sums.records, from: at, to: at + lookahead),
                           orphans: tree.orphans)
    }

    public struct Occupancy: Sendable, Hashable, Codable {
        public var period: Period
        public var group: String
        public var quota: Double
        public var averageCores: Double
        public var peakCores: Double
        public var averagePercentOfQuota: Double? { quota > 0 ? averageCores / quota * 100 : nil }
        public var peakPercentOfQuota: Double? { quota > 0 ? peakCores / quota * 100 : nil }
    }

    /// Average and peak cores in use per group and period over `window`.
    public func quotaReport(window: Range<Int64>, period: PeriodKind, calendar: PeriodCalendar, pool given: Double? = nil,
                            filters: [ReportDimension: Set<String>] = [:]) async throws -> ([Occupancy], Basis) {
        let tree = try tree()
        let periods = calendar.periods(period, covering: window)
        let sweep = PassState(OccupancySweep(periods: periods))
        try await store.forEachRun(JobQuery(window: window, filters: filters)) { record in
            guard let interval = record.facts.usageInterval else { return }
            let low = max(interval.lowerBound, window.lowerBound), high = min(interval.upperBound, window.upperBound)
            guard high > low else { return }
            sweep.records += 1
            sweep.value.add(group: tree.group(for: record.account), start: low, end: high, cores: Double(record.facts.cores))
        }
        sweep.value.finish()
        var rows: [Occupancy] = []
        let groupNames = tree.quotas(pool: 0).keys.sorted()
        for (index, period) in periods.enumerated() {
            let pool = (try? self.pool(at: period.start, given: given, filters: filters)) ?? 0
            let quotas = tree.quotas(pool: pool)
            let span = Double(period.end - period.start)
            for group in groupNames {
                let state = sweep.value.result(group: group, period: index)
                rows.append(Occupancy(period: period, group: group, quota: quotas[group] ?? 0,
                                      averageCores: span > 0 ? state.coreSeconds / span : 0, peakCores: state.peak))
            }
        }
        return (rows, Basis(records: sweep.records, from: window.lowerBound, to: window.upperBound))
    }

    // MARK: Allocations

    /// Where an allocation stands at `at`: usage from reports (the same rollups and charge rates as
    /// `tally report`), manual charges, burn rate over `rateWindow` seconds (the whole allocation
    /// so far when nil), and per-user usage.
    public func burnDown(_ name: String, at: Int64, rateWindow: Int64? = nil) async throws -> (BurnDown, Basis) {
        guard let allocation = try await store.allocations().first(where: { $0.name == name }) else {
            throw Failure.unknownAllocation(name)
        }
        return try await burnDown(allocation, at: at, rateWindow: rateWindow)
    }

    /// The same, for an allocation already read (a page of many need not read the list again for each).
    public func burnDown(_ allocation: Allocation, at: Int64, rateWindow: Int64? = nil) async throws -> (BurnDown, Basis) {
        let end = min(at, allocation.end)
        let filters: [ReportDimension: Set<String>] = [allocation.dimension: [allocation.owner]]
        let metric = allocation.unit.metric
        var used = 0.0
        var users: [(String, Double)] = []
        var records: Int64 = 0
        if end > allocation.start {
            let report = try await store.report(ReportQuery(window: allocation.start..<end, period: .total, groupBy: [.user],
                                                            filters: filters))
            records = report.basis.records
            for row in report.rows {
                let value = metric.value(row.amounts, unit: .hours, capacity: nil) ?? 0
                used += value
                users.append((row.keys.first ?? "", value))
            }
        }
        var rateSpan = allocation.start..<max(allocation.start, end)
        var usedInRate = used
        if let rateWindow, end - rateWindow > allocation.start {
            rateSpan = (end - rateWindow)..<end
            let report = try await store.report(ReportQuery(window: rateSpan, period: .total, filters: filters))
            usedInRate = report.rows.reduce(0) { $0 + (metric.value($1.amounts, unit: .hours, capacity: nil) ?? 0) }
        }
        let charges = try await store.allocationCharges(allocation: allocation.name)
        let burn = BurnDown(allocation: allocation, at: at, usedByJobs: used, charges: charges, usedInRateWindow: usedInRate,
                            rateWindow: rateSpan, users: users)
        return (burn, Basis(records: records, from: allocation.start, to: end))
    }

    // MARK: Preemption

    public struct PreemptionAnswer: Sendable, Codable {
        public var plans: [PreemptionPlanner.Plan]
        public var running: Int
        public var basis: Basis
        /// Why a strategy could not rank anything (no quota groups, no pool size).
        public var notes: [String]
    }

    /// Running jobs at `at` ranked for eviction so that `group` gets `need` cores, by each strategy.
    public func preempt(need: Int64, forGroup group: String, at: Int64, minimumRuntime: Int64, pool: Double? = nil,
                        filters: [ReportDimension: Set<String>] = [:]) async throws -> PreemptionAnswer {
        let (priorities, _) = try await self.priorities(at: at, filters: filters)
        let effective = Dictionary(priorities.map { ($0.name, $0.effectivePriority) }, uniquingKeysWith: { first, _ in first })
        var overQuota: [String: Double] = [:]
        var notes: [String] = []
        let tree = policy.quotaGroups.isEmpty ? nil : try self.tree()
        if tree == nil {
            notes.append("no [[quota_group]] entries: the quota strategy has no group over its quota")
        } else {
            do {
                let status = try await quotaStatus(at: at, pool: pool, lookahead: 1, filters: filters)
                for entry in status.groups { overQuota[entry.name] = entry.subtreeUsage - entry.quota }
            } catch let failure as Failure {
                notes.append("quota strategy: \(failure.description)")
            }
        }
        let running = PassState<[PreemptionPlanner.RunningJob]>([])
        try await store.forEachRun(JobQuery(window: at..<(at + 1), filters: filters)) { record in
            guard let interval = record.facts.usageInterval, interval.contains(at), interval.lowerBound < at else { return }
            running.records += 1
            let groupName = tree?.group(for: record.account) ?? (record.account ?? "")
            running.value.append(PreemptionPlanner.RunningJob(
                jobID: record.jobID, user: record.user ?? "", submitter: CondorAccountant.submitter(user: record.user, group: record.account),
                group: groupName, cores: record.facts.cores, start: interval.lowerBound))
        }
        let claimant = tree?.group(for: group) ?? group
        let planner = PreemptionPlanner(at: at, need: need, forGroup: claimant, minimumRuntime: minimumRuntime)
        let plans = planner.plans(running: running.value, effectivePriority: effective, overQuota: overQuota)
        return PreemptionAnswer(plans: plans, running: running.value.count, basis: Basis(records: running.records, from: at, to: at),
                                notes: notes)
    }
}

/// Per group and period: core-seconds in use and the peak of concurrent cores. Jobs arrive in
/// start order; ends wait in a heap per group, so memory follows concurrency, not history.
struct OccupancySweep: Sendable {
    struct State: Sendable {
        var coreSeconds = 0.0
        var peak = 0.0
    }

    struct GroupState: Sendable {
        var inUse = 0.0
        var ends = MinHeap()
        /// The period of the last instant this group was advanced to.
        var period: Int?
        var perPeriod: [Int: State] = [:]
    }

    let periods: [Period]
    var groups: [String: GroupState] = [:]

    init(periods: [Period]) { self.periods = periods }

    static func periodIndex(_ instant: Int64, in periods: [Period]) -> Int? {
        var low = 0, high = periods.count - 1
        while low <= high {
            let middle = (low + high) / 2
            if instant < periods[middle].start { high = middle - 1 } else if instant >= periods[middle].end { low = middle + 1 } else { return middle }
        }
        return nil
    }

    /// Moves a group's clock to `instant`: runs that ended leave, and each period boundary passed
    /// records the level carried into the new period (its peak is at least that).
    static func advance(_ state: inout GroupState, to instant: Int64, periods: [Period]) {
        while true {
            let boundary = state.period.map { periods[$0].end }
            if let (ending, weight) = state.ends.peek, ending <= instant, boundary.map({ ending <= $0 }) ?? true {
                state.inUse -= weight
                _ = state.ends.pop()
            } else if let boundary, boundary <= instant {
                state.period = periodIndex(boundary, in: periods)
                guard let period = state.period else { return }
                state.perPeriod[period, default: State()].peak = max(state.perPeriod[period, default: State()].peak, state.inUse)
            } else {
                return
            }
        }
    }

    mutating func add(group: String, start: Int64, end: Int64, cores: Double) {
        // In place, through a static function: a method of `self` here would copy the dictionary
        // being mutated, once per run.
        Self.add(to: &groups[group, default: GroupState()], start: start, end: end, cores: cores, periods: periods)
    }

    static func add(to state: inout GroupState, start: Int64, end: Int64, cores: Double, periods: [Period]) {
        advance(&state, to: start, periods: periods)
        if state.period == nil { state.period = periodIndex(start, in: periods) }
        state.inUse += cores
        state.ends.push(end, cores)
        if let period = state.period {
            state.perPeriod[period, default: State()].peak = max(state.perPeriod[period, default: State()].peak, state.inUse)
        }
        // Core-seconds split across the periods the run crosses.
        var cursor = start
        while cursor < end, let index = periodIndex(cursor, in: periods) {
            let stop = min(end, periods[index].end)
            state.perPeriod[index, default: State()].coreSeconds += cores * Double(stop - cursor)
            cursor = stop
        }
    }

    /// Carries every group's level through the periods after its last run started.
    mutating func finish() {
        guard let last = periods.last else { return }
        for name in groups.keys {
            Self.advance(&groups[name]!, to: last.end, periods: periods)
        }
    }

    func result(group: String, period: Int) -> State {
        groups[group]?.perPeriod[period] ?? State()
    }
}
