import ArgumentParser
import Foundation
import TallyApp
import TallyCollectors
import TallyCore

/// `swift run -c release tally-bench`: generates realistic sacct output, then measures parsing,
/// ingest into SQLite and reporting, with the real `tally` binary for the last two so their peak
/// RSS is their own.
@main
struct TallyBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tally-bench",
        abstract: "Measure Tally's sacct parse, SQLite ingest and report speed, and peak memory.")

    @Option(help: "Jobs to generate (each with 2–4 step lines).")
    var jobs = 1_000_000

    @Option(help: "Workload: ordered (Tally's original generator) or high-cardinality (any user under any account, submit times out of order, jobs spanning days).")
    var shape: SacctGenerator.Shape = .ordered

    @Option(help: "A Python with duckdb and pandas (scripts/bench/peers-venv.sh): times DuckDB and pandas on the same file.")
    var peers: String?

    @Option(help: "Working directory for the generated file and database.")
    var workdir = "bench/out"

    @Option(help: "Report repetitions (the median is printed).")
    var repeats = 5

    @Flag(help: "Reuse an existing generated file of the same size.")
    var reuse = false

    @Flag(help: "Stop after the parse-only measurement (for profiling the parser).")
    var parseOnly = false

    @Option(help: "Jobs in the synthetic PBS and HTCondor logs (0 to skip them).")
    var otherFormatJobs = 1_000_000

    @Option(help: "An SWF trace to ingest as well (default: the largest in ../shared/data/traces, if present).")
    var swf = "../shared/data/traces/CEA-Curie-2011-2.1-cln.swf.gz"

    func run() async throws {
        try FileManager.default.createDirectory(atPath: workdir, withIntermediateDirectories: true)
        let tag = shape == .ordered ? "\(jobs)" : "\(shape.rawValue)-\(jobs)"
        let input = "\(workdir)/sacct-\(tag).txt"
        let database = "\(workdir)/bench-\(tag).db"
        print("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores, \(ProcessInfo.processInfo.physicalMemory >> 30) GiB")

        var lines = 0
        if reuse, let size = try? FileManager.default.attributesOfItem(atPath: input)[.size] as? Int, size > 0 {
            lines = try countLines(input)
            print("reusing \(input): \(lines) lines")
        } else {
            let clock = ContinuousClock.now
            lines = try generate(to: input)
            let seconds = (ContinuousClock.now - clock).seconds
            print("generated \(jobs) jobs, \(lines) lines, \(fileSize(input) >> 20) MiB in \(format(seconds)) s")
        }

        // Parse only: reader + collector, records discarded.
        var parsed = 0
        var rejected = 0
        let parseClock = ContinuousClock.now
        var collector = SacctCollector(file: input, options: .init(timeZone: TimeZone(identifier: "UTC")!))
        try await CollectorDriver.run(path: input, collector: &collector) { batch in
            parsed += batch.records.count
            rejected += batch.rejections.count
        }
        let parseSeconds = (ContinuousClock.now - parseClock).seconds
        print("parse only: \(parsed) jobs from \(lines) lines in \(format(parseSeconds)) s = \(Int(Double(lines) / parseSeconds)) lines/s, \(Int(Double(parsed) / parseSeconds)) jobs/s (\(rejected) rejected)")

        if parseOnly { return }
        let tally = siblingExecutable("tally")
        try? FileManager.default.removeItem(atPath: database)
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database + suffix) }
        let ingest = try measure(tally, ["ingest", "slurm", "--quiet", "--timezone", "UTC", "--db", database, input])
        guard ingest.status == 0 else { throw ValidationError("tally ingest exited \(ingest.status)") }
        print("ingest: \(parsed) jobs in \(format(ingest.seconds)) s = \(Int(Double(parsed) / ingest.seconds)) jobs/s, CPU \(format(ingest.userSeconds)) s user + \(format(ingest.systemSeconds)) s sys, peak RSS \(ingest.maxRSSKiB / 1024) MiB, database \(fileSize(database) >> 20) MiB = \(fileSize(database) / max(1, parsed)) bytes per job")
        let first = try measure(tally, ["report", "--db", database, "--format", "csv", "--period", "month", "--by", "account"],
                                discardOutput: true)
        print("first answer (ingest + month x account report): \(format(ingest.seconds + first.seconds)) s")

        let again = try measure(tally, ["ingest", "slurm", "--quiet", "--reread", "--timezone", "UTC", "--db", database, input])
        print("re-ingest with --reread (all unchanged): \(format(again.seconds)) s = \(Int(Double(parsed) / again.seconds)) jobs/s, peak RSS \(again.maxRSSKiB / 1024) MiB")
        let skipped = try measure(tally, ["ingest", "slurm", "--quiet", "--timezone", "UTC", "--db", database, input])
        print("re-run (checkpoint: file unchanged, skipped): \(format(skipped.seconds)) s")

        if otherFormatJobs > 0 {
            for (formatName, write) in [("pbs", { (g: inout WorkloadGenerator, out: inout [UInt8]) in g.appendPBS(to: &out) }),
                                    ("htcondor", { (g: inout WorkloadGenerator, out: inout [UInt8]) in g.appendClassAd(to: &out) }),
                                    ("sge", { (g: inout WorkloadGenerator, out: inout [UInt8]) in g.appendSGE(to: &out) })] {
                let file = "\(workdir)/\(formatName)-\(otherFormatJobs).log"
                if !(reuse && FileManager.default.fileExists(atPath: file)) {
                    try generateLog(to: file, jobs: otherFormatJobs, write)
                }
                let formatDB = "\(workdir)/bench-\(formatName).db"
                for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: formatDB + suffix) }
                let result = try measure(tally, ["ingest", formatName, "--quiet", "--db", formatDB, "--reread", file])
                guard result.status == 0 else { throw ValidationError("tally ingest \(formatName) exited \(result.status)") }
                print("\(formatName) ingest: \(otherFormatJobs) jobs (\(fileSize(file) >> 20) MiB) in \(format(result.seconds)) s = \(Int(Double(otherFormatJobs) / result.seconds)) jobs/s, peak RSS \(result.maxRSSKiB / 1024) MiB")
            }
        }

        if FileManager.default.fileExists(atPath: swf) {
            let traceDB = "\(workdir)/bench-swf.db"
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: traceDB + suffix) }
            var jobs = 0
            var reader = try LineReader(path: swf)
            while try reader.readChunk({ line in if line.bytes.first != UInt8(ascii: ";") { jobs += 1 } }) {}
            let trace = try measure(tally, ["ingest", "swf", "--quiet", "--db", traceDB, swf])
            print("swf ingest \(URL(fileURLWithPath: swf).lastPathComponent): \(jobs) jobs in \(format(trace.seconds)) s = \(Int(Double(jobs) / trace.seconds)) jobs/s, peak RSS \(trace.maxRSSKiB / 1024) MiB")
        }

        try measureReports(tally, database: database, label: "report")
        if let peers { try measurePeers(python: peers, input: input) }
        try measureRebuild(tally, database: database, jobs: parsed)
    }

    /// Rules like a real site's: dated benchmarks that change mid-range (every job spanning the
    /// change is split), GPU classes, per-partition rates, an alias and an organisation.
    static let benchConfig = """
        [[benchmark]]
        score = 10.0
        valid_until = 2024-07-01
        [[benchmark]]
        score = 14.5
        valid_from = 2024-07-01
        [[benchmark]]
        partition = "largemem"
        score = 12.25
        [[gpu_class]]
        models = ["a100*"]
        class = "A100"
        factor = 4.0
        [[gpu_class]]
        models = ["v100*"]
        class = "V100"
        factor = 2.0
        [[charge_rate]]
        partition = "cpu"
        core_hour = 1.0
        [[charge_rate]]
        partition = "gpu"
        core_hour = 1.0
        gpu_hour = 2.0
        minimum = 0.1
        [[charge_rate]]
        partition = "largemem"
        core_hour = 1.0
        mem_gb_hour = 0.1
        [[alias]]
        kind = "account"
        from = "acct1"
        to = "acct0"
        [[user]]
        user = "user1"
        organisation = "Physics"
        """

    /// `tally rebuild` with a configuration the database has not seen (so every summary is
    /// recomputed from raw records), then configured reports.
    private func measureRebuild(_ tally: String, database: String, jobs: Int) throws {
        let config = "\(workdir)/bench.toml"
        // The database holds summaries of the empty configuration: this one rebuilds them all.
        try Data(Self.benchConfig.utf8).write(to: URL(fileURLWithPath: config))
        let rebuild = try measure(tally, ["rebuild", "--db", database, "--config", config])
        guard rebuild.status == 0 else { throw ValidationError("tally rebuild exited \(rebuild.status)") }
        print("rebuild with a new configuration: \(jobs) jobs in \(format(rebuild.seconds)) s = \(Int(Double(jobs) / rebuild.seconds)) jobs/s, peak RSS \(rebuild.maxRSSKiB / 1024) MiB")
        try measureReports(tally, database: database, label: "configured report",
                           extra: [["--period", "month", "--by", "gpu-class,organisation"]])
    }

    /// The reports the issues measure (issue 17's list): month × account, day × user over the
    /// whole span, total × partition, year × user, filters, a non-UTC week report and more.
    static let reportSuite: [[String]] = [
        ["--period", "month", "--by", "account"],
        ["--period", "day", "--by", "user"],
        ["--period", "total", "--by", "partition"],
        ["--period", "year", "--by", "user"],
        ["--period", "month", "--by", "account", "--where", "partition=gpu"],
        ["--period", "week", "--by", "account", "--timezone", "America/New_York"],
        ["--period", "month", "--by", "account,user"],
        ["--period", "day", "--by", "partition"],
        ["--period", "quarter", "--by", "qos,state"],
        ["--period", "month", "--by", "gpu-model", "--where", "account=acct7"],
        ["--period", "month", "--by", "user", "--timezone", "Europe/Berlin"],
    ]

    private func measureReports(_ tally: String, database: String, label: String, extra: [[String]] = []) throws {
        var medians: [Double] = []
        for arguments in Self.reportSuite + extra {
            var times: [Double] = []
            var peak = 0
            for _ in 0..<repeats {
                let result = try measure(tally, ["report", "--db", database, "--format", "csv"] + arguments, discardOutput: true)
                guard result.status == 0 else { throw ValidationError("tally report exited \(result.status)") }
                times.append(result.seconds)
                peak = max(peak, result.maxRSSKiB)
            }
            times.sort()
            medians.append(times[times.count / 2])
            print("\(label) \(arguments.joined(separator: " ")): median \(format(times[times.count / 2])) s (min \(format(times[0])), max \(format(times[times.count - 1]))), peak RSS \(peak / 1024) MiB")
        }
        medians.sort()
        print("\(label)s: median of the \(medians.count) medians \(format(medians[medians.count / 2])) s, slowest \(format(medians.last!)) s")
    }

    /// DuckDB (raw-file scan, and a persisted table) and pandas answering month × account core
    /// hours on the same file, each in a child process.
    private func measurePeers(python: String, input: String) throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/bench/peers.py").path
        let duckDB = "\(workdir)/peers.duckdb"
        try? FileManager.default.removeItem(atPath: duckDB)
        for (name, arguments) in [("DuckDB raw-file scan", ["duckdb-file", input]),
                                  ("DuckDB load into a table", ["duckdb-load", input, duckDB]),
                                  ("DuckDB from its table", ["duckdb-table", duckDB]),
                                  ("pandas", ["pandas", input])] {
            let result = try measure(python, [script] + arguments)
            guard result.status == 0 else { throw ValidationError("\(name) exited \(result.status)") }
            print("peer \(name): \(format(result.seconds)) s wall, CPU \(format(result.userSeconds)) s user + \(format(result.systemSeconds)) s sys, peak RSS \(result.maxRSSKiB / 1024) MiB")
        }
    }

    private func generate(to path: String) throws -> Int {
        guard let file = FileHandle(forWritingAtPath: path) ?? {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            return FileHandle(forWritingAtPath: path)
        }() else { throw ValidationError("cannot write \(path)") }
        defer { try? file.close() }
        try file.truncate(atOffset: 0)
        var generator = SacctGenerator(seed: 2024, users: shape == .ordered ? 500 : 900, expectedJobs: jobs, shape: shape)
        var buffer = Array((generator.header + "\n").utf8)
        buffer.reserveCapacity(4 << 20)
        var lines = 1
        for _ in 0..<jobs {
            lines += generator.appendJob(to: &buffer)
            if buffer.count > 4 << 20 {
                try file.write(contentsOf: buffer)
                buffer.removeAll(keepingCapacity: true)
            }
        }
        try file.write(contentsOf: buffer)
        return lines
    }

    private func generateLog(to path: String, jobs: Int,
                             _ write: (inout WorkloadGenerator, inout [UInt8]) -> Void) throws {
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        guard let file = FileHandle(forWritingAtPath: path) else { throw ValidationError("cannot write \(path)") }
        defer { try? file.close() }
        var generator = WorkloadGenerator(expectedJobs: jobs)
        var buffer: [UInt8] = []
        buffer.reserveCapacity(4 << 20)
        for _ in 0..<jobs {
            write(&generator, &buffer)
            if buffer.count > 4 << 20 {
                try file.write(contentsOf: buffer)
                buffer.removeAll(keepingCapacity: true)
            }
        }
        try file.write(contentsOf: buffer)
    }

    private func countLines(_ path: String) throws -> Int {
        var reader = try LineReader(path: path)
        var count = 0
        while try reader.readChunk({ _ in count += 1 }) {}
        return count
    }
}

