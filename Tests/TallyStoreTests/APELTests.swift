import Foundation
import Testing
import TallyApp
import TallyCollectors
import TallyConfig
@testable import TallyCore
@testable import TallyStore

/// What APEL's loader checks (apel `RecordFactory.create_records` + `get_db_tuple`; see
/// ../shared/reference/apel.md §2 and §6.3), applied to a message Tally wrote.
enum APELLoaderRules {
    static let serviceLevelTypes: Set<String> = ["hepscore23", "hepspec", "si2k"]

    static func check(_ text: String, now: Int64) -> [String] {
        var problems: [String] = []
        if !text.utf8.allSatisfy({ $0 < 0x80 }) { problems.append("not ASCII") }
        if text.utf8.count >= 1_000_000 { problems.append("message of \(text.utf8.count) bytes") }
        let message: APELMessage
        do {
            message = try APELMessage(parsing: text)
        } catch {
            return problems + ["\(error)"]
        }
        if message.records.count > 1000 { problems.append("\(message.records.count) records in one message") }
        if message.records.isEmpty { problems.append("no records") }
        for record in message.records {
            func integer(_ key: String, required: Bool) -> Int64? {
                do { return try record.integer(key, required: required) } catch {
                    problems.append("\(error)")
                    return nil
                }
            }
            switch message.kind {
            case .job:
                for key in ["Site", "LocalJobId"] where record.value(key) == nil { problems.append("\(key) missing") }
                let start = integer("StartTime", required: true), end = integer("EndTime", required: true)
                _ = integer("WallDuration", required: true); _ = integer("CpuDuration", required: true)
                _ = integer("Processors", required: false); _ = integer("NodeCount", required: false)
                _ = integer("MemoryReal", required: false)
                if let start, let end, end < start { problems.append("EndTime before StartTime") }
                if let end, end > now + 2 * 86_400 { problems.append("EndTime in the future") }
                guard let type = record.value("ServiceLevelType"), serviceLevelTypes.contains(type.lowercased()),
                      let level = record.value("ServiceLevel"), Double(level) != nil else {
                    problems.append("ServiceLevelType/ServiceLevel missing or invalid at line \(record.line)")
                    continue
                }
            case .summary:
                for key in ["Site"] where record.value(key) == nil { problems.append("\(key) missing") }
                guard let month = integer("Month", required: true), let year = integer("Year", required: true) else { continue }
                if !(1...12).contains(month) { problems.append("Month \(month)") }
                let monthNumber = year * 12 + month - 1
                let first = UTCMonth.firstDay(monthNumber) * 86_400, end = UTCMonth.firstDay(monthNumber + 1) * 86_400
                if first > now { problems.append("summary month in the future") }
                for key in ["WallDuration", "CpuDuration", "NumberOfJobs"] {
                    if let value = integer(key, required: true), value < 0 { problems.append("\(key) negative") }
                }
                let earliest = integer("EarliestEndTime", required: false), latest = integer("LatestEndTime", required: false)
                for value in [earliest, latest].compactMap({ $0 }) where value < first || value >= end {
                    problems.append("End time \(value) outside \(year)-\(month)")
                }
                if let earliest, let latest, earliest > latest { problems.append("EarliestEndTime after LatestEndTime") }
                if (record.value("ServiceLevelType") == nil) != (record.value("ServiceLevel") == nil) {
                    problems.append("one of ServiceLevelType/ServiceLevel")
                }
            case .sync:
                for key in ["Site"] where record.value(key) == nil { problems.append("\(key) missing") }
                _ = integer("NumberOfJobs", required: true); _ = integer("Month", required: true)
                _ = integer("Year", required: true)
            }
        }
        return problems
    }
}

