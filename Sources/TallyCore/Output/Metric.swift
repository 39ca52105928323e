/// The figures a usage report shows, as data: name, unit and how to compute from amounts.
public enum Metric: String, Sendable, CaseIterable, Codable {
    case jobs
    case wallHours = "wall_hours"
    case coreHours = "core_hours"
    case cpuHours = "cpu_hours"
    case gpuHours = "gpu_hours"
    case memoryGBHours = "mem_gb_hours"
    /// Local disk allocated × time (snapshot sources), GiB-hours.
    case diskGBHours = "disk_gb_hours"
    case efficiency
    case waitHours = "wait_hours"
    case averageWaitHours = "avg_wait_hours"
    case averageCores = "avg_cores"
    case averageGPUs = "avg_gpus"
    /// Benchmark-normalised core hours; titled after the benchmark (`hs23_hours`).
    case benchmarkHours = "benchmark_hours"
    /// GPU hours weighted by GPU class factor.
    case normalisedGPUHours = "gpu_norm_hours"
    case serviceUnits = "su"
    case coreUtilisation = "core_util_pct"
    case gpuUtilisation = "gpu_util_pct"

    /// What every report can show, without configuration.
    public static let basic: [Metric] = [.jobs, .wallHours, .coreHours, .cpuHours, .gpuHours, .memoryGBHours,
                                         .efficiency, .averageWaitHours, .averageCores]

    /// The column title for a time unit (`core_hours`, `core_seconds`, …).
    public func title(unit: TimeUnit, benchmark: String = "HS23") -> String {
        switch self {
        case .jobs, .efficiency, .averageCores, .averageGPUs, .serviceUnits, .coreUtilisation, .gpuUtilisation:
            rawValue
        case .benchmarkHours: "\(benchmark.lowercased())_\(unit.rawValue)"
        default: rawValue.replacingOccurrences(of: "_hours", with: "_\(unit.rawValue)")
        }
    }

    /// Accepts a column title or the metric's name (`hs23_hours` for the benchmark column).
    public init?(name: String) {
        let lowered = name.lowercased()
        if let metric = Metric(rawValue: lowered) { self = metric; return }
        if let metric = Metric.allCases.first(where: { $0.title(unit: .hours) == lowered }) { self = metric; return }
        if lowered.hasSuffix("_hours"), ["hs06", "hs23", "si2k", "hepspec", "hepscore"].contains(where: lowered.hasPrefix) {
            self = .benchmarkHours
            return
        }
        return nil
    }

    /// The value in `unit`; `nil` when undefined (efficiency with no core time, utilisation
    /// without capacity).
    public func value(_ amounts: UsageAmounts, unit: TimeUnit, capacity: Capacity? = nil) -> Double? {
        let scale = Double(unit.seconds)
        switch self {
        case .jobs: return Double(amounts.jobs)
        case .wallHours: return Double(amounts.wallSeconds) / scale
        case .coreHours: return Double(amounts.coreSeconds) / scale
        case .cpuHours:
            guard amounts.coreSecondsWithCPU > 0 || amounts.cpuSeconds > 0 else { return nil }
            return Double(amounts.cpuSeconds) / scale
        case .gpuHours: return Double(amounts.gpuSeconds) / scale
        case .memoryGBHours: return Double(amounts.memoryMiBSeconds) / 1024 / scale
        case .diskGBHours: return Double(amounts.diskMiBSeconds) / 1024 / scale
        case .efficiency:
            // Over the jobs whose CPU time is known only: unknown is not zero.
            guard amounts.coreSecondsWithCPU > 0 else { return nil }
            return Double(amounts.cpuSeconds) / Double(amounts.coreSecondsWithCPU) * 100
        case .waitHours:
            return Double(amounts.waitSeconds) / scale
        case .averageWaitHours:
            guard amounts.startedJobs > 0 else { return nil }
            return Double(amounts.waitSeconds) / Double(amounts.startedJobs) / scale
        case .averageCores:
            guard amounts.jobs > 0 else { return nil }
            return Double(amounts.jobCores) / Double(amounts.jobs)
        case .averageGPUs:
            guard amounts.jobs > 0 else { return nil }
            return Double(amounts.jobGPUs) / Double(amounts.jobs)
        case .benchmarkHours: return Double(amounts.benchmarkMilli) / 1000 / scale
        case .normalisedGPUHours: return Double(amounts.gpuWeightedMilli) / 1000 / scale
        // Rates are per hour whatever unit the time columns use.
        case .serviceUnits: return Double(amounts.chargeMilli) / 1000 / 3600
        case .coreUtilisation:
            guard let capacity, capacity.coreSeconds > 0 else { return nil }
            return Double(amounts.coreSeconds) / Double(capacity.coreSeconds) * 100
        case .gpuUtilisation:
            guard let capacity, capacity.gpuSeconds > 0 else { return nil }
            return Double(amounts.gpuSeconds) / Double(capacity.gpuSeconds) * 100
        }
    }

    /// Whether the figure is a whole number in this unit (counts, and everything in seconds).
    public func isIntegral(unit: TimeUnit) -> Bool {
        switch self {
        case .jobs: true
        case .wallHours, .coreHours, .cpuHours, .gpuHours, .waitHours: unit == .seconds
        default: false
        }
    }

    /// Decimal places shown when not integral.
    /// Whether the figure divides by configured capacity (which each row carries for its scope).
    public var needsCapacity: Bool { self == .coreUtilisation || self == .gpuUtilisation }

    public var places: Int {
        switch self {
        case .efficiency, .coreUtilisation, .gpuUtilisation, .averageCores, .averageGPUs: 1
        case .serviceUnits, .benchmarkHours, .normalisedGPUHours: 3
        default: 2
        }
    }
}

public enum TimeUnit: String, Sendable, CaseIterable, Codable {
    case seconds, minutes, hours

    public var seconds: Int64 {
        switch self {
        case .seconds: 1
        case .minutes: 60
        case .hours: 3600
        }
    }
}
