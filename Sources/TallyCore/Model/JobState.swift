/// A job's accounting state, normalised across schedulers.
///
/// The raw text the source printed is kept on the record; this is the meaning Tally acts on.
public enum JobState: String, Sendable, Hashable, CaseIterable, Codable {
    case pending, running, suspended, completing, requeued, resizing
    case completed, cancelled, failed, timeout, nodeFail = "node_fail", preempted
    case outOfMemory = "out_of_memory", bootFail = "boot_fail", deadline, revoked
    case specialExit = "special_exit"
    case unknown

    /// How final a state is: a record may only be replaced by one at least as final.
    public var finality: Int {
        switch self {
        case .pending: 0
        case .running, .suspended, .completing, .resizing, .unknown: 1
        default: 2
        }
    }

    /// Parses a Slurm state name, short code, or `CANCELLED by <uid>` form.
    public init(slurmName raw: String) {
        let word = raw.firstIndex(of: " ").map { raw[..<$0] } ?? raw[...]
        let canonical = word.utf8.allSatisfy { $0 < UInt8(ascii: "a") || $0 > UInt8(ascii: "z") }
        self.init(canonical: canonical ? String(word) : word.uppercased())
    }

    private init(canonical word: String) {
        switch word {
        case "PENDING", "PD", "REQUEUE_HOLD", "REQUEUE_FED", "RH", "RF", "CONFIGURING", "CF": self = .pending
        case "RUNNING", "R", "SIGNALING", "SI", "STAGE_OUT", "SO", "UPDATE_DB", "UD": self = .running
        case "SUSPENDED", "S", "STOPPED", "ST": self = .suspended
        case "COMPLETING", "CG": self = .completing
        case "COMPLETED", "CD": self = .completed
        case "CANCELLED", "CA": self = .cancelled
        case "FAILED", "F": self = .failed
        case "TIMEOUT", "TO": self = .timeout
        case "NODE_FAIL", "NF": self = .nodeFail
        case "PREEMPTED", "PR": self = .preempted
        case "OUT_OF_MEMORY", "OOM": self = .outOfMemory
        case "BOOT_FAIL", "BF": self = .bootFail
        case "DEADLINE", "DL": self = .deadline
        case "REQUEUED", "RQ": self = .requeued
        case "RESIZING", "RS": self = .resizing
        case "REVOKED", "RV": self = .revoked
        case "SPECIAL_EXIT", "SE": self = .specialExit
        default: self = .unknown
        }
    }
}
