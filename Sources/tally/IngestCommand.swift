import ArgumentParser
import Foundation
import TallyApp
import TallyCollectors
import TallyCore
import TallyStore

struct Ingest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Read accounting data into the database.",
        subcommands: [Auto.self, Slurm.self, PBS.self, SGE.self, HTCondor.self, SWF.self, Kubernetes.self, Nomad.self, APEL.self])

    struct Slurm: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "slurm",
            abstract: "Read `sacct --parsable2` (or --parsable) output.",
            discussion: """
                Field order comes from the header line; for --noheader output give the --format list
                with --fields. Include --duplicates in the sacct call to charge every run of a requeued
                job. sacct prints times in the zone of the host that ran it: say which with --timezone
                (default: this machine's zone), or run sacct with SLURM_TIME_FORMAT=%s.
                Re-reading the same output changes nothing; a running job is replaced when its final
                line arrives. Bad lines are reported with file and line, stored, and skipped.
                """)

        @Argument(help: ArgumentHelp("sacct output files, or - for standard input.", valueName: "file"))
        var files: [String]

        @OptionGroup var common: IngestOptions

        @Option(help: "Cluster name for input without a Cluster column.")
        var cluster: String?

        @OptionGroup var timezone: InputZoneOption

        @Option(help: ArgumentHelp("Column names for --noheader input, comma-separated, as given to sacct --format.", valueName: "names"))
        var fields: String?

        @Option(help: "Field delimiter (sacct --delimiter; default |, or , for a comma-separated header).")
        var delimiter: String?

        func validate() throws {
            if let delimiter, delimiter.utf8.count != 1 { throw ValidationError("--delimiter must be one byte") }
        }

        func run() async throws {
            let site = try await common.defaults()
            let options = SacctCollector.Options(
                site: site.name, cluster: site.cluster(cluster),
                timeZone: timezone.zone(site: site.settings),
                fields: fields.map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } },
                delimiter: delimiter?.utf8.first)
            try await common.ingest(files) { SacctCollector(file: $0, options: options) }
        }
    }

    struct PBS: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pbs",
            abstract: "Read PBS Pro / OpenPBS / Torque accounting logs (server_priv/accounting/YYYYMMDD).",
            discussion: """
                E (end) and R (rerun) records are charged, one record per run keyed by job id and start;
                S (start) records show running jobs until their E arrives. Times come from the epoch
                keys in each record; --timezone (the server's zone) only matters for records without
                an end time. Array parents (123[]) are skipped: their subjobs carry the usage.
                """)

        @Argument(help: ArgumentHelp("Accounting files (plain or .gz), or - for standard input.", valueName: "file"))
        var files: [String]

        @OptionGroup var common: IngestOptions

        @Option(help: "Cluster name (default: the server name in the job ids).")
        var cluster: String?

        @OptionGroup var timezone: InputZoneOption

        func run() async throws {
            let site = try await common.defaults()
            let options = PBSCollector.Options(site: site.name, cluster: site.cluster(cluster), timeZone: timezone.zone(site: site.settings))
            try await common.ingest(files) { PBSCollector(file: $0, options: options) }
        }
    }

    struct SGE: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sge",
            abstract: "Read Grid Engine accounting files (SGE, Son of Grid Engine, OGE, Univa/Altair).",
            discussion: """
                Charges wall time × slots from master records (pe_taskid NONE); parallel slave-task
                records are counted and skipped. Univa's millisecond times are recognised. Each run is
                keyed by job, task, start time and host, so retries are charged per attempt.
                """)

        @Argument(help: ArgumentHelp("accounting files (plain or .gz), or - for standard input.", valueName: "file"))
        var files: [String]

        @OptionGroup var common: IngestOptions

        @Option(help: "Cluster name (the accounting file has none; default: the config's [site] cluster, else default).")
        var cluster: String?

        func run() async throws {
            let site = try await common.defaults()
            let options = SGECollector.Options(site: site.name, cluster: site.cluster(cluster) ?? "default")
            try await common.ingest(files) { SGECollector(file: $0, options: options) }
        }
    }

    struct Auto: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "auto",
            abstract: "Detect each file's format (sacct with header, PBS/Torque, Grid Engine, SWF) and read it.",
            discussion: """
                Looks at the first lines of each file (decompressed if gzip) and says what it chose.
                sacct output without a header cannot be told apart reliably: use `ingest slurm --fields`.
                """)

        @Argument(help: ArgumentHelp("Files or directories.", valueName: "path"))
        var paths: [String]

        @OptionGroup var common: IngestOptions

        @Option(help: "Cluster name, where the input does not name one.")
        var cluster: String?

        @OptionGroup var timezone: InputZoneOption

        func run() async throws {
            let site = try await common.defaults()
            let zone = timezone.zone(site: site.settings)
            var byFormat: [SourceFormat: [String]] = [:]
            var undetected = 0
            let files = try InputFiles.expand(paths)
            guard !files.isEmpty else {
                printError("error: " + InputFiles.noneFound(in: paths))
                throw ExitCode(2)
            }
            for file in files {
                guard let guess = try? FormatDetector.detect(path: file) else {
                    printError("\(file): format not recognised; skipped (name it: tally ingest slurm|pbs|sge|swf)")
                    undetected += 1
                    continue
                }
                if !common.quiet { printError("\(file): \(guess)") }
                byFormat[guess.format, default: []].append(file)
            }
            var failed = undetected > 0
            for (format, files) in byFormat.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                // One format's unusable file must not stop the others.
                do {
                    try await ingest(format, files, zone: zone, site: site)
                } catch let exit as ExitCode where exit != .success {
                    failed = true
                }
            }
            if failed { throw ExitCode(2) }
        }

        private func ingest(_ format: SourceFormat, _ files: [String], zone: TimeZone, site: SiteDefaults) async throws {
            switch format {
            case .slurm:
                let options = SacctCollector.Options(site: site.name, cluster: site.cluster(cluster), timeZone: zone)
                try await common.ingest(files) { SacctCollector(file: $0, options: options) }
            case .pbs:
                let options = PBSCollector.Options(site: site.name, cluster: site.cluster(cluster), timeZone: zone)
                try await common.ingest(files) { PBSCollector(file: $0, options: options) }
            case .sge:
                let options = SGECollector.Options(site: site.name, cluster: site.cluster(cluster) ?? "default")
                try await common.ingest(files) { SGECollector(file: $0, options: options) }
            case .htcondor:
                let options = HTCondorCollector.Options(site: site.name, cluster: site.cluster(cluster))
                try await common.ingest(files) { HTCondorCollector(file: $0, options: options) }
            case .kubernetes, .nomad:
                printError("snapshots are read with tally ingest \(format.rawValue) DIR (they need their times)")
                throw ExitCode(2)
            case .swf:
                let options = SWFCollector.Options(site: site.name, cluster: site.cluster(cluster))
                try await common.ingest(files) { SWFCollector(file: $0, options: options) }
            case .apel:
                try await common.ingest(files) { APELCollector(file: $0, options: .init(cluster: site.cluster(cluster))) }
            case .api:
                // Never detected from a file: API records arrive through tally serve.
                throw ExitCode(2)
            }
        }
    }

    struct APEL: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "apel",
            abstract: "Read APEL job and summary messages (as APEL clients send them to a central repository).",
            discussion: """
                Files or directories of `APEL-individual-job-message` v0.1–v0.3 messages (an SSM incoming
                queue's `body` files, or `tally export apel --kind job` output). Jobs are keyed as APEL keys
                them: site, LocalJobId and EndTime. VO becomes group and account; MachineName (else
                SubmitHost) the cluster; Queue the partition; MemoryReal (KB) the peak memory.
                `APEL-summary-job-message: v0.2` files are kept as summary rows (a known key is replaced,
                as APEL's server does) and exported again with the month's summaries; they carry no jobs,
                so reports do not include them. Sync messages are read and set aside.
                """)

        @Argument(help: ArgumentHelp("Message files or directories (plain or .gz), or -.", valueName: "path"))
        var files: [String]

        @OptionGroup var common: IngestOptions

        @Option(help: "Cluster for records that name no MachineName or SubmitHost.")
        var cluster: String?

        func run() async throws {
            let site = try await common.defaults()
            var jobFiles: [String] = []
            var failed = false
            for file in try InputFiles.expand(files) {
                guard file != "-", let header = Self.header(file),
                      header.hasPrefix("APEL-summary-job-message") || header.hasPrefix("APEL-sync-message") else {
                    jobFiles.append(file)
                    continue
                }
                if header.hasPrefix("APEL-sync-message") {
                    if !common.quiet { printError("\(file): a sync message (how many jobs a site holds): nothing to store") }
                    continue
                }
                do {
                    try await importSummaries(file)
                } catch {
                    printError("error: \(file): \(error)")
                    failed = true
                }
            }
            if !jobFiles.isEmpty {
                let options = APELCollector.Options(cluster: site.cluster(cluster))
                try await common.ingest(jobFiles) { APELCollector(file: $0, options: options) }
            }
            if failed { throw ExitCode(2) }
        }

        /// Summary messages carry no jobs: their rows are kept as APEL keys them, and exported again
        /// with the month's summaries (reports, which rest on jobs, do not include them).
        private func importSummaries(_ file: String) async throws {
            let text = try String(contentsOfFile: file, encoding: .utf8)
            let (rows, rejections) = try APELSummaryImport.parse(text, file: file, now: Int64(Date().timeIntervalSince1970))
            let store = try await common.configuration.open(common.database, mustExist: false).store
            try await store.saveAPELSummaries(rows)
            if !common.quiet {
                printError("\(file): \(rows.count) APEL summary rows stored (a row with a known key replaces it), "
                           + "\(rejections.count) rejected")
            }
            for rejection in rejections { printError("  rejected \(rejection)") }
            if common.strict, !rejections.isEmpty { throw ExitCode(2) }
        }

        /// The first non-blank line of a plain file.
        static func header(_ path: String) -> String? {
            guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
            defer { try? handle.close() }
            let head = String(decoding: handle.readData(ofLength: 4096), as: UTF8.self)
            return head.split(whereSeparator: \.isNewline).first { !$0.allSatisfy(\.isWhitespace) }
                .map { $0.trimmingCharacters(in: .whitespaces) }
        }
    }

    struct HTCondor: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "htcondor",
            abstract: "Read HTCondor job history: condor_history -l (or history files) and -json / -jsonl.",
            discussion: """
                Jobs are keyed by GlobalJobId. Cores come from CpusProvisioned (else MachineAttrCpus0, else
                RequestCpus), GPUs from GPUsProvisioned (else RequestGPUs); wall time is
                RemoteWallClockTime less suspension, ending at CompletionDate (EnteredCurrentStatus for
                removed jobs).
                """)

        @Argument(help: ArgumentHelp("History files or condor_history output (plain or .gz), or -.", valueName: "file"))
        var files: [String]

        @OptionGroup var common: IngestOptions

        @Option(help: "Cluster name (default: the schedd in GlobalJobId).")
        var cluster: String?

        func run() async throws {
            let site = try await common.defaults()
            let options = HTCondorCollector.Options(site: site.name, cluster: site.cluster(cluster))
            try await common.ingest(files) { HTCondorCollector(file: $0, options: options) }
        }
    }

    struct Kubernetes: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "kubernetes",
            abstract: "Read periodic `kubectl get pods -A -o json` snapshots (a directory of them).",
            discussion: SnapshotOptions.discussion)

        @OptionGroup var snapshots: SnapshotOptions

        func run() async throws { try await snapshots.ingest(.kubernetes) }
    }

    struct Nomad: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "nomad",
            abstract: "Read periodic Nomad allocation snapshots (/v1/allocations JSON, or ai4-accounting snapshots).",
            discussion: SnapshotOptions.discussion)

        @OptionGroup var snapshots: SnapshotOptions

        func run() async throws { try await snapshots.ingest(.nomad) }
    }

    struct SWF: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "swf",
            abstract: "Read Standard Workload Format traces (.swf or .swf.gz, Parallel Workloads Archive).",
            discussion: """
                Times count from the header's UnixStartTime (override with --start-epoch). Each job is
                keyed by its job number within the cluster (default: the file name), so re-reading a
                trace changes nothing. Traces without wait times place runs at their submit time.
                """)

        @Argument(help: ArgumentHelp("SWF files (.swf or .swf.gz), or - for standard input.", valueName: "file"))
        var files: [String]

        @OptionGroup var common: IngestOptions

        @Option(help: "Cluster name (default: the file name without extensions).")
        var cluster: String?

        @Option(help: ArgumentHelp("Epoch seconds of the trace's time 0, if the header has no UnixStartTime.", valueName: "seconds"))
        var startEpoch: Int64?

        func run() async throws {
            let site = try await common.defaults()
            let options = SWFCollector.Options(site: site.name, cluster: site.cluster(cluster), startEpoch: startEpoch)
            try await common.ingest(files) { SWFCollector(file: $0, options: options) }
        }
    }
}

