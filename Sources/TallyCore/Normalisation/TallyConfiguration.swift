/// Everything `tally.toml` says, parsed and validated. Applied to reports only: raw records are
/// never changed by it.
public struct TallyConfiguration: Sendable, Hashable {
    public var site: SiteSettings
    /// The benchmark's name as report columns show it (`HS23`, `HS06`, `si2k`).
    public var benchmarkKind: String
    public var benchmarks: [BenchmarkRule]
    public var gpuClasses: [GPUClassRule]
    public var chargeRates: [ChargeRate]
    public var aliases: [AliasRule]
    public var users: [String: UserEntry]
    public var resources: [ResourceEntry]
    /// Fair-share, priority and quota settings (read by policy commands, not by summaries).
    public var policy = PolicySettings()
    /// The file it came from, if any (for messages).
    public var path: String?

    public init(site: SiteSettings = SiteSettings(), benchmarkKind: String = "HS23", benchmarks: [BenchmarkRule] = [],
                gpuClasses: [GPUClassRule] = [], chargeRates: [ChargeRate] = [], aliases: [AliasRule] = [],
                users: [String: UserEntry] = [:], resources: [ResourceEntry] = [], path: String? = nil) {
        self.site = site; self.benchmarkKind = benchmarkKind; self.benchmarks = benchmarks
        self.gpuClasses = gpuClasses; self.chargeRates = chargeRates; self.aliases = aliases
        self.users = users; self.resources = resources; self.path = path
    }

    public static let empty = TallyConfiguration()

    /// Adds directory entries (from `tally users import`); entries written in the config win.
    public func merging(directory: [UserEntry]) -> TallyConfiguration {
        var merged = self
        for entry in directory where merged.users[entry.user] == nil { merged.users[entry.user] = entry }
        return merged
    }

    /// A stable hash of everything that changes summaries: rules and organisations, not where they
    /// are written, not comments, display names or capacities (those are applied at report time).
    public var fingerprint: UInt64 {
        var hash = StableHash()
        func validity(_ value: Validity) { hash.combine(value.from); hash.combine(value.until) }
        func match(_ value: RuleMatch) {
            for glob in [value.cluster, value.partition, value.qos, value.host] { hash.combine(glob?.pattern) }
        }
        hash.combine("benchmarks")
        for rule in benchmarks { match(rule.match); hash.combine(rule.scoreMilli); validity(rule.validity) }
        hash.combine("gpu classes")
        for rule in gpuClasses {
            for pattern in rule.patterns { hash.combine(pattern.pattern) }
            hash.combine(rule.className); hash.combine(rule.factorMilli); validity(rule.validity)
        }
        hash.combine("charge rates")
        for rate in chargeRates {
            match(rate.match)
            for value in [rate.perCoreHourMilli, rate.perGPUHourMilli, rate.perMemoryGiBHourMilli, rate.minimumMilli] {
                hash.combine(value)
            }
            for (name, value) in rate.perGPUClassHourMilli.sorted(by: { $0.key < $1.key }) {
                hash.combine(name); hash.combine(value)
            }
            validity(rate.validity)
        }
        hash.combine("aliases")
        for alias in aliases {
            hash.combine(alias.kind.rawValue); hash.combine(alias.from); hash.combine(alias.to); validity(alias.validity)
        }
        hash.combine("organisations")
        for (user, entry) in users.sorted(by: { $0.key < $1.key }) where entry.organisation != nil {
            hash.combine(user); hash.combine(entry.organisation)
        }
        return hash.value
    }

    public var fingerprintText: String {
        let hex = String(fingerprint, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// Whether no rule depends on a job's names or time: every job gets the same plan (no
    /// benchmark, GPU class, charge rate, alias or organisation).
    public var isNameIndependent: Bool {
        benchmarks.isEmpty && gpuClasses.isEmpty && chargeRates.isEmpty && aliases.isEmpty
            && !users.values.contains { $0.organisation != nil }
    }

    /// Whether any rule depends on the host a job ran on (then hosts are read from node lists).
    public var usesHosts: Bool {
        benchmarks.contains { $0.match.host != nil } || chargeRates.contains { $0.match.host != nil }
    }
}
