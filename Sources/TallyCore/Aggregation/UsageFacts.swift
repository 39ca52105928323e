/// What aggregation needs to know about one job, in integer units.
public struct UsageFacts: Sendable, Hashable {
    public var start: Int64?
    public var wallSeconds: Int64
    public var end: Int64?
    public var submit: Int64?
    /// When the job could first start (Slurm Eligible): wait time runs from here, else from submit.
    public var eligible: Int64?
    public var state: JobState
    public var cores: Int64
    public var gpus: Int64
    public var memoryMiB: Int64
    /// CPU time used; nil when the source did not say (then efficiency skips this job).
    public var cpuSeconds: Int64?
    /// The exact CPU allocation in thousandths of a core when fractional, else nil.
    public var milliCores: Int64?
    /// Local disk allocated, MiB.
    public var diskMiB: Int64

    public init(start: Int64?, wallSeconds: Int64, end: Int64?, submit: Int64?, state: JobState,
                cores: Int64, gpus: Int64, memoryMiB: Int64, cpuSeconds: Int64?, eligible: Int64? = nil,
                milliCores: Int64? = nil, diskMiB: Int64 = 0) {
        self.start = start; self.wallSeconds = wallSeconds; self.end = end; self.submit = submit
        self.eligible = eligible
        self.state = state; self.cores = cores; self.gpus = gpus; self.memoryMiB = memoryMiB
        self.cpuSeconds = cpuSeconds
        self.milliCores = milliCores.flatMap { $0 == cores * 1000 ? nil : $0 }
        self.diskMiB = diskMiB
    }

    /// Whole cores for a fractional allocation: the nearest, at least one (what job-size buckets
    /// and `avg_cores` count; core seconds use the exact milli-cores).
    public static func wholeCores(milli: Int64) -> Int64 { milli == 0 ? 0 : max(1, (milli + 500) / 1000) }

    /// The span during which the job held resources: `[start, start + wall)`.
    ///
    /// Wall time rather than `end − start` so suspended time is not charged (Slurm's ElapsedRaw)
    /// and a running job is charged up to the moment the source last saw it.
    public var usageInterval: Range<Int64>? {
        guard let start, wallSeconds > 0 else { return nil }
        return start..<(start + wallSeconds)
    }

    /// The instant a job is counted at in the `jobs` column: when it ended. Pending and running
    /// jobs are not counted: they have not ended (their usage so far is charged all the same).
    public var countInstant: Int64? {
        if state == .pending || state == .running { return nil }
        if let end { return end }
        if let start { return start + wallSeconds }
        return submit
    }

    /// Seconds from eligible (else submit) to start; nil for jobs that never started.
    public var waitSeconds: Int64? {
        guard let start, let from = eligible ?? submit, start >= from else { return nil }
        return start - from
    }

    /// `[t0, t1)`: everything the job contributes to lies inside it (usage, and the counted instant).
    public var touchSpan: Range<Int64>? {
        var low: Int64?
        var high: Int64?
        if let interval = usageInterval { low = interval.lowerBound; high = interval.upperBound }
        if let instant = countInstant {
            low = min(low ?? instant, instant)
            high = max(high ?? instant + 1, instant + 1)
        }
        guard let low, let high else { return nil }
        return low..<high
    }

    /// This job's share of usage inside `window`, split to the second.
    ///
    /// CPU time is spread in proportion to wall time using a cumulative floor, so the shares of
    /// any partition of time into windows add up to the job's CPU seconds exactly.
    public func amounts(in window: Range<Int64>) -> UsageAmounts {
        var result = UsageAmounts()
        if let instant = countInstant, window.contains(instant) {
            result.jobs = 1
            result.jobCores = cores
            result.jobGPUs = gpus
            if let wait = waitSeconds {
                result.waitSeconds = wait
                result.startedJobs = 1
            }
        }
        guard let interval = usageInterval else { return result }
        let lower = max(interval.lowerBound, window.lowerBound)
        let upper = min(interval.upperBound, window.upperBound)
        guard upper > lower else { return result }
        let seconds = upper - lower
        result.wallSeconds = seconds
        if let milliCores {
            // Fractional cores: a cumulative floor, so every split adds up to the whole job's.
            result.coreSeconds = cumulativeMilli(milliCores, at: upper) - cumulativeMilli(milliCores, at: lower)
        } else {
            result.coreSeconds = seconds * cores
        }
        result.gpuSeconds = seconds * gpus
        result.memoryMiBSeconds = seconds * memoryMiB
        result.diskMiBSeconds = seconds * diskMiB
        if let cpuSeconds {
            // A window holding the whole usage (most jobs of most reports) takes all of it.
            result.cpuSeconds = seconds == wallSeconds ? max(cpuSeconds, 0)
                : cumulativeCPU(at: upper) - cumulativeCPU(at: lower)
            result.coreSecondsWithCPU = result.coreSeconds
        }
        return result
    }

    private func cumulativeMilli(_ milli: Int64, at instant: Int64) -> Int64 {
        guard let interval = usageInterval else { return 0 }
        return Self.scaled(milli, instant - interval.lowerBound, 1000)
    }

    private func cumulativeCPU(at instant: Int64) -> Int64 {
        guard let interval = usageInterval, let cpuSeconds, cpuSeconds > 0 else { return 0 }
        return Self.scaled(cpuSeconds, instant - interval.lowerBound, wallSeconds)
    }