/// What snapshot sources take: where the snapshots are, and which cluster they describe.
struct SnapshotOptions: ParsableArguments {
    static let discussion = """
        Each file is one snapshot, taken at the time in its name (2024-05-02T10:00:00Z.json,
        20240502T100000.json …; else its modification time). A deployment seen in many snapshots
        is one job, with the exact start and end times the API reports; a running one is charged up
        to the last snapshot that saw it. Snapshot times are kept, so `tally coverage` shows the gaps
        between snapshots (longer than usual, or than Nomad's 4-hour GC threshold) whose usage may be
        missing. Snapshot files never change: re-running skips those already read.
        """

    @Argument(help: ArgumentHelp("Snapshot files or directories of them (plain or .gz).", valueName: "path"))
    var paths: [String]

    @OptionGroup var common: IngestOptions

    @Option(help: "Cluster name (default: the config's [site] cluster, else default).")
    var cluster: String?

    func ingest(_ platform: SourceFormat) async throws {
        let series = SnapshotSeries(files: try InputFiles.expand(paths))
        let times = Dictionary(series.snapshots.map { ($0.path, $0.takenAt) }, uniquingKeysWith: { first, _ in first })
        let defaults = try await common.defaults()
        let site = defaults.name, cluster = defaults.cluster(self.cluster) ?? "default"
        // One file at a time, in time order, so later snapshots replace what earlier ones said.
        try await common.ingest(series.snapshots.map(\.path)) { path in
            SnapshotCollector(file: path, options: .init(platform: platform, site: site, cluster: cluster,
                                                         takenAt: times[path] ?? 0))
        }
        let store = try await common.configuration.open(common.database, mustExist: false).store
        try await store.recordSnapshots(site: site, cluster: cluster, format: platform,
                                        times: series.snapshots.map(\.takenAt))
    }
}

