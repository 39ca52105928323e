/// One job (or one run of a requeued job): the single currency between collectors, stores and reports.
///
/// Times are UTC epoch seconds, durations seconds, memory bytes. A record cannot exist with an end
/// before its start or negative resources: the initialiser throws instead.
public struct UsageRecord: Sendable, Hashable {
    // Identity
    public let site: String
    public let cluster: String
    public let source: SourceFormat
    /// The id the scheduler shows (`123_4`, `77+1`).
    public let jobID: String
    /// The scheduler's own unique number for this job (Slurm JobIDRaw).
    public let localJobID: String
    /// Stable across re-ingests of the same job run; the store dedupes on it.
    public let naturalKey: String
    public let name: String?

    // Who
    public let user: String?
    public let group: String?
    public let account: String?

    // Where
    public let partition: String?
    public let qos: String?
    public let nodeCount: Int
    public let nodeList: String?

    // When
    public let submit: Int64?
    public let eligible: Int64?
    public let start: Int64?
    public let end: Int64?
    /// Seconds the job held its allocation (suspended time excluded, as Slurm's ElapsedRaw).
    public let wallSeconds: Int64

    // What
    /// Whole cores (fractional requests rounded to the nearest, at least one).
    public let cores: Int
    /// The exact CPU allocation in thousandths of a core when it is fractional (Kubernetes
    /// `1500m`); nil when `cores` is exact. Core seconds are charged from this.
    public let milliCores: Int64?
    /// Local (ephemeral) disk allocated, bytes: Nomad `DiskMB`, Kubernetes `ephemeral-storage`.
    public let diskAllocated: Int64?
    public let gpus: Int
    public let gpuModel: String?
    public let memoryAllocated: Int64?
    public let memoryRequested: Int64?
    public private(set) var memoryUsedPeak: Int64?
    /// CPU time actually used (user + system), seconds.
    public let cpuSeconds: Int64?
    public private(set) var energyJoules: Int64?
    /// Scheduler's billing weight per second of wall time (Slurm AllocTRES `billing`).
    public let billing: Int64?

    // Outcome
    public let state: JobState
    public let rawState: String
    public let exitCode: Int?
    public let exitSignal: Int?

    public let origin: SourcePosition

    public init(
        site: String, cluster: String, source: SourceFormat, jobID: String, localJobID: String,
        naturalKey: String, name: String? = nil,
        user: String?, group: String?, account: String?,
        partition: String?, qos: String?, nodeCount: Int = 0, nodeList: String? = nil,
        submit: Int64?, eligible: Int64? = nil, start: Int64?, end: Int64?, wallSeconds: Int64,
        cores: Int, gpus: Int = 0, gpuModel: String? = nil,
        memoryAllocated: Int64? = nil, memoryRequested: Int64? = nil, memoryUsedPeak: Int64? = nil,
        cpuSeconds: Int64? = nil, energyJoules: Int64? = nil, billing: Int64? = nil,
        milliCores: Int64? = nil, diskAllocated: Int64? = nil,
        state: JobState, rawState: String? = nil, exitCode: Int? = nil, exitSignal: Int? = nil,
        origin: SourcePosition
    ) throws(RecordError) {
        if let start, let end, end < start { throw .endBeforeStart(start: start, end: end) }
        if wallSeconds < 0 { throw .negative("wall seconds") }
        if cores < 0 { throw .negative("cores") }
        if gpus < 0 { throw .negative("GPUs") }
        if nodeCount < 0 { throw .negative("nodes") }
        if cores > Self.maxPlausibleCores { throw .implausible("cores", Int64(cores)) }
        if gpus > Self.maxPlausibleCores { throw .implausible("GPUs", Int64(gpus)) }
        for (label, value) in [("memory allocated", memoryAllocated), ("memory requested", memoryRequested),
                               ("memory used", memoryUsedPeak), ("CPU seconds", cpuSeconds),
                               ("energy", energyJoules), ("billing", billing), ("milli-cores", milliCores),
                               ("disk allocated", diskAllocated)] {
            if let value, value < 0 { throw .negative(label) }
        }
        if wallSeconds > 0, start == nil { throw .usageWithoutStart }
        if naturalKey.isEmpty { throw .missingIdentity }
        self.site = site; self.cluster = cluster; self.source = source
        self.jobID = jobID; self.localJobID = localJobID; self.naturalKey = naturalKey; self.name = name
        self.user = user; self.group = group; self.account = account
        self.partition = partition; self.qos = qos; self.nodeCount = nodeCount; self.nodeList = nodeList
        self.submit = submit; self.eligible = eligible; self.start = start; self.end = end
        self.wallSeconds = wallSeconds
        self.cores = cores; self.gpus = gpus; self.gpuModel = gpuModel
        // Whole-core allocations keep no fraction: one representation per allocation.
        self.milliCores = milliCores.flatMap { $0 == Int64(cores) * 1000 ? nil : $0 }
        self.diskAllocated = diskAllocated
        self.memoryAllocated = memoryAllocated; self.memoryRequested = memoryRequested
        self.memoryUsedPeak = memoryUsedPeak; self.cpuSeconds = cpuSeconds
        self.energyJoules = energyJoules; self.billing = billing
        self.state = state; self.rawState = rawState ?? state.rawValue.uppercased()
        self.exitCode = exitCode; self.exitSignal = exitSignal
        self.origin = origin
    }

    /// Adds what a job's step rows tell: a higher memory peak, and energy when the job row had none.
    /// Both are non-negative, so the record stays valid.
    public mutating func foldSteps(memoryPeak: Int64?, energy: Int64?) {
        if let memoryPeak, memoryPeak > (memoryUsedPeak ?? -1) { memoryUsedPeak = memoryPeak }
        if let energy, energy > 0, (energyJoules ?? 0) == 0 { energyJoules = energy }
    }

    /// More than any machine has: a value beyond this is a parse error, not a job.
    public static let maxPlausibleCores = 10_000_000

    /// The names configuration rules match on.
    public var subject: RuleSubject {
        RuleSubject(cluster: cluster, partition: partition ?? "", qos: qos ?? "", host: HostList.first(nodeList),
                    gpuModel: gpuModel ?? "", user: user ?? "", group: group ?? "", account: account ?? "")
    }

    /// The usage facts that aggregation needs, independent of storage.
    public var usage: UsageFacts {
        UsageFacts(start: start, wallSeconds: wallSeconds, end: end, submit: submit, state: state,
                   cores: Int64(cores), gpus: Int64(gpus),
                   memoryMiB: (memoryAllocated ?? 0) / 1_048_576, cpuSeconds: cpuSeconds, eligible: eligible,
                   milliCores: milliCores, diskMiB: (diskAllocated ?? 0) / 1_048_576)
    }
}

public enum RecordError: Error, Sendable, Hashable, CustomStringConvertible {
    case endBeforeStart(start: Int64, end: Int64)
    case negative(String)
    case implausible(String, Int64)
    case usageWithoutStart
    case missingIdentity

    public var description: String {
        switch self {
        case let .endBeforeStart(start, end): "end (\(end)) is before start (\(start))"
        case let .negative(what): "\(what) is negative"
        case let .implausible(what, value): "\(what) = \(value) is implausible"
        case .usageWithoutStart: "wall time given but no start time"
        case .missingIdentity: "no job identity"
        }
    }
}
