/// Report-level names of a job once aliases and the directory are applied.
public struct DerivedKeys: Sendable, Hashable {
    public var account: String
    public var group: String
    public var user: String
    /// "" for jobs without GPUs; `GPUClasses.unclassified` for models no rule names.
    public var gpuClass: String
    public var organisation: String
}

/// Names shown for GPUs that no `[[gpu_class]]` rule covers: reported, never dropped.
public enum GPUClasses {
    public static let unclassified = "(unclassified)"
    public static let noModel = "(no model)"
}

/// How one combination of job names is normalised over time: the instants where some rule
/// starts or stops applying, and what applies between them.
public struct RatePlan: Sendable, Hashable {
    public struct Piece: Sendable, Hashable {
        public var keys: DerivedKeys
        public var benchmark: BenchmarkRule?
        public var gpuClass: GPUClassRule?
        public var chargeRate: ChargeRate?
        public var aliases: [AliasRule]
        /// The figures above that each share needs, as plain integers: read per share of every
        /// job, where copying the rules (strings, dictionaries) would cost more than the sums.
        public let factors: ShareFactors

        public init(keys: DerivedKeys, benchmark: BenchmarkRule?, gpuClass: GPUClassRule?, chargeRate: ChargeRate?,
                    aliases: [AliasRule]) {
            self.keys = keys; self.benchmark = benchmark; self.gpuClass = gpuClass
            self.chargeRate = chargeRate; self.aliases = aliases
            factors = ShareFactors(
                scoreMilli: benchmark?.scoreMilli ?? 0, gpuFactorMilli: gpuClass?.factorMilli ?? 1000,
                charged: chargeRate != nil, perCoreHourMilli: chargeRate?.perCoreHourMilli ?? 0,
                perGPUHourMilli: chargeRate?.perGPUHourMilli(forClass: keys.gpuClass) ?? 0,
                perMemoryGiBHourMilli: chargeRate?.perMemoryGiBHourMilli ?? 0,
                minimumMilli: chargeRate?.minimumMilli ?? 0)
        }

        public var scoreMilli: Int64 { factors.scoreMilli }
        /// Unclassified GPUs weigh 1: their hours are shown as they are, under their own class.
        public var gpuFactorMilli: Int64 { factors.gpuFactorMilli }
    }

    /// One piece's benchmark score, GPU factor and charge rate (for its GPU class).
    public struct ShareFactors: Sendable, Hashable {
        public var scoreMilli: Int64
        public var gpuFactorMilli: Int64
        public var charged: Bool
        public var perCoreHourMilli: Int64
        public var perGPUHourMilli: Int64
        public var perMemoryGiBHourMilli: Int64
        public var minimumMilli: Int64

        /// SU × 1000 × seconds for raw amounts. Memory is charged per GiB: the division floors
        /// at most a 1/1024 of a milli-SU-second per share.
        @inlinable
        public func charge(_ amounts: UsageAmounts) -> Int64 {
            amounts.coreSeconds * perCoreHourMilli + amounts.gpuSeconds * perGPUHourMilli
                + amounts.memoryMiBSeconds * perMemoryGiBHourMilli / 1024
        }
    }

    /// Sorted; piece `i` covers `[boundaries[i-1], boundaries[i])`, the first and last open-ended.
    public var boundaries: [Int64]
    public var pieces: [Piece]

    /// The piece in force at `instant`.
    public func pieceIndex(at instant: Int64) -> Int {
        var low = 0, high = boundaries.count
        while low < high {
            let mid = (low + high) / 2
            if boundaries[mid] <= instant { low = mid + 1 } else { high = mid }
        }
        return low
    }

    public func range(ofPiece index: Int) -> Range<Int64> {
        (index == 0 ? Int64.min : boundaries[index - 1])..<(index == boundaries.count ? Int64.max : boundaries[index])
    }
}

/// Applies a configuration to job names: which benchmark, GPU class, charge rate, aliases and
/// organisation hold, and when each changes.
public struct Normaliser: Sendable {
    public let configuration: TallyConfiguration

    public init(_ configuration: TallyConfiguration) {
        self.configuration = configuration
    }

    public func plan(for subject: RuleSubject) -> RatePlan {
        let benchmarks = configuration.benchmarks.filter { $0.match.matches(subject) }
        let classes = subject.gpuModel.isEmpty ? [] : configuration.gpuClasses.filter { $0.matches(model: subject.gpuModel) }
        let rates = configuration.chargeRates.filter { $0.match.matches(subject) }
        let aliases = configuration.aliases.filter { alias in
            switch alias.kind {
            case .user: alias.from == subject.user
            case .group: alias.from == subject.group
            case .account: alias.from == subject.account
            }
        }
        var instants = Set<Int64>()
        for validity in benchmarks.map(\.validity) + classes.map(\.validity) + rates.map(\.validity)
            + aliases.map(\.validity) {
            instants.formUnion(validity.boundaries)
        }
        let boundaries = instants.sorted()
        var plan = RatePlan(boundaries: [], pieces: [])
        for index in 0...boundaries.count {
            // Any instant inside the piece tells what holds in all of it.
            let instant = index == 0 ? (boundaries.first.map { $0 - 1 } ?? 0) : boundaries[index - 1]
            let piece = resolve(subject, at: instant, benchmarks: benchmarks, classes: classes, rates: rates,
                                aliases: aliases)
            if let last = plan.pieces.last, last == piece {
                continue
            }
            if index > 0 { plan.boundaries.append(boundaries[index - 1]) }
            plan.pieces.append(piece)
        }
        return plan
    }

    private func resolve(_ subject: RuleSubject, at instant: Int64, benchmarks: [BenchmarkRule],
                         classes: [GPUClassRule], rates: [ChargeRate], aliases: [AliasRule]) -> RatePlan.Piece {
        let benchmark = Self.mostSpecific(benchmarks.filter { $0.validity.contains(instant) }, \.match)
        let rate = Self.mostSpecific(rates.filter { $0.validity.contains(instant) }, \.match)
        let gpuClass = classes.first { $0.validity.contains(instant) }
        var applied: [AliasRule] = []
        func alias(_ kind: AliasKind, _ name: String) -> String {
            guard let rule = aliases.first(where: { $0.kind == kind && $0.validity.contains(instant) }) else { return name }
            applied.append(rule)
            return rule.to
        }
        let user = alias(.user, subject.user)
        let group = alias(.group, subject.group)
        let account = alias(.account, subject.account)
        let directory = configuration.users
        let organisation = directory[user]?.organisation ?? directory[subject.user]?.organisation ?? ""
        let className: String
        if let gpuClass {
            className = gpuClass.className
        } else {
            className = subject.gpuModel.isEmpty ? GPUClasses.noModel : GPUClasses.unclassified
        }
        let keys = DerivedKeys(account: account, group: group, user: user, gpuClass: className,
                               organisation: organisation)
        return RatePlan.Piece(keys: keys, benchmark: benchmark, gpuClass: gpuClass, chargeRate: rate, aliases: applied)
    }

    /// The rule with the most matchers set; the first written wins a tie.
    static func mostSpecific<Rule>(_ rules: [Rule], _ match: KeyPath<Rule, RuleMatch>) -> Rule? {
        var best: Rule?
        var bestScore = -1
        for rule in rules where rule[keyPath: match].specificity > bestScore {
            best = rule
            bestScore = rule[keyPath: match].specificity
        }
        return best
    }
}
