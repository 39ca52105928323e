/// What `tally.toml` says about policy: the share tree and decay for fair-share, HTCondor's
/// accountant settings, and the group-quota tree. Policy reads records; it never changes them or
/// the summaries, so none of this is part of the configuration's fingerprint.
public struct PolicySettings: Sendable, Hashable {
    public var fairShare = FairShareSettings()
    public var shares: [ShareEntry] = []
    public var priority = CondorPrioritySettings()
    public var quota = QuotaSettings()
    public var quotaGroups: [QuotaGroupEntry] = []

    public init() {}
}

/// Slurm's priority/multifactor settings that fair-share depends on.
public struct FairShareSettings: Sendable, Hashable {
    /// `PriorityDecayHalfLife` in seconds; 0 means no decay.
    public var halfLife: Double = 604_800
    /// `FairShareDampeningFactor` (classic algorithm).
    public var dampening: Double = 1
    /// What a running second costs: Slurm's billing TRES (cores when the record has none), or cores.
    public var usage: UsageBasis = .billing

    public enum UsageBasis: String, Sendable, Hashable, CaseIterable {
        case billing, cores
    }

    public init() {}
}

/// One association of the share tree, as `sacctmgr show assoc` lists it: an account under its
/// parent, or a user under an account.
public struct ShareEntry: Sendable, Hashable {
    public var account: String
    public var user: String?
    /// The parent account of an account association (root when unset); ignored for users.
    public var parent: String?
    /// Raw shares; nil for `FairShare=parent`.
    public var shares: Int64?

    public init(account: String, user: String? = nil, parent: String? = nil, shares: Int64?) {
        self.account = account; self.user = user; self.parent = parent; self.shares = shares
    }
}

/// HTCondor's accountant: half-life and priority factors.
public struct CondorPrioritySettings: Sendable, Hashable {
    /// `PRIORITY_HALFLIFE` in seconds.
    public var halfLife: Double = 86_400
    /// `DEFAULT_PRIO_FACTOR`.
    public var defaultFactor: Double = 1000
    /// Per-submitter factors (`condor_userprio -setfactor`).
    public var factors: [String: Double] = [:]
    /// `GROUP_PRIO_FACTOR_<group>`: the default factor of a group's submitters.
    public var groupFactors: [String: Double] = [:]
    /// The floor of real priority (`MinPriority`).
    public var minimum: Double = 0.5

    public init() {}
}

/// HTCondor's hierarchical group quota knobs.
public struct QuotaSettings: Sendable, Hashable {
    /// The pool size in weighted slots (cores); nil: from the `[[resource]]` capacity at the time.
    public var pool: Double?
    /// `NEGOTIATOR_ALLOW_QUOTA_OVERSUBSCRIPTION` (default true).
    public var allowOversubscription = true
    /// `NEGOTIATOR_STRICT_ENFORCE_QUOTA` (default true).
    public var strictEnforcement = true

    public init() {}
}

/// `GROUP_NAMES` entry with its quota: `group_physics.hep` is a sub-group of `group_physics`.
public struct QuotaGroupEntry: Sendable, Hashable {
    public var name: String
    /// `GROUP_QUOTA_<g>`: weighted slots.
    public var staticQuota: Double?
    /// `GROUP_QUOTA_DYNAMIC_<g>`: a fraction of the parent's quota.
    public var dynamicQuota: Double?
    /// `GROUP_ACCEPT_SURPLUS_<g>`.
    public var acceptSurplus: Bool
    public var line: Int

    public init(name: String, staticQuota: Double? = nil, dynamicQuota: Double? = nil, acceptSurplus: Bool = false, line: Int = 0) {
        self.name = name; self.staticQuota = staticQuota; self.dynamicQuota = dynamicQuota
        self.acceptSurplus = acceptSurplus; self.line = line
    }
}
