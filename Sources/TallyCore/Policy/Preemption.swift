/// Which running jobs to evict so that a group gets `need` cores back, under each strategy a
/// pool might use. No job of the group itself is a candidate, nor one that has not yet run its
/// guaranteed minimum.
public struct PreemptionPlanner: Sendable {
    public enum Strategy: String, Sendable, CaseIterable, Codable {
        /// HTCondor's PREEMPTION_RANK: the submitter with the worst effective priority first,
        /// then the job that has run least.
        case priority
        /// The groups furthest over their quota first, then the job that has run least.
        case quota
        /// The least work lost (cores × time run so far) first.
        case badput
    }

    public struct RunningJob: Sendable, Hashable, Codable {
        public var jobID: String
        public var user: String
        public var submitter: String
        public var group: String
        public var cores: Int64
        public var start: Int64

        public init(jobID: String, user: String, submitter: String, group: String, cores: Int64, start: Int64) {
            self.jobID = jobID; self.user = user; self.submitter = submitter; self.group = group
            self.cores = cores; self.start = start
        }
    }

    public struct Candidate: Sendable, Hashable, Codable {
        public var job: RunningJob
        public var runSeconds: Int64
        /// Core-seconds of work lost if evicted now.
        public var badputCoreSeconds: Int64
        public var effectivePriority: Double
        /// Group usage minus its quota, in cores.
        public var groupOverQuota: Double
    }

    public struct Plan: Sendable, Hashable, Codable {
        public var strategy: Strategy
        public var evict: [Candidate]
        public var freedCores: Int64
        public var badputCoreSeconds: Int64
        /// Whether the candidates free enough cores.
        public var satisfied: Bool
    }

    public var at: Int64
    public var need: Int64
    public var forGroup: String
    public var minimumRuntime: Int64

    public init(at: Int64, need: Int64, forGroup: String, minimumRuntime: Int64) {
        self.at = at; self.need = need; self.forGroup = forGroup; self.minimumRuntime = minimumRuntime
    }

    public func plans(running: [RunningJob], effectivePriority: [String: Double], overQuota: [String: Double],
                      strategies: [Strategy] = Strategy.allCases) -> [Plan] {
        let candidates = running.filter { $0.group != forGroup && at - $0.start >= minimumRuntime && $0.cores > 0 }.map { job in
            Candidate(job: job, runSeconds: at - job.start, badputCoreSeconds: (at - job.start) * job.cores,
                      effectivePriority: effectivePriority[job.submitter] ?? 0, groupOverQuota: overQuota[job.group] ?? 0)
        }
        return strategies.map { strategy in
            var ordered: [Candidate]
            switch strategy {
            case .priority:
                ordered = candidates.sorted {
                    ($1.effectivePriority, $0.runSeconds, $0.job.jobID) < ($0.effectivePriority, $1.runSeconds, $1.job.jobID)
                }
            case .quota:
                // Only groups above their quota give cores back under this strategy.
                ordered = candidates.filter { $0.groupOverQuota > 0 }.sorted {
                    ($1.groupOverQuota, $0.runSeconds, $0.job.jobID) < ($0.groupOverQuota, $1.runSeconds, $1.job.jobID)
                }
            case .badput:
                ordered = candidates.sorted {
                    ($0.badputCoreSeconds, $0.job.jobID) < ($1.badputCoreSeconds, $1.job.jobID)
                }
            }
            var evict: [Candidate] = []
            var freed: Int64 = 0
            for candidate in ordered where freed < need {
                evict.append(candidate)
                freed += candidate.job.cores
            }
            return Plan(strategy: strategy, evict: evict, freedCores: freed,
                        badputCoreSeconds: evict.reduce(0) { $0 + $1.badputCoreSeconds }, satisfied: freed >= need)
        }
    }
}
