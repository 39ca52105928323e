import Foundation
import TallyCore
import TallyStore

/// Builds APEL messages for one UTC month from the records in a store: a job belongs wholly to the
/// month of its end time (as APEL counts), its ServiceLevel is the `[[benchmark]]` score valid at
/// its end, its VO the (alias-applied) group or account.
public struct APELExport: Sendable {
    public enum VOSource: String, Sendable, CaseIterable { case group, account, none }

    public struct Options: Sendable {
        public var voFrom: VOSource = .group
        /// `grid` or `local` (InfrastructureType).
        public var infrastructure = "grid"
        /// SubmitHost (APEL's CE id); default: the record's cluster.
        public var submitHost: String?
        /// Site name in messages; default: the record's site.
        public var site: String?
        /// At most this many records per message (APEL's unloader allows 1 to 5,000).
        public var recordsPerMessage = 1000
        public var now = Int64(Date().timeIntervalSince1970)

        public init() {}
    }

    public struct Result: Sendable {
        public var messages: [String] = []
        /// Records that went into the messages.
        public var records = 0
        /// Jobs of the month left out, by reason (none is silently dropped).
        public var skipped: [String: Int] = [:]
    }

    public let configuration: TallyConfiguration
    public let options: Options

    public init(configuration: TallyConfiguration, options: Options = Options()) {
        self.configuration = configuration
        self.options = options
    }

    /// APEL's name for the configured benchmark type.
    public var serviceLevelType: String {
        switch configuration.benchmarkKind.lowercased() {
        case "hs06", "hepspec", "hepspec06": "HEPSPEC"
        case "si2k": "si2k"
        default: "HEPscore23"
        }
    }