@Suite struct APELMessageTests {
    @Test func goldenJobSummarySyncAndGPUMessages() {
        var job = APELJobRecord(site: "TEST-SITE", localJobID: "5940815", wallDuration: 177_896, cpuDuration: 747_636,
                                startTime: 1_748_916_672, endTime: 1_749_094_568, serviceLevelType: "HEPscore23",
                                serviceLevel: "12.5")
        job.submitHost = "ce01.example.org:8443/cream-slurm-prod"; job.machineName = "slurm.example.org"
        job.queue = "prod"; job.localUserID = "atlasprd019"; job.vo = "atlas"; job.voGroup = "/atlas"
        job.voRole = "Role=production"; job.processors = 8; job.nodeCount = 1
        job.infrastructureDescription = "APEL-CREAM-SLURM"; job.infrastructureType = "grid"; job.memoryReal = 2_031_040
        let writer = APELMessageWriter()
        #expect(writer.messages(header: APELMessageWriter.jobHeader, records: [job.fields]) == ["""
            APEL-individual-job-message: v0.3
            Site: TEST-SITE
            SubmitHost: ce01.example.org:8443/cream-slurm-prod
            MachineName: slurm.example.org
            Queue: prod
            LocalJobId: 5940815
            LocalUserId: atlasprd019
            VO: atlas
            VOGroup: /atlas
            VORole: Role=production
            WallDuration: 177896
            CpuDuration: 747636
            Processors: 8
            NodeCount: 1
            StartTime: 1748916672
            EndTime: 1749094568
            InfrastructureDescription: APEL-CREAM-SLURM
            InfrastructureType: grid
            MemoryReal: 2031040
            ServiceLevelType: HEPscore23
            ServiceLevel: 12.5
            %%

            """])
        var key = APELSummaryRecord.Key(site: "TEST-SITE", month: 6, year: 2025, serviceLevelType: "HEPSPEC", serviceLevel: "10.0")
        key.vo = "atlas"; key.voGroup = "/atlas"; key.voRole = "Role=production"
        key.submitHost = "ce01.example.org:8443/cream-slurm-prod"; key.infrastructureType = "grid"
        key.nodeCount = 1; key.processors = 8
        let summary = APELSummaryRecord(key: key, earliestEndTime: 1_748_736_300, latestEndTime: 1_751_327_400,
                                        wallDuration: 1_234_567, cpuDuration: 9_876_543, numberOfJobs: 42)
        #expect(writer.messages(header: APELMessageWriter.summaryHeader, records: [summary.fields]) == ["""
            APEL-summary-job-message: v0.2
            Site: TEST-SITE
            Month: 6
            Year: 2025
            VO: atlas
            VOGroup: /atlas
            VORole: Role=production
            SubmitHost: ce01.example.org:8443/cream-slurm-prod
            InfrastructureType: grid
            ServiceLevelType: HEPSPEC
            ServiceLevel: 10.0
            NodeCount: 1
            Processors: 8
            EarliestEndTime: 1748736300
            LatestEndTime: 1751327400
            WallDuration: 1234567
            CpuDuration: 9876543
            NumberOfJobs: 42
            %%

            """])
        let sync = APELSyncRecord(site: "TEST-SITE", submitHost: "ce01.example.org:8443/cream-slurm-prod",
                                  numberOfJobs: 42, month: 6, year: 2025)
        #expect(writer.messages(header: APELMessageWriter.syncHeader, records: [sync.fields]) == ["""
            APEL-sync-message: v0.1
            Site: TEST-SITE
            SubmitHost: ce01.example.org:8443/cream-slurm-prod
            NumberOfJobs: 42
            Month: 6
            Year: 2025
            %%

            """])
        let gpu = APELAcceleratorRecord(measurementMonth: 6, measurementYear: 2025, associatedRecord: "5940815",
                                        siteName: "TEST-SITE", count: 2, availableDuration: 355_792,
                                        model: "NVIDIA-A100-SXM4-80GB")
        let json = writer.acceleratorMessages([gpu])
        #expect(json.count == 1)
        let object = try? JSONSerialization.jsonObject(with: Data(json[0].utf8)) as? [String: Any]
        #expect(object?["Type"] as? String == "APEL-accelerator-message")
        #expect(object?["Version"] as? String == "0.1")
        let usage = (object?["UsageRecords"] as? [[String: Any]])?.first
        #expect(usage?["AvailableDuration"] as? Int == 355_792)
        #expect(usage?["Model"] as? String == "NVIDIA-A100-SXM4-80GB")
        #expect(usage?["AssociatedRecordType"] as? String == "job")
        #expect(usage?["Count"] as? Int == 2)
    }

    @Test func messagesSplitAtAThousandRecordsAndStayASCII() {
        let records = (0..<2500).map { index -> APELFields in
            var job = APELJobRecord(site: "Zürich", localJobID: "\(index)", wallDuration: 10, cpuDuration: 5,
                                    startTime: 100, endTime: 110, serviceLevelType: "HEPscore23", serviceLevel: "10.0")
            job.localUserID = "müller\nx"
            return job.fields
        }
        let messages = APELMessageWriter().messages(header: APELMessageWriter.jobHeader, records: records)
        #expect(messages.count == 3)
        #expect(messages.map { $0.components(separatedBy: "%%\n").count - 1 } == [1000, 1000, 500])
        #expect(messages.allSatisfy { $0.utf8.allSatisfy { $0 < 0x80 } })
        #expect(messages[0].contains("Site: Z?rich\n"))
        #expect(messages[0].contains("LocalUserId: m?ller x\n"))
    }

    @Test func theLoaderGrammar() throws {
        // CRLF, trailing spaces, Key:Value without a space, no final %%, a repeated key (last wins).
        let text = "APEL-individual-job-message: v0.3 \r\nSite:A\r\nLocalJobId: 1\r\nLocalJobId: 2\r\n\r\nWallDuration: 5"
        let message = try APELMessage(parsing: text)
        #expect(message.kind == .job)
        #expect(message.records.count == 1)
        #expect(message.records[0].fields["LocalJobId"] == "2")
        #expect(throws: APELMessage.Failure.self) { try APELMessage(parsing: "APEL-individual-job-message: v0.3\nFoo: 1\n%%\n") }
        #expect(throws: APELMessage.Failure.self) { try APELMessage(parsing: "APEL-summary-job-message: v0.1\n") }
    }
}

@Suite struct APELExportTests {
    static let config = "[site]\nname = \"TEST-SITE\"\n[[benchmark]]\nscore = 12.5\ntype = \"HS23\"\n"

    static func store(jobs: Int) async throws -> TemporaryStore {
        let temporary = try TemporaryStore()
        _ = try await temporary.store.apply(try ConfigLoader.parse(config).configuration, text: config)
        var generator = SacctGenerator(seed: 21, start: utc("2024-01-01"), days: 45, users: 9, accounts: 4,
                                       expectedJobs: jobs)
        var bytes = Array((generator.header + "\n").utf8)
        for _ in 0..<jobs { generator.appendJob(to: &bytes) }
        try await temporary.ingest(try temporary.write("generated.txt", String(decoding: bytes, as: UTF8.self)))
        return temporary
    }

    static let january: Int64 = 2024 * 12

    @Test func everyExportedMessageObeysAPELsLoader() async throws {
        let temporary = try await Self.store(jobs: 2600)
        let exporter = APELExport(configuration: await temporary.store.currentConfiguration())
        let now = Int64(Date().timeIntervalSince1970)
        var jobCount = 0
        for kind in [APELKind.job, .summary, .sync] {
            let result = try await exporter.export(kind, month: Self.january, store: temporary.store)
            #expect(!result.messages.isEmpty)
            #expect(result.skipped.isEmpty, "\(result.skipped)")
            for message in result.messages {
                #expect(APELLoaderRules.check(message, now: now) == [], "\(kind)")
            }
            if kind == .job {
                jobCount = result.records
                #expect(result.messages.count == (result.records + 999) / 1000)
            }
            if kind == .sync {
                // The sync count is the number of job records sent for the month.
                let synced = try APELMessage(parsing: result.messages[0]).records.reduce(Int64(0)) {
                    $0 + (try $1.integer("NumberOfJobs") ?? 0)
                }
                #expect(Int(synced) == jobCount)
            }
        }
        // Jobs ending in January, counted independently.
        let january = utc("2024-01-01")..<utc("2024-02-01")
        let expected = try await temporary.store.jobs(JobQuery()).filter { record in
            guard let end = record.end, let start = record.start else { return false }
            return january.contains(end) && start <= end
        }.count
        #expect(jobCount == expected)
    }

    @Test func summaryMessagesReceivedAreStoredAndSentOnUnchanged() async throws {
        let original = try await Self.store(jobs: 900)
        let exported = try TallyProcess.run(["export", "apel", "--db", original.path, "--kind", "summary",
                                             "--month", "2024-01", "--stdout"])
        #expect(exported.status == 0, "\(exported.stderr)")
        #expect(exported.stdout.hasPrefix(APELMessageWriter.summaryHeader))
        // One more record that APEL's loader would refuse: a month in the future.
        let file = try original.write("summaries.txt", exported.stdout + "Site: X\nMonth: 1\nYear: 2999\nWallDuration: 1\n"
                                      + "CpuDuration: 1\nNumberOfJobs: 1\n%%\n")
        let central = original.directory.appendingPathComponent("central.db").path
        let ingested = try TallyProcess.run(["ingest", "apel", "--db", central, file])
        #expect(ingested.status == 0, "\(ingested.stderr)")
        #expect(ingested.stderr.contains("1 rejected"), "\(ingested.stderr)")
        #expect(ingested.stderr.contains("2999-1 is in the future"), "\(ingested.stderr)")
        // Again: the same rows replace themselves.
        #expect(try TallyProcess.run(["ingest", "apel", "--db", central, file]).status == 0)
        let again = try TallyProcess.run(["export", "apel", "--db", central, "--kind", "summary", "--month", "2024-01",
                                          "--stdout"])
        #expect(again.status == 0, "\(again.stderr)")
        let same = again.stdout == exported.stdout
        #expect(same, "summaries differ after a summary-message round trip")
    }

    @Test func gpuRecordsCountTheGPUSecondsHeldInEachMonth() async throws {
        let temporary = try TemporaryStore()
        let file = try temporary.write("gpu.txt", [
            StoreBehaviourTests.header,
            "41|41|ann|phys|gpu|c1|2024-01-31T20:00:00|2024-01-31T22:00:00|2024-02-01T02:00:00|14400|00:10:00|cpu=8,mem=1G,node=1,gres/gpu=2|COMPLETED",
        ].joined(separator: "\n") + "\n")
        try await temporary.ingest(file)
        let exporter = APELExport(configuration: .empty)
        for (month, seconds) in [(Self.january, 2 * 7200), (Self.january + 1, 2 * 7200)] {
            let result = try await exporter.export(.gpu, month: month, store: temporary.store)
            #expect(result.records == 1)
            let object = try JSONSerialization.jsonObject(with: Data(result.messages[0].utf8)) as? [String: Any]
            let usage = (object?["UsageRecords"] as? [[String: Any]])?.first
            #expect(usage?["AvailableDuration"] as? Int == seconds)
            #expect(usage?["Count"] as? Int == 2)
            #expect(usage?["MeasurementMonth"] as? Int == Int(month % 12 + 1))
            #expect(usage?["FQAN"] as? String == "/phys/Role=NULL/Capability=NULL")
        }
    }

    /// Accelerator records name the VO as summaries do (aliases as they stand in that month), and
    /// carry the Cores, Benchmark and ActiveDuration Tally knows (from [[gpu_class]]; busy time
    /// is APEL's documented default, the time held).
    @Test func gpuRecordsApplyAliasesAndCarryWhatTallyKnows() async throws {
        let temporary = try TemporaryStore()
        let text = """
            [[alias]]
            kind = "account"
            from = "phys"
            to = "physics"
            valid_from = "2024-02-01"

            [[gpu_class]]
            models = ["a100*"]
            class = "A100"
            cores = 6912
            benchmark = 19.5
            benchmark_type = "FP64-TFLOPS"
            """
        _ = try await temporary.store.apply(try ConfigLoader.parse(text).configuration, text: text)
        let file = try temporary.write("gpu.txt", [
            StoreBehaviourTests.header,
            "42|42|ann|phys|gpu|c1|2024-01-31T20:00:00|2024-01-31T22:00:00|2024-02-01T02:00:00|14400|00:10:00|cpu=8,mem=1G,node=1,gres/gpu:a100=2,gres/gpu=2|COMPLETED",
        ].joined(separator: "\n") + "\n")
        try await temporary.ingest(file)
        let exporter = APELExport(configuration: await temporary.store.currentConfiguration())
        var fqans: [String] = []
        for month in [Self.january, Self.january + 1] {
            let result = try await exporter.export(.gpu, month: month, store: temporary.store)
            let object = try JSONSerialization.jsonObject(with: Data(result.messages[0].utf8)) as? [String: Any]
            let usage = try #require((object?["UsageRecords"] as? [[String: Any]])?.first)
            fqans.append(usage["FQAN"] as? String ?? "")
            #expect(usage["Cores"] as? Int == 2 * 6912)
            #expect(usage["ActiveDuration"] as? Int == 2 * 7200)
            #expect(usage["Benchmark"] as? Double == 19.5)
            #expect(usage["BenchmarkType"] as? String == "FP64-TFLOPS")
            #expect(usage["Model"] as? String == "a100")
        }
        #expect(fqans == ["/phys/Role=NULL/Capability=NULL", "/physics/Role=NULL/Capability=NULL"])
    }

    @Test func jobsWithoutABenchmarkAreListedNotDropped() async throws {
        let temporary = try TemporaryStore()
        let text = "[[benchmark]]\npartition = \"nothing-*\"\nscore = 10\n"
        _ = try await temporary.store.apply(try ConfigLoader.parse(text).configuration, text: text)
        try await temporary.ingest(Fixtures.path("slurm-sandbox/sacct-duplicates.txt"))
        let month = try await temporary.store.jobs(JobQuery()).compactMap(\.end).map { UTCMonth.of(day: UTCDay.of($0)) }.max()!
        let result = try await APELExport(configuration: await temporary.store.currentConfiguration())
            .export(.job, month: month, store: temporary.store)
        #expect(result.records == 0)
        #expect(result.skipped.values.reduce(0, +) > 0)
        // Sync records count what was sent: none here either.
        let sync = try await APELExport(configuration: await temporary.store.currentConfiguration())
            .export(.sync, month: month, store: temporary.store)
        #expect(sync.records == 0)
    }

    @Test func exportThenIngestAPELGivesIdenticalSummaries() async throws {
        let original = try await Self.store(jobs: 1800)
        let exporter = APELExport(configuration: await original.store.currentConfiguration())
        let queue = original.directory.appendingPathComponent("outgoing").path
        let jobs = try await exporter.export(.job, month: Self.january, store: original.store)
        for message in jobs.messages { try DirectoryQueue.add(message, to: queue) }
        // SSM's layout: 8-hex-digit directories of 14-hex-digit files, no temporary files left.
        let buckets = try FileManager.default.contentsOfDirectory(atPath: queue)
        #expect(buckets.allSatisfy { $0.count == 8 && $0.allSatisfy(\.isHexDigit) })
        var files: [String] = []
        for bucket in buckets {
            for name in try FileManager.default.contentsOfDirectory(atPath: queue + "/" + bucket) {
                #expect(name.count == 14 && name.allSatisfy(\.isHexDigit))
                files.append(queue + "/" + bucket + "/" + name)
            }
        }
        #expect(files.count == jobs.messages.count)

        let copy = try TemporaryStore()
        _ = try await copy.store.apply(try ConfigLoader.parse(Self.config).configuration, text: Self.config)
        let pipeline = IngestPipeline(store: copy.store)
        for file in files.sorted() {
            let result = try await pipeline.ingest(path: file, collector: APELCollector(file: file))
            #expect(result.totals.rejected == 0)
        }
        #expect(try await copy.store.status().records == Int64(jobs.records))
        let copied = APELExport(configuration: await copy.store.currentConfiguration())
        for kind in [APELKind.summary, .sync, .job] {
            let before = try await exporter.export(kind, month: Self.january, store: original.store).messages
            let after = try await copied.export(kind, month: Self.january, store: copy.store).messages
            if kind == .job {
                // Same records (order follows storage), but for where Tally read them from.
                func sorted(_ messages: [String]) -> [String] {
                    messages.joined().components(separatedBy: "%%\n").map {
                        $0.replacingOccurrences(of: APELMessageWriter.jobHeader + "\n", with: "")
                            .replacingOccurrences(of: "APEL-TALLY-SLURM", with: "APEL-TALLY-APEL")
                    }.sorted()
                }
                let same = sorted(before) == sorted(after)
                #expect(same, "job records differ after the round trip")
            } else {
                let same = before == after
                #expect(same, "\(kind) messages differ after the round trip")
            }
        }
    }
}
