/// The figures a usage report shows, as data: name, unit and how to compute from amounts.
public enum Metric: String, Sendable, CaseIterable, Codable {
    case jobs
    case wallHours = "wall_hours"
    case coreHours = "core_hours"
    case cpuHours = "cpu_hours"
    case gpuHours = "gpu_hours"
    case memoryGBHours = "mem_gb_hours"
    case efficiency

    /// The column title for a time unit (`core_hours`, `core_seconds`, …).
    public func title(unit: TimeUnit) -> String {
        switch self {
        case .jobs, .efficiency: rawValue
        default: rawValue.replacingOccurrences(of: "_hours", with: "_\(unit.rawValue)")
        }
    }

    /// The value in `unit`; `nil` when undefined (efficiency with no core time).
    public func value(_ amounts: UsageAmounts, unit: TimeUnit) -> Double? {
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
        case .efficiency:
            // Over the jobs whose CPU time is known only: unknown is not zero.
            guard amounts.coreSecondsWithCPU > 0 else { return nil }
            return Double(amounts.cpuSeconds) / Double(amounts.coreSecondsWithCPU) * 100
        }
    }

    /// Whether the figure is a whole number in this unit (counts, and everything in seconds).
    public func isIntegral(unit: TimeUnit) -> Bool {
        switch self {
        case .jobs: true
        case .efficiency, .memoryGBHours: false
        default: unit == .seconds
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
