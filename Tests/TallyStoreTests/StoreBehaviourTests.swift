import Foundation
import Testing
import TallyApp
import TallyCollectors
@testable import TallyCore
@testable import TallyStore

@Suite struct StoreBehaviourTests {
    static let header = "JobID|JobIDRaw|User|Account|Partition|Cluster|Submit|Start|End|ElapsedRaw|TotalCPU|AllocTRES|State"

    static func line(_ id: Int, user: String = "alice", account: String = "proj", start: String, end: String,
                     elapsed: Int64, state: String = "COMPLETED", cores: Int = 1, cpu: String = "00:00:00") -> String {
        "\(id)|\(id)|\(user)|\(account)|cpu|c1|2024-01-01T00:00:00|\(start)|\(end)|\(elapsed)|\(cpu)|cpu=\(cores),mem=1G,node=1|\(state)"
    }

    @Test(arguments: Backend.all) func ingestingTheSameFileTwiceChangesNothing(backend: Backend) async throws {
        let temporary = try await TemporaryStore(backend)
        let path = Fixtures.path("slurm-sandbox/sacct-duplicates.txt")
        let first = try await temporary.ingest(path)
        let before = try await temporary.digest()
        let second = try await temporary.ingest(path, batchSize: 5)
        #expect(first.totals.inserted == 28)
        #expect(second.totals.inserted == 0)
        #expect(second.totals.updated == 0)
        #expect(second.totals.unchanged == 28)
        #expect(try await temporary.digest() == before)
        // The same jobs from another capture of the same cluster (without the requeued run) add nothing.
        let other = try await temporary.ingest(Fixtures.path("slurm-sandbox/sacct-fields.txt"))
        #expect(other.totals.inserted == 0)
        #expect(try await temporary.digest() == before)
        let status = try await temporary.store.status()
        #expect(status.records == 28)
        #expect(status.sources.count == 2)
    }

    @Test(arguments: Backend.all) func runningJobIsReplacedByItsFinalLine(backend: Backend) async throws {
        let temporary = try await TemporaryStore(backend)
        let running = try temporary.write("running.txt", Self.header + "\n"
            + Self.line(7, start: "2024-03-01T10:00:00", end: "Unknown", elapsed: 1800, state: "RUNNING", cores: 4) + "\n")
        let done = try temporary.write("done.txt", Self.header + "\n"
            + Self.line(7, start: "2024-03-01T10:00:00", end: "2024-03-02T02:00:00", elapsed: 57_600, cores: 4) + "\n")
        try await temporary.ingest(running)
        #expect(try await temporary.store.status().recordsByState.map { "\($0.state)=\($0.count)" } == ["running=1"])
        let query = ReportQuery(window: utc("2024-03-01")..<utc("2024-03-03"), period: .day)
        let provisional = try await temporary.store.report(query)
        #expect(provisional.total.coreSeconds == 4 * 1800)
        let replaced = try await temporary.ingest(done)
        #expect(replaced.totals.updated == 1)
        let final = try await temporary.store.report(query)
        #expect(final.rows.map(\.amounts.coreSeconds) == [4 * 50_400, 4 * 7_200])
        #expect(final.total.jobs == 1)
        #expect(try await temporary.store.jobs(JobQuery()).map(\.state) == [.completed])
        // A stale running line read later does not undo the final state.
        let stale = try await temporary.ingest(running)
        #expect(stale.totals.unchanged == 1)
        #expect(try await temporary.store.report(query).rows == final.rows)
        // Counts per state follow the replacement (kept by the writers, not counted from the table).
        let status = try await temporary.store.status()
        #expect(status.records == 1)
        #expect(status.recordsByState.map { "\($0.state)=\($0.count)" } == ["completed=1"])

        // The database equals one that only ever saw the final line.
        let fresh = try await TemporaryStore(backend)
        try await fresh.ingest(try fresh.write("done.txt", try String(contentsOfFile: done, encoding: .utf8)))
        #expect(try await fresh.store.report(query).rows == final.rows)
    }

