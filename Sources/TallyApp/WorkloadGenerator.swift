import TallyCore

/// Deterministic synthetic jobs written as PBS/Torque accounting records or HTCondor history ads,
/// for benchmarks: realistic sizes, queues, exit states and GPUs, in submit order.
public struct WorkloadGenerator {
    private var rng: UInt64
    private var clock: Int64
    private let step: Int64
    private var nextID = 100_000

    public init(seed: UInt64 = 7, start: Int64 = 1_704_067_200, days: Int = 365, expectedJobs: Int = 1_000_000) {
        rng = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        clock = start
        step = max(1, 2 * Int64(days) * 86_400 / Int64(max(1, expectedJobs)))
    }

    private mutating func next() -> UInt64 {
        rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17
        return rng
    }

    private mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    struct Job {
        var id: Int, user: Int, group: Int, queue: String, submit: Int64, start: Int64, end: Int64
        var cores: Int, gpus: Int, memoryMiB: Int, cpu: Int64, exit: Int, nodes: Int
    }

    private mutating func job() -> Job {
        clock += Int64(next() % UInt64(step + 1))
        let id = nextID
        nextID += 1
        let user = below(500)
        let queue = ["batch", "batch", "batch", "gpu", "long"][below(5)]
        let cores = [1, 1, 2, 4, 8, 16, 32, 64][below(8)]
        let start = clock + Int64(below(3600))
        let wall = Int64([60, 600, 3600, 4 * 3600, 24 * 3600][below(5)]) * Int64(1 + below(100)) / 100 + 1
        let exit = [0, 0, 0, 0, 0, 0, 0, 1, 271, -29][below(10)]
        return Job(id: id, user: user, group: (user * 7) % 60, queue: queue, submit: clock, start: start,
                   end: start + wall, cores: cores, gpus: queue == "gpu" ? 1 + below(4) : 0,
                   memoryMiB: cores * 4000, cpu: wall * Int64(cores) * Int64(20 + below(80)) / 100,
                   exit: exit, nodes: cores > 32 ? 2 : 1)
    }

    private static func clockText(_ seconds: Int64) -> String {
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(two(seconds / 3600)):\(two(seconds / 60 % 60)):\(two(seconds % 60))"
    }

    /// One Torque/PBS Pro `E` record (and, for one job in ten, its `S` record before it).
    public mutating func appendPBS(to out: inout [UInt8]) {
        let job = job()
        let (y, m, d) = UTCDay.toCivil(UTCDay.of(job.end))
        let secondOfDay = job.end - UTCDay.of(job.end) * 86_400
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let stamp = "\(two(m))/\(two(d))/\(y) \(Self.clockText(secondOfDay))"
        var hosts: [String] = []
        let perNode = job.cores / job.nodes
        for node in 0..<job.nodes { hosts.append("n\(100 + (job.id + node) % 800)/0*\(perNode)") }
        let gpu = job.gpus > 0 ? ":ngpus=\(job.gpus)" : ""
        let vnodes = hosts.map { "(\($0.split(separator: "/")[0]):ncpus=\(perNode):mem=\(job.memoryMiB * 1024 / job.nodes)kb\(gpu))" }
        if job.id % 10 == 0 {
            out += Array("\(stamp);S;\(job.id).pbs01;user=u\(job.user) group=g\(job.group) queue=\(job.queue) ctime=\(job.submit) start=\(job.start) exec_host=\(hosts.joined(separator: "+"))\n".utf8)
        }
        let hostList: String = hosts.joined(separator: "+")
        let vnodeList: String = vnodes.joined(separator: "+")
        var line: String = "\(stamp);E;\(job.id).pbs01;user=u\(job.user) group=g\(job.group) account=\"acct \(job.group)\" "
        line += "jobname=job\(job.id % 97) queue=\(job.queue) ctime=\(job.submit) qtime=\(job.submit) etime=\(job.submit) "
        line += "start=\(job.start) exec_host=\(hostList) exec_vnode=\(vnodeList) "
        line += "Resource_List.ncpus=\(job.cores) Resource_List.mem=\(job.memoryMiB)mb Resource_List.walltime=48:00:00 "
        line += "session=\(job.id % 30_000) end=\(job.end) Exit_status=\(job.exit) resources_used.cput=\(Self.clockText(job.cpu)) "
        line += "resources_used.mem=\(job.memoryMiB * 512)kb resources_used.ncpus=\(job.cores) "
        line += "resources_used.walltime=\(Self.clockText(job.end - job.start)) run_count=1\n"
        out += Array(line.utf8)
    }

    /// One `condor_history -l` ad and its `***` banner.
    public mutating func appendClassAd(to out: inout [UInt8]) {
        let job = job()
        let status = job.exit == 271 ? 3 : 4
        out += Array(("""
            AcctGroup = "group_g\(job.group)"
            AcctGroupUser = "u\(job.user)"
            ClusterId = \(job.id)
            CompletionDate = \(status == 4 ? job.end : 0)
            CpusProvisioned = \(job.cores)
            EnteredCurrentStatus = \(job.end)
            ExitCode = \(max(0, job.exit))
            GlobalJobId = "ap1.example.org#\(job.id).0#\(job.submit)"
            GPUsProvisioned = \(job.gpus)
            JobCurrentStartDate = \(job.start)
            JobStartDate = \(job.start)
            JobStatus = \(status)
            LastRemoteHost = "slot1_\(job.id % 64)@node\(job.id % 800).example.org"
            MemoryProvisioned = \(job.memoryMiB)
            NumJobStarts = 1
            Owner = "u\(job.user)"
            ProcId = 0
            QDate = \(job.submit)
            RemoteSysCpu = \(job.cpu / 20).0
            RemoteUserCpu = \(job.cpu - job.cpu / 20).0
            RemoteWallClockTime = \(job.end - job.start).0
            RequestCpus = \(job.cores)
            RequestMemory = \(job.memoryMiB)
            *** Offset = 0 ClusterId = \(job.id) ProcId = 0 Owner = "u\(job.user)" CompletionDate = \(job.end)

            """).utf8)
    }

    /// One Grid Engine accounting line (45 fields; every tenth job a parallel slave-task line too).
    public mutating func appendSGE(to out: inout [UInt8]) {
        let job = job()
        let host = "node\(job.id % 800)"
        let failed = job.exit == -29 ? 37 : 0
        let exit = job.exit == 271 ? 137 : max(0, job.exit)
        let wall = job.end - job.start
        var fields: [String] = [job.queue + ".q", host, "g\(job.group)", "u\(job.user)", "job\(job.id % 97)", "\(job.id)",
                                "sge", "0", "\(job.submit)", "\(job.start)", "\(job.end)", "\(failed)", "\(exit)",
                                "\(wall)", "\(job.cpu).000000", "0.500000", "\(job.memoryMiB * 512).000000"]
        fields += Array(repeating: "0", count: 14)
        fields += ["NONE", "defaultdepartment", job.cores > 1 ? "smp" : "NONE", "\(job.cores)", "0", "\(job.cpu).5",
                   "123.456", "0.1", "-U g\(job.group) -l h_rt=48:00:00,h_vmem=4G -pe smp \(job.cores)", "0.0", "NONE",
                   "\(job.memoryMiB * 1_048_576).0", "0", "0"]
        out += Array((fields.joined(separator: ":") + "\n").utf8)
        if job.id % 10 == 0 {
            fields[41] = "1.\(host)"
            out += Array((fields.joined(separator: ":") + "\n").utf8)
        }
    }
}