struct Measurement {
    var seconds: Double
    var userSeconds: Double
    var systemSeconds: Double
    var maxRSSKiB: Int
    var status: Int32
}

extension SacctGenerator.Shape: ExpressibleByArgument {}

/// Runs a child to completion; wall time and the child's own peak RSS (from wait4).
func measure(_ executable: String, _ arguments: [String], discardOutput: Bool = false) throws -> Measurement {
    var pid: pid_t = 0
    var actions: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    if discardOutput { posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0) }
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    let clock = ContinuousClock.now
    let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
    guard spawned == 0 else { throw ValidationError("cannot run \(executable): \(String(cString: strerror(spawned)))") }
    var status: Int32 = 0
    var usage = rusage()
    while wait4(pid, &status, 0, &usage) < 0, errno == EINTR {}
    let seconds = (ContinuousClock.now - clock).seconds
    let exit = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    func toSeconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
    return Measurement(seconds: seconds, userSeconds: toSeconds(usage.ru_utime), systemSeconds: toSeconds(usage.ru_stime),
                       maxRSSKiB: usage.ru_maxrss, status: exit)
}

func siblingExecutable(_ name: String) -> String {
    URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        .appendingPathComponent(name).path
}

func fileSize(_ path: String) -> Int {
    (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
}

func format(_ seconds: Double) -> String { String(format: "%.3f", seconds) }

extension Duration {
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
