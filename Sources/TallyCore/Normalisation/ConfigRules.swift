import Foundation
/// What a rule can match a job on. Unset matchers match anything; a rule with more set
/// matchers is more specific and wins over a less specific one.
public struct RuleMatch: Sendable, Hashable, CustomStringConvertible {
    public var cluster: Glob?
    public var partition: Glob?
    public var qos: Glob?
    public var host: Glob?

    public init(cluster: Glob? = nil, partition: Glob? = nil, qos: Glob? = nil, host: Glob? = nil) {
        self.cluster = cluster; self.partition = partition; self.qos = qos; self.host = host
    }

    public var specificity: Int { [cluster, partition, qos, host].compactMap { $0 }.count }

    public func matches(_ subject: RuleSubject) -> Bool {
        if let cluster, !cluster.matches(subject.cluster) { return false }
        if let partition, !partition.matches(subject.partition) { return false }
        if let qos, !qos.matches(subject.qos) { return false }
        if let host, !host.matches(subject.host) { return false }
        return true
    }

    public var description: String {
        let parts = [("cluster", cluster), ("partition", partition), ("qos", qos), ("host", host)]
            .compactMap { name, glob in glob.map { "\(name)=\($0.pattern)" } }
        return parts.isEmpty ? "any job" : parts.joined(separator: " ")
    }
}

/// The names of a job that configuration rules look at.
public struct RuleSubject: Sendable, Hashable {
    public var cluster: String
    public var partition: String
    public var qos: String
    /// The first host the job ran on ("" when unknown).
    public var host: String
    public var gpuModel: String
    public var user: String
    public var group: String
    public var account: String

    public init(cluster: String = "", partition: String = "", qos: String = "", host: String = "",
                gpuModel: String = "", user: String = "", group: String = "", account: String = "") {
        self.cluster = cluster; self.partition = partition; self.qos = qos; self.host = host
        self.gpuModel = gpuModel; self.user = user; self.group = group; self.account = account
    }
}

/// A CPU benchmark score per core (HEPSPEC06, HEPscore23, SpecInt2000…) for matching jobs.
public struct BenchmarkRule: Sendable, Hashable {
    public var match: RuleMatch
    /// Score per core, in thousandths (17.245 → 17245): products with seconds stay exact integers.
    public var scoreMilli: Int64
    public var validity: Validity
    /// Where the rule is in the config file (for `config check` and `--explain`).
    public var line: Int

    public init(match: RuleMatch, scoreMilli: Int64, validity: Validity = .always, line: Int = 0) {
        self.match = match; self.scoreMilli = scoreMilli; self.validity = validity; self.line = line
    }
}

/// GPU models (by pattern) grouped into a class with a weight relative to the reference class.
public struct GPUClassRule: Sendable, Hashable {
    public var patterns: [Glob]
    public var className: String
    public var factorMilli: Int64
    public var validity: Validity
    public var line: Int
    /// What APEL accelerator records carry when known: cores per GPU, and a benchmark score.
    public var acceleratorCores: Int64?
    public var benchmarkMilli: Int64?
    public var benchmarkType: String?

    public init(patterns: [Glob], className: String, factorMilli: Int64, validity: Validity = .always, line: Int = 0,
                acceleratorCores: Int64? = nil, benchmarkMilli: Int64? = nil, benchmarkType: String? = nil) {
        self.patterns = patterns; self.className = className; self.factorMilli = factorMilli
        self.validity = validity; self.line = line
        self.acceleratorCores = acceleratorCores; self.benchmarkMilli = benchmarkMilli; self.benchmarkType = benchmarkType
    }

    public func matches(model: String) -> Bool { patterns.contains { $0.matches(model) } }
}

/// Service units charged for matching jobs; all rates in thousandths of an SU.
public struct ChargeRate: Sendable, Hashable {
    public var name: String
    public var match: RuleMatch
    public var perCoreHourMilli: Int64
    public var perGPUHourMilli: Int64
    /// Per GPU-hour for GPUs of a given class, instead of `perGPUHourMilli`.
    public var perGPUClassHourMilli: [String: Int64]
    /// Per GiB-hour of allocated memory.
    public var perMemoryGiBHourMilli: Int64
    /// The least a job that ran is charged, in SU.
    public var minimumMilli: Int64
    public var validity: Validity
    public var line: Int