    /// `month` as year × 12 + month − 1.
    public func export(_ kind: APELKind, month: Int64, store: any UsageStore) async throws -> Result {
        let start = UTCMonth.firstDay(month) * UTCDay.seconds
        let end = UTCMonth.firstDay(month + 1) * UTCDay.seconds
        let year = month / 12, monthOfYear = month % 12 + 1
        var result = Result()
        var jobs: [APELJobRecord] = []
        var summaries: [APELSummaryRecord.Key: APELSummaryRecord] = [:]
        var syncs: [String: APELSyncRecord] = [:]
        var accelerators: [APELAcceleratorRecord] = []
        let normaliser = Normaliser(configuration)
        var plans: [RuleSubject: RatePlan] = [:]
        func plan(for subject: RuleSubject) -> RatePlan {
            if let known = plans[subject] { return known }
            let made = normaliser.plan(for: subject)
            plans[subject] = made
            return made
        }
        func vo(_ keys: DerivedKeys) -> String? {
            switch options.voFrom {
            // Records without a group (some sources have none) fall back to their account.
            case .group: !keys.group.isEmpty ? keys.group : keys.account.isEmpty ? nil : keys.account
            case .account: keys.account.isEmpty ? nil : keys.account
            case .none: nil
            }
        }
        var writer = APELMessageWriter()
        writer.maxRecords = options.recordsPerMessage

        // Keyset pages: bounded memory whatever the month holds.
        var cursor: Int64 = 0
        while true {
            let page = try await store.jobPage(JobQuery(window: start..<end, limit: 10_000, afterID: cursor))
            guard let last = page.last else { break }
            cursor = last.id
            for (record, _) in page {
                let site = options.site ?? record.site
                if kind == .gpu {
                    // Accelerator usage is per month (apel#459): the GPU-seconds held inside it.
                    guard record.gpus > 0, let jobStart = record.start else { continue }
                    let jobEnd = record.end ?? (jobStart + record.wallSeconds)
                    let held = min(jobEnd, end) - max(jobStart, start)
                    guard held > 0 else { continue }
                    // The record requires an FQAN: the VO's, with no role. Names (aliases) as they
                    // stand at the last second held in the month, as summaries take them at the end.
                    let lastHeld = min(jobEnd, end) - 1
                    let gpuPlan = plan(for: record.subject)
                    let keys = gpuPlan.pieces[gpuPlan.pieceIndex(at: lastHeld)].keys
                    guard let vo = vo(keys) else {
                        result.skipped["no VO (group or account) for the FQAN accelerator records require", default: 0] += 1
                        continue
                    }
                    var accelerator = APELAcceleratorRecord(
                        measurementMonth: monthOfYear, measurementYear: year, associatedRecord: record.localJobID,
                        siteName: site, count: Int64(record.gpus), availableDuration: Int64(record.gpus) * held,
                        model: record.gpuModel ?? "unknown")
                    accelerator.fqan = "/\(vo)/Role=NULL/Capability=NULL"
                    // Busy time is not recorded: APEL's documented default, the time held.
                    accelerator.activeDuration = accelerator.availableDuration
                    if let model = record.gpuModel, let rule = configuration.gpuClasses.first(where: {
                        $0.matches(model: model) && $0.validity.contains(lastHeld)
                    }) {
                        accelerator.cores = rule.acceleratorCores.map { $0 * Int64(record.gpus) }
                        if let score = rule.benchmarkMilli {
                            accelerator.benchmarkMilli = score
                            accelerator.benchmarkType = rule.benchmarkType ?? configuration.benchmarkKind
                        }
                    }
                    accelerators.append(accelerator)
                    continue
                }
                guard let jobEnd = record.end, jobEnd >= start, jobEnd < end else { continue }
                guard let jobStart = record.start, jobStart <= jobEnd else {
                    result.skipped["no start time, or one after the end", default: 0] += 1
                    continue
                }
                let jobPlan = plan(for: record.subject)
                let piece = jobPlan.pieces[jobPlan.pieceIndex(at: max(jobEnd - 1, jobStart))]
                let submitHost = options.submitHost ?? record.cluster
                // Sync counts what the summaries and job records carry: jobs with a ServiceLevel.
                guard let benchmark = piece.benchmark else {
                    result.skipped["no [[benchmark]] rule matched at the job's end (APEL requires a ServiceLevel)", default: 0] += 1
                    continue
                }
                if kind == .sync {
                    syncs[submitHost, default: APELSyncRecord(site: site, submitHost: submitHost, numberOfJobs: 0,
                                                              month: monthOfYear, year: year)].numberOfJobs += 1
                    continue
                }
                let serviceLevel = Self.decimal(milli: benchmark.scoreMilli)
                let vo = vo(piece.keys)
                let cpu = max(record.cpuSeconds ?? 0, 0)
                if kind == .summary {
                    var key = APELSummaryRecord.Key(site: site, month: monthOfYear, year: year,
                                                    serviceLevelType: serviceLevelType, serviceLevel: serviceLevel)
                    key.vo = vo
                    key.voGroup = vo.map { "/\($0)" }
                    key.submitHost = submitHost
                    key.infrastructureType = options.infrastructure
                    key.nodeCount = Int64(record.nodeCount)
                    key.processors = Int64(record.cores)
                    summaries[key, default: APELSummaryRecord(key: key, earliestEndTime: jobEnd, latestEndTime: jobEnd,
                                                              wallDuration: 0, cpuDuration: 0, numberOfJobs: 0)]
                        .add(endTime: jobEnd, wall: record.wallSeconds, cpu: cpu)
                    continue
                }
                var job = APELJobRecord(site: site, localJobID: record.localJobID, wallDuration: record.wallSeconds,
                                        cpuDuration: cpu, startTime: jobStart, endTime: jobEnd,
                                        serviceLevelType: serviceLevelType, serviceLevel: serviceLevel)
                job.submitHost = submitHost
                job.machineName = record.cluster
                job.queue = record.partition
                job.localUserID = record.user
                job.vo = vo
                job.voGroup = vo.map { "/\($0)" }
                job.processors = Int64(record.cores)
                job.nodeCount = Int64(record.nodeCount)
                job.infrastructureDescription = "APEL-TALLY-\(record.source.rawValue.uppercased())"
                job.infrastructureType = options.infrastructure
                // KB, from the peak resident memory when the source has it.
                job.memoryReal = record.memoryUsedPeak.map { $0 / 1024 }
                jobs.append(job)
                if jobs.count == writer.maxRecords {
                    result.records += jobs.count
                    result.messages += writer.messages(header: APELMessageWriter.jobHeader, records: jobs.map(\.fields))
                    jobs.removeAll(keepingCapacity: true)
                }
            }
        }
        switch kind {
        case .job:
            result.records += jobs.count
            result.messages += writer.messages(header: APELMessageWriter.jobHeader, records: jobs.map(\.fields))
        case .summary:
            // Summaries received as such (tally ingest apel) join those of the jobs; a received
            // row replaces a computed one with the same key, as on APEL's server.
            for row in try await store.apelSummaries(month: month) {
                var received = row
                if let site = options.site { received.key.site = site }
                summaries[received.key] = received
            }
            let rows = summaries.values.sorted { $0.key < $1.key }
            result.records = rows.count
            result.messages = writer.messages(header: APELMessageWriter.summaryHeader, records: rows.map(\.fields))
        case .sync:
            let rows = syncs.values.sorted { ($0.submitHost ?? "") < ($1.submitHost ?? "") }
            result.records = rows.count
            result.messages = writer.messages(header: APELMessageWriter.syncHeader, records: rows.map(\.fields))
        case .gpu:
            result.records = accelerators.count
            result.messages = writer.acceleratorMessages(accelerators)
        }
        return result
    }

    static func decimal(milli: Int64) -> String { APELMessageWriter.decimal(milli: milli) }
}