/// Where ingested records say they come from, when the command line does not say.
struct SiteDefaults {
    var name: String
    var settings: SiteSettings?

    /// A cluster option's value, else the `[site] cluster`.
    func cluster(_ given: String?) -> String? { given ?? settings?.cluster }
}

/// Options every `tally ingest` source takes, and the loop they share.
struct IngestOptions: ParsableArguments {
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var configuration: ConfigOption

    @Option(name: .customLong("site"), help: "Site name recorded on every job (default: $TALLY_SITE, else the config's [site] name, else local).")
    var siteOption: String?

    @Flag(help: "Stop at the first rejected line and exit non-zero.")
    var strict = false

    @Flag(name: .shortAndLong, help: "Print nothing but errors.")
    var quiet = false

    @Flag(help: "Read every file from the start, ignoring checkpoints (re-reading never double counts).")
    var reread = false

    /// The site and cluster records are stored under, and the input zone default: `--site`, else
    /// `$TALLY_SITE`, else the `[site]` of the configuration in use (the file given, else the one
    /// the database last used: the same defaults reports use), else "local".
    func defaults() async throws -> SiteDefaults {
        let settings = try await configuration.open(database, mustExist: false).configuration.site
        var name = settings.name ?? "local"
        if let fromEnvironment = ProcessInfo.processInfo.environment["TALLY_SITE"], !fromEnvironment.isEmpty {
            name = fromEnvironment
        }
        return SiteDefaults(name: siteOption ?? name, settings: settings)
    }