    public init(name: String = "", match: RuleMatch, perCoreHourMilli: Int64 = 0, perGPUHourMilli: Int64 = 0,
                perGPUClassHourMilli: [String: Int64] = [:], perMemoryGiBHourMilli: Int64 = 0,
                minimumMilli: Int64 = 0, validity: Validity = .always, line: Int = 0) {
        self.name = name; self.match = match; self.perCoreHourMilli = perCoreHourMilli
        self.perGPUHourMilli = perGPUHourMilli; self.perGPUClassHourMilli = perGPUClassHourMilli
        self.perMemoryGiBHourMilli = perMemoryGiBHourMilli; self.minimumMilli = minimumMilli
        self.validity = validity; self.line = line
    }

    public func perGPUHourMilli(forClass gpuClass: String) -> Int64 {
        perGPUClassHourMilli[gpuClass] ?? perGPUHourMilli
    }
}

/// Which name an alias rewrites. VOs and projects are accounts in Tally's model.
public enum AliasKind: String, Sendable, Hashable, CaseIterable {
    case user, group, account

    public init?(configName: String) {
        switch configName.lowercased() {
        case "user": self = .user
        case "group": self = .group
        case "account", "vo", "project": self = .account
        default: return nil
        }
    }
}

/// Reports show `to` wherever the source said `from` (during `validity`); raw records keep `from`.
public struct AliasRule: Sendable, Hashable {
    public var kind: AliasKind
    public var from: String
    public var to: String
    public var validity: Validity
    public var line: Int

    public init(kind: AliasKind, from: String, to: String, validity: Validity = .always, line: Int = 0) {
        self.kind = kind; self.from = from; self.to = to; self.validity = validity; self.line = line
    }
}

/// A person behind a user name, for display names and `--by organisation`.
public struct UserEntry: Sendable, Hashable {
    public var user: String
    public var name: String?
    public var email: String?
    public var organisation: String?
    /// Directory groups the user is a member of (from LDAP), by name, sorted.
    public var groups: [String]
    /// The user's PI or manager (LDAP `manager`), by user name.
    public var pi: String?

    public init(user: String, name: String? = nil, email: String? = nil, organisation: String? = nil,
                groups: [String] = [], pi: String? = nil) {
        self.user = user; self.name = name; self.email = email; self.organisation = organisation
        self.groups = groups; self.pi = pi
    }

    /// Groups as one column stores them (group names hold no commas: POSIX and LDAP cn's alike).
    public var groupsColumn: String? { groups.isEmpty ? nil : groups.joined(separator: ",") }

    public static func groups(column: String?) -> [String] {
        (column ?? "").split(separator: ",").map(String.init)
    }
}

/// What a cluster or partition offers, while the hardware is in service.
public struct ResourceEntry: Sendable, Hashable {
    public var cluster: String
    /// nil: the whole cluster.
    public var partition: String?
    public var cores: Int64
    /// GPUs by model ("" when the model is not said).
    public var gpus: [String: Int64]
    public var nodes: Int64
    public var validity: Validity
    public var line: Int

    public init(cluster: String, partition: String? = nil, cores: Int64, gpus: [String: Int64] = [:], nodes: Int64 = 0,
                validity: Validity = .always, line: Int = 0) {
        self.cluster = cluster; self.partition = partition; self.cores = cores; self.gpus = gpus
        self.nodes = nodes; self.validity = validity; self.line = line
    }

    public var totalGPUs: Int64 { gpus.values.reduce(0, +) }
}

/// `[site]`: who we are, and defaults for commands.
public struct SiteSettings: Sendable, Hashable {
    public var name: String?
    public var cluster: String?
    public var timeZone: String?

    public init(name: String? = nil, cluster: String? = nil, timeZone: String? = nil) {
        self.name = name; self.cluster = cluster; self.timeZone = timeZone
    }

    /// The zone every answer uses when a request names none (CLI, API, dashboard, policy): the
    /// site's `timezone`, else UTC. One rule, so the same question gets the same answer everywhere.
    public var zone: TimeZone { timeZone.flatMap(TimeZone.init(identifier:)) ?? TimeZone(identifier: "UTC")! }

    /// `name` if given (nil when it is no IANA zone), else the site's zone.
    public func zone(named name: String?) -> TimeZone? {
        guard let name, !name.isEmpty else { return zone }
        return TimeZone(identifier: name)
    }
}