    /// The same job several times in one batch (a running line, its final line, the running line
    /// again), on its own and over a stored version: counted once, with its final figures.
    @Test(arguments: Backend.all) func repeatedLinesInOneBatchCountTheJobOnce(backend: Backend) async throws {
        let running = Self.line(7, start: "2024-03-01T10:00:00", end: "Unknown", elapsed: 1800, state: "RUNNING", cores: 4)
        let done = Self.line(7, start: "2024-03-01T10:00:00", end: "2024-03-02T02:00:00", elapsed: 57_600, cores: 4)
        let other = Self.line(8, start: "2024-03-01T12:00:00", end: "2024-03-01T13:00:00", elapsed: 3600, cores: 2)
        let query = ReportQuery(window: utc("2024-03-01")..<utc("2024-03-03"), period: .day)
        let expected = [4 * 50_400 + 2 * 3600, 4 * 7_200].map(Int64.init)

        let temporary = try await TemporaryStore(backend)
        let mixed = try await temporary.ingest(try temporary.write("mixed.txt",
            [Self.header, running, other, done, running].joined(separator: "\n") + "\n"))
        #expect("\(mixed.totals.inserted) \(mixed.totals.updated) \(mixed.totals.unchanged)" == "2 1 1")
        #expect(try await temporary.store.report(query).rows.map(\.amounts.coreSeconds) == expected)
        #expect(try await temporary.store.status().records == 2)

        let stored = try await TemporaryStore(backend)
        try await stored.ingest(try stored.write("running.txt", [Self.header, running].joined(separator: "\n") + "\n"))
        let again = try await stored.ingest(try stored.write("again.txt",
            [Self.header, done, other, running, done].joined(separator: "\n") + "\n"))
        #expect("\(again.totals.inserted) \(again.totals.updated) \(again.totals.unchanged)" == "1 1 2")
        #expect(try await stored.store.report(query).rows.map(\.amounts.coreSeconds) == expected)
        let states = try await stored.store.status().recordsByState.map { "\($0.state)=\($0.count)" }
        #expect(states == ["completed=2"])
    }

    @Test(arguments: Backend.all) func jobAcrossAMonthBoundaryIsSplitToTheSecond(backend: Backend) async throws {
        let temporary = try await TemporaryStore(backend)
        let path = try temporary.write("split.txt", Self.header + "\n"
            + Self.line(1, start: "2024-01-31T23:00:00", end: "2024-02-01T01:00:00", elapsed: 7200, cpu: "01:00:00") + "\n")
        try await temporary.ingest(path)
        let report = try await temporary.store.report(ReportQuery(
            window: utc("2024-01-01")..<utc("2024-03-01"), period: .month, groupBy: [.user]))
        #expect(report.rows.map(\.period.label) == ["2024-01", "2024-02"])
        #expect(report.rows.map(\.amounts.wallSeconds) == [3600, 3600])
        #expect(report.rows.map(\.amounts.cpuSeconds) == [1800, 1800])
        #expect(report.rows.map(\.amounts.jobs) == [0, 1])
        // In Berlin (UTC+1) the whole job falls in February; no rollup day can answer that alone.
        let berlin = try await temporary.store.report(ReportQuery(
            window: nil, period: .month, timeZone: TimeZone(identifier: "Europe/Berlin")!))
        #expect(berlin.rows.map(\.period.label) == ["2024-02"])
        #expect(berlin.total.wallSeconds == 7200)
    }

    @Test(arguments: Backend.all) func rejectedLinesAreStoredAndCounted(backend: Backend) async throws {
        let temporary = try await TemporaryStore(backend)
        let path = try temporary.write("bad.txt", Self.header + "\n"
            + Self.line(1, start: "2024-03-01T10:00:00", end: "2024-03-01T11:00:00", elapsed: 3600) + "\n"
            + "2|2|bob\n"
            + Self.line(3, start: "2024-03-01T12:00:00", end: "2024-03-01T11:00:00", elapsed: 3600) + "\n"
            + Self.line(4, start: "2024-03-01T10:00:00", end: "2024-03-01T11:00:00", elapsed: 3600) + "\n")
        let result = try await temporary.ingest(path)
        #expect(result.totals.records == 2)
        #expect(result.totals.rejected == 2)
        let status = try await temporary.store.status()
        #expect(status.rejectedLines == 2)
        #expect(status.recentRejections.map(\.position.line) == [3, 4])
        #expect(status.recentRejections.allSatisfy { $0.position.file == path })
        let report = try await temporary.store.report(ReportQuery(period: .total))
        #expect(report.basis.rejectedLines == 2)
        #expect(report.basis.records == 2)
    }

    /// APEL's Torque test log: a lost space and an end before start are salvaged, flagged and
    /// charged; the flags are stored and shown by `tally status`, beside (not among) the rejects.
    @Test(arguments: Backend.all) func flaggedRecordsAreStoredAndShown(backend: Backend) async throws {
        let temporary = try await TemporaryStore(backend)
        let path = Fixtures.path("pbs/apel-test-torque-accounting.log")
        let pipeline = IngestPipeline(store: temporary.store)
        let result = try await pipeline.ingest(path: path, collector: PBSCollector(
            file: path, options: .init(cluster: "grid", timeZone: TimeZone(identifier: "UTC")!)))
        #expect(result.totals.rejected == 0)
        #expect(result.totals.flagged == 5)
        #expect(IngestSummary.text(result).contains("5 kept with a flag"))
        let status = try await temporary.store.status()
        #expect(status.records == 7)
        #expect(status.rejectedLines == 0)
        #expect(status.flaggedLines == 5)
        #expect(status.recentFlags.map(\.position.line) == [1, 4, 8, 8, 9])
        let text = StatusText.render(status, path: temporary.path, calendar: PeriodCalendar(timeZone: TimeZone(identifier: "UTC")!))
        #expect(text.contains("records kept with a flag (repaired or doubtful, still charged): 5"))
        #expect(text.contains("no space between etime and start"))
    }