    /// `value × numerator / denominator`, rounded down, exact at any size: in 64 bits when the
    /// product fits (128-bit division is a library call), else in 128.
    @inline(__always)
    private static func scaled(_ value: Int64, _ numerator: Int64, _ denominator: Int64) -> Int64 {
        let (product, overflow) = value.multipliedReportingOverflow(by: numerator)
        if !overflow, product >= 0 { return product / denominator }
        return Int64(Int128(value) * Int128(numerator) / Int128(denominator))
    }

    /// UTC days (as day numbers since the epoch) this job contributes to, counting included.
    public var touchedDays: ClosedRange<Int64>? {
        var low: Int64?
        var high: Int64?
        if let interval = usageInterval {
            low = UTCDay.of(interval.lowerBound)
            high = UTCDay.of(interval.upperBound - 1)
        }
        if let instant = countInstant {
            let day = UTCDay.of(instant)
            low = min(low ?? day, day)
            high = max(high ?? day, day)
        }
        guard let low, let high else { return nil }
        return low...high
    }
}

/// Summable usage figures, all integers (seconds, MiB-seconds).
public struct UsageAmounts: Sendable, Hashable, Codable {
    public var jobs: Int64 = 0
    public var wallSeconds: Int64 = 0
    public var coreSeconds: Int64 = 0
    public var cpuSeconds: Int64 = 0
    public var gpuSeconds: Int64 = 0
    public var memoryMiBSeconds: Int64 = 0
    /// Local disk allocated × time (Nomad and Kubernetes snapshots), MiB-seconds.
    public var diskMiBSeconds: Int64 = 0
    /// Core seconds of the jobs whose CPU time is known: the denominator of efficiency.
    public var coreSecondsWithCPU: Int64 = 0
    /// Per-job figures, counted where the job is counted: wait (eligible → start) over the jobs
    /// that started, and the cores and GPUs each job held (for average job size).
    public var waitSeconds: Int64 = 0
    public var startedJobs: Int64 = 0
    public var jobCores: Int64 = 0
    public var jobGPUs: Int64 = 0
    /// Normalised figures in thousandths of a unit × seconds: benchmark score × core seconds,
    /// GPU class factor × GPU seconds, SU rate per hour × resource seconds. Integers, so splits add up.
    public var benchmarkMilli: Int64 = 0
    /// Core seconds that some benchmark rule covered (the rest has no normalised figure).
    public var coreSecondsBenchmarked: Int64 = 0
    public var gpuWeightedMilli: Int64 = 0
    public var chargeMilli: Int64 = 0

    public init() {}

    public init(jobs: Int64, wallSeconds: Int64, coreSeconds: Int64, cpuSeconds: Int64,
                gpuSeconds: Int64, memoryMiBSeconds: Int64, coreSecondsWithCPU: Int64) {
        self.jobs = jobs; self.wallSeconds = wallSeconds; self.coreSeconds = coreSeconds
        self.cpuSeconds = cpuSeconds; self.gpuSeconds = gpuSeconds; self.memoryMiBSeconds = memoryMiBSeconds
        self.coreSecondsWithCPU = coreSecondsWithCPU
    }

    @inlinable
    public var isZero: Bool { self == UsageAmounts() }

    @inlinable
    public static func += (lhs: inout UsageAmounts, rhs: UsageAmounts) {
        lhs.jobs += rhs.jobs
        lhs.wallSeconds += rhs.wallSeconds
        lhs.coreSeconds += rhs.coreSeconds
        lhs.cpuSeconds += rhs.cpuSeconds
        lhs.gpuSeconds += rhs.gpuSeconds
        lhs.memoryMiBSeconds += rhs.memoryMiBSeconds
        lhs.diskMiBSeconds += rhs.diskMiBSeconds
        lhs.coreSecondsWithCPU += rhs.coreSecondsWithCPU
        lhs.waitSeconds += rhs.waitSeconds
        lhs.startedJobs += rhs.startedJobs
        lhs.jobCores += rhs.jobCores
        lhs.jobGPUs += rhs.jobGPUs
        lhs.benchmarkMilli += rhs.benchmarkMilli
        lhs.coreSecondsBenchmarked += rhs.coreSecondsBenchmarked
        lhs.gpuWeightedMilli += rhs.gpuWeightedMilli
        lhs.chargeMilli += rhs.chargeMilli
    }

    @inlinable
    public static func -= (lhs: inout UsageAmounts, rhs: UsageAmounts) {
        lhs.jobs -= rhs.jobs
        lhs.wallSeconds -= rhs.wallSeconds
        lhs.coreSeconds -= rhs.coreSeconds
        lhs.cpuSeconds -= rhs.cpuSeconds
        lhs.gpuSeconds -= rhs.gpuSeconds
        lhs.memoryMiBSeconds -= rhs.memoryMiBSeconds
        lhs.diskMiBSeconds -= rhs.diskMiBSeconds
        lhs.coreSecondsWithCPU -= rhs.coreSecondsWithCPU
        lhs.waitSeconds -= rhs.waitSeconds
        lhs.startedJobs -= rhs.startedJobs
        lhs.jobCores -= rhs.jobCores
        lhs.jobGPUs -= rhs.jobGPUs
        lhs.benchmarkMilli -= rhs.benchmarkMilli
        lhs.coreSecondsBenchmarked -= rhs.coreSecondsBenchmarked
        lhs.gpuWeightedMilli -= rhs.gpuWeightedMilli
        lhs.chargeMilli -= rhs.chargeMilli
    }

    public static prefix func - (value: UsageAmounts) -> UsageAmounts {
        var zero = UsageAmounts()
        zero -= value
        return zero
    }
}
