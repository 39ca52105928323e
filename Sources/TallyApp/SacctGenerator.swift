import TallyCore

/// Writes realistic `sacct --parsable2` output, deterministically from a seed: job rows with
/// `.batch`, `.extern` and srun steps, array tasks, GPU jobs with typed GRES, every common state,
/// requeued runs, running and pending jobs. For benchmarks and property tests.
public struct SacctGenerator {
    /// How names and times are drawn.
    public enum Shape: String, Sendable, CaseIterable {
        /// Tally's original workload: each user runs under one or two accounts, three
        /// partitions, submit times in order.
        case ordered
        /// Closer to a real centre (issue 17): any user runs under any account, five
        /// partitions, 600 nodes, submit times at random over the whole span (not in order),
        /// wall times up to three days, so jobs span days and names come in hundreds of
        /// thousands of combinations.
        case highCardinality = "high-cardinality"
    }

    /// The field list of formats-and-policies §1.6 (the recommended invocation without DBIndex).
    public static let fields = [
        "JobID", "JobIDRaw", "JobName", "User", "Group", "Account", "Partition", "QOS", "Cluster", "Submit",
        "Eligible", "Start", "End", "Elapsed", "ElapsedRaw", "CPUTimeRAW", "TotalCPU", "NCPUS", "NNodes",
        "NodeList", "AllocTRES", "ReqTRES", "TRESUsageInTot", "MaxRSS", "ReqMem", "State", "ExitCode",
    ]

    public var header: String { Self.fields.joined(separator: "|") }

    private var rng: UInt64
    private let start: Int64
    private let span: Int64
    private let users: Int
    private let accounts: Int
    private let shape: Shape
    private var nextID = 1_000_000
    /// Submit times advance through the span as sacct prints jobs: in id (submit) order.
    private var clock: Int64
    private let expectedJobs: Int
    public private(set) var jobsWritten = 0
    public private(set) var linesWritten = 0
    /// Seconds since the epoch at which "now" is for running jobs.
    public let captureTime: Int64

    public init(seed: UInt64 = 42, start: Int64 = 1_704_067_200, days: Int = 365, users: Int = 500, accounts: Int = 60,
                expectedJobs: Int = 1_000_000, shape: Shape = .ordered) {
        self.shape = shape
        self.clock = start
        self.expectedJobs = max(1, expectedJobs)
        rng = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        self.start = start
        self.span = Int64(days) * 86_400
        self.users = users
        self.accounts = accounts
        self.captureTime = start + span + 86_400
    }

    private mutating func next() -> UInt64 {
        rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17
        return rng
    }