    /// Taking out a source leaves what a report would say had it never been read (PostgreSQL's
    /// rollups are rebuilt; SQLite's fact slots are cleared).
    @Test(arguments: Backend.all) func removingASourceLeavesTheRest(backend: Backend) async throws {
        let temporary = try await TemporaryStore(backend)
        let kept = try temporary.write("kept.txt", Self.header + "\n"
            + Self.line(1, start: "2024-03-01T10:00:00", end: "2024-03-01T11:00:00", elapsed: 3600) + "\n")
        let mistaken = try temporary.write("mistaken.txt", Self.header + "\n"
            + Self.line(2, user: "mallory", start: "2024-03-02T10:00:00", end: "2024-03-02T12:00:00", elapsed: 7200) + "\n"
            + "3|3|bad\n")
        try await temporary.ingest(kept)
        try await temporary.ingest(mistaken)
        #expect(try await temporary.store.report(ReportQuery(period: .total)).total.wallSeconds == 3600 + 7200)
        let removal = try await temporary.store.removeSource(path: mistaken, format: nil)
        #expect(removal.sources == 1 && removal.records == 1 && removal.rejectedLines == 1)
        let report = try await temporary.store.report(ReportQuery(period: .total, groupBy: [.user]))
        #expect(report.rows.map(\.keys) == [["alice"]])
        #expect(report.total.wallSeconds == 3600)
        let status = try await temporary.store.status()
        #expect(status.records == 1 && status.rejectedLines == 0 && status.sources.count == 1)
        #expect(try await temporary.store.checkpoint(format: "slurm", path: mistaken) == nil)
        #expect(try await temporary.store.removeSource(path: mistaken, format: nil).sources == 0)
    }

    @Test(arguments: Backend.all) func filtersAndRoundTrip(backend: Backend) async throws {
        let temporary = try await TemporaryStore(backend)
        let path = Fixtures.path("slurm-sandbox/sacct-duplicates.txt")
        try await temporary.ingest(path)
        let chem = try await temporary.store.report(ReportQuery(period: .total, groupBy: [.user],
                                                               filters: [.account: ["chem"]]))
        #expect(chem.rows.map { $0.keys[0] } == ["bob", "carol"])
        #expect(chem.total.coreSeconds == 98)
        let failed = try await temporary.store.report(ReportQuery(period: .total, filters: [.state: ["FAILED"]]))
        #expect(failed.total.jobs == 4)
        let nobody = try await temporary.store.report(ReportQuery(period: .total, filters: [.user: ["nobody"]]))
        #expect(nobody.rows.isEmpty)

        // Records come back exactly as collected.
        var collector = SacctCollector(file: path, options: .init(timeZone: utcZone))
        var collected: [UsageRecord] = []
        try await CollectorDriver.run(path: path, collector: &collector) { collected += $0.records }
        let stored = try await temporary.store.jobs(JobQuery())
        #expect(stored.count == collected.count)
        let storedByKey = Dictionary(uniqueKeysWithValues: stored.map { ($0.naturalKey, $0) })
        for record in collected {
            #expect(storedByKey[record.naturalKey] == record)
        }
        let one = try await temporary.store.jobs(JobQuery(jobID: "14_2"))
        #expect(one.map(\.localJobID) == ["22"])
    }
}

@Suite struct FormatRoundTripTests {
    @Test(arguments: Backend.all) func everySourceFormatReadsBackAsItself(backend: Backend) async throws {
        #expect(Set(SourceFormat.allCases.map(\.code)).count == SourceFormat.allCases.count)
        let temporary = try await TemporaryStore(backend)
        let run = try await temporary.store.beginIngest(format: .slurm, path: "roundtrip")
        var batch = CollectedBatch()
        for (index, format) in SourceFormat.allCases.enumerated() {
            batch.records.append(try UsageRecord(
                site: "s", cluster: "c", source: format, jobID: "\(index)", localJobID: "\(index)",
                naturalKey: "s/\(format.rawValue)/c/\(index)", user: "u", group: nil, account: nil, partition: nil,
                qos: nil, submit: 100, start: 100, end: 200, wallSeconds: 100, cores: 1, state: .completed,
                origin: SourcePosition(file: "roundtrip", line: index + 1)))
        }
        _ = try await temporary.store.write(batch, in: run)
        let stored = try await temporary.store.jobs(JobQuery())
        #expect(Set(stored.map(\.source)) == Set(SourceFormat.allCases))
        for record in stored { #expect(record.naturalKey.contains("/\(record.source.rawValue)/")) }
    }
}