    func ingest<C: LineCollector>(_ paths: [String], collector: (String) -> C) async throws {
        // Opened (and its warnings printed) by `defaults()` already.
        let store = try await ConfiguredStore.open(database.db, config: configuration.config, mustExist: false).store
        let pipeline = CheckpointedIngest(pipeline: IngestPipeline(store: store, strict: strict), reread: reread)
        let files = try InputFiles.expand(paths)
        guard !files.isEmpty else {
            printError("error: " + InputFiles.noneFound(in: paths))
            throw ExitCode(2)
        }
        let reporter = ProgressReporter(enabled: !quiet && isTerminal(2))
        var failures = 0
        var grand = IngestTotals()
        for file in files {
            let reader = collector(file == "-" ? "<stdin>" : file)
            let result = try await pipeline.ingest(path: file, collector: reader) {
                reporter.update($0)
            }
            reporter.finish()
            grand += result.totals
            if !quiet { printError(IngestSummary.text(result)) }
            if let failure = result.failure {
                printError("error: \(failure)")
                failures += 1
            } else if let problem = IngestSummary.nothingUsable(result, format: reader.format) {
                printError("error: \(problem)")
                failures += 1
            }
        }
        if files.count > 1, !quiet {
            printError("total: \(grand.records) jobs (\(grand.inserted) new, \(grand.updated) updated, \(grand.unchanged) unchanged), \(grand.rejected) rejected lines")
        }
        if failures > 0 { throw ExitCode(2) }
    }
}

/// A single status line on stderr, rewritten in place at most four times a second.
final class ProgressReporter: @unchecked Sendable {
    // Touched only from the ingest loop, one call at a time.
    private let enabled: Bool
    private var lastPrint = Date.distantPast
    private var printed = false

    init(enabled: Bool) { self.enabled = enabled }

    func update(_ progress: IngestPipeline.Progress) {
        guard enabled, Date().timeIntervalSince(lastPrint) >= 0.25 else { return }
        lastPrint = Date()
        let rate = progress.elapsed > 0 ? Double(progress.totals.records) / progress.elapsed : 0
        let line = "\r\(progress.path): \(progress.totals.linesRead) lines, \(progress.totals.records) jobs, \(progress.totals.rejected) rejected, \(Int(rate)) jobs/s\u{1B}[K"
        FileHandle.standardError.write(Data(line.utf8))
        printed = true
    }

    func finish() {
        if printed { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        printed = false
    }
}