    private mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    /// Appends one job (and its steps) to `out`; returns the number of lines written.
    @discardableResult
    public mutating func appendJob(to out: inout [UInt8]) -> Int {
        let id = nextID
        nextID += 1
        let user = below(users)
        let highCardinality = shape == .highCardinality
        // Draws stay in the original order for `.ordered`, so its output is unchanged.
        let account = highCardinality ? below(accounts) : (user * 7 + below(2)) % accounts
        let roll = below(100)
        let partition = highCardinality
            ? (roll < 45 ? "cpu" : roll < 65 ? "gpu" : roll < 80 ? "short" : roll < 92 ? "long" : "largemem")
            : (roll < 70 ? "cpu" : roll < 90 ? "gpu" : "largemem")
        let cores = [1, 1, 2, 4, 8, 16, 32, 64, 128][below(9)]
        let nodes = cores > 64 ? 2 : 1
        let gpus = partition == "gpu" ? [1, 1, 2, 4, 8][below(5)] : 0
        let model = ["a100", "v100", "h100"][below(3)]
        let memoryMiB = cores * (partition == "largemem" ? 16_000 : 4_000)
        let submit: Int64
        if highCardinality {
            submit = start + Int64(next() % UInt64(span))
        } else {
            clock += Int64(next() % UInt64(max(1, 2 * span / Int64(expectedJobs)) + 1))
            submit = min(clock, start + span)
        }
        let wait = Int64(below(3600))
        let wall: Int64
        if highCardinality {
            // 0 s to 3 days, most of them short: a uniform draw within a random scale.
            let scale = [60, 900, 3600, 6 * 3600, 24 * 3600, 72 * 3600][below(6)]
            wall = Int64(below(scale + 1))
        } else {
            wall = Int64([60, 600, 3600, 4 * 3600, 24 * 3600, 72 * 3600][below(6)]) * Int64(1 + below(100)) / 100 + 1
        }
        let nodeCount = highCardinality ? 600 : 900
        let qos = highCardinality ? ["normal", "normal", "normal", "high", "low", "debug"][below(6)] : "normal"
        let stateRoll = below(1000)
        let state: String
        switch stateRoll {
        case ..<750: state = "COMPLETED"
        case ..<850: state = "FAILED"
        case ..<900: state = "CANCELLED by \(10_000 + user)"
        case ..<950: state = "TIMEOUT"
        case ..<970: state = "OUT_OF_MEMORY"
        case ..<980: state = "NODE_FAIL"
        case ..<990: state = "REQUEUED"
        case ..<995: state = "RUNNING"
        default: state = "PENDING"
        }
        let isArray = below(10) == 0
        let jobID = isArray ? "\(id - below(50))_\(below(1000))" : "\(id)"
        let startTime: Int64? = state == "PENDING" ? nil : submit + wait
        let running = state == "RUNNING"
        let elapsed: Int64 = startTime == nil ? 0 : (running ? min(wall, captureTime - startTime!) : wall)
        let endTime: Int64? = startTime == nil || running ? nil : startTime! + elapsed
        let cpuUsed = elapsed * Int64(cores) * Int64(20 + below(80)) / 100
        var alloc = "billing=\(cores + 2 * gpus),cpu=\(cores)"
        if gpus > 0 { alloc += ",gres/gpu:\(model)=\(gpus),gres/gpu=\(gpus)" }
        alloc += ",mem=\(memoryMiB)M,node=\(nodes)"
        let request = alloc
        if startTime == nil { alloc = "" }
        let exit = state == "COMPLETED" ? "0:0" : state.hasPrefix("CANCELLED") ? "0:15" : "1:0"
        let userName = "user\(user)"
        let nodeList = startTime == nil ? "None assigned"
            : nodes == 1 ? "n\(below(nodeCount))"
            : highCardinality ? "n[\(below(nodeCount / 2))-\(nodeCount / 2 + 1 + below(nodeCount / 2 - 1))]"
            : "n[\(below(400))-\(401 + below(400))]"

        var lines = 0
        func line(_ fields: [String]) {
            for (index, field) in fields.enumerated() {
                if index > 0 { out.append(UInt8(ascii: "|")) }
                out.append(contentsOf: field.utf8)
            }
            out.append(UInt8(ascii: "\n"))
            lines += 1
        }
        func time(_ value: Int64?) -> String { value.map(Self.format) ?? "Unknown" }
        line([jobID, "\(id)", "job\(id % 977)", userName, highCardinality ? "grp\(user / 9)" : "grp\(account)", "acct\(account)", partition, qos,
              "bench", Self.format(submit), Self.format(submit), time(startTime), time(endTime),
              Self.duration(elapsed), "\(elapsed)", "\(elapsed * Int64(cores))", Self.duration(cpuUsed),
              startTime == nil ? "0" : "\(cores)", "\(nodes)", nodeList, alloc, request, "", "", "\(memoryMiB)M",
              state, exit])
        if let startTime {
            var steps = ["batch", "extern"]
            for index in 0..<below(3) { steps.append("\(index)") }
            for step in steps {
                let rss = Int64(memoryMiB) * 1_048_576 * Int64(10 + below(80)) / 100
                let stepState = running ? "RUNNING" : (step == "extern" ? "COMPLETED" : state.hasPrefix("CANCELLED") ? "CANCELLED" : state)
                line(["\(jobID).\(step)", "\(id).\(step)", step, "", "", "acct\(account)", "", "", "bench",
                      Self.format(startTime), Self.format(startTime), Self.format(startTime), time(endTime),
                      Self.duration(elapsed), "\(elapsed)", "\(elapsed * Int64(cores))",
                      Self.duration(step == "extern" ? 0 : cpuUsed / Int64(steps.count)), "\(cores)", "\(nodes)",
                      nodeList, "cpu=\(cores),mem=\(memoryMiB)M,node=\(nodes)", "",
                      "cpu=00:00:01,energy=0,fs/disk=0,mem=\(rss),pages=0,vmem=0", "\(rss)", "", stepState, exit])
            }
        }
        jobsWritten += 1
        linesWritten += lines
        return lines
    }

    static func format(_ epoch: Int64) -> String {
        let day = UTCDay.of(epoch)
        let (y, m, d) = UTCDay.toCivil(day)
        let seconds = epoch - day * 86_400
        return "\(y)-\(pad(m))-\(pad(d))T\(pad(seconds / 3600)):\(pad(seconds / 60 % 60)):\(pad(seconds % 60))"
    }

    static func duration(_ seconds: Int64) -> String {
        let days = seconds / 86_400
        let rest = seconds % 86_400
        let clock = "\(pad(rest / 3600)):\(pad(rest / 60 % 60)):\(pad(rest % 60))"
        return days > 0 ? "\(days)-\(clock)" : clock
    }

    private static func pad(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
}
