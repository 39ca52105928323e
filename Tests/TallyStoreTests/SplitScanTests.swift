import Foundation
import GRDB
import Testing
import TallyApp
import TallyCollectors
@testable import TallyCore
@testable import TallyStore

/// SQLite reports scan the fact blocks on two connections at once; the halves must add up to
/// exactly what one scan gives, and never mix two states of the data.
@Suite struct SplitScanTests {
    @Test func longReportsAreSplitAndStillEqualBruteForce() async throws {
        // Enough jobs for several fact blocks (4,096 jobs each).
        let temporary = try await TemporaryStore(.sqlite)
        var generator = SacctGenerator(seed: 5, start: utc("2024-01-01"), days: 120, users: 30, accounts: 6, expectedJobs: 10_000)
        var bytes = Array((generator.header + "\n").utf8)
        for _ in 0..<10_000 { generator.appendJob(to: &bytes) }
        let path = try temporary.write("jobs.txt", String(decoding: bytes, as: UTF8.self))
        try await temporary.ingest(path)
        var collector = SacctCollector(file: path, options: .init(timeZone: utcZone))
        var records: [UsageRecord] = []
        try await CollectorDriver.run(path: path, collector: &collector) { records += $0.records }
        let store = try #require(temporary.store as? SQLiteStore)
        let cases: [(PeriodKind, [ReportDimension], String)] = [
            (.day, [.user], "UTC"), (.week, [.account], "UTC"), (.month, [.user, .partition], "UTC"),
            (.day, [.account], "Asia/Kolkata"),
        ]
        for (period, by, zone) in cases {
            let timeZone = TimeZone(identifier: zone)!
            let before = await store.factReports.answered
            let report = try await store.report(ReportQuery(period: period, groupBy: by, timeZone: timeZone))
            #expect(await store.factReports.answered == before + 1, "\(period) \(by) \(zone) was not split")
            let periods = PeriodCalendar(timeZone: timeZone).periods(period, covering: report.window)
            let expected = ReportPropertyTests.bruteForce(records, periods: periods, by: by, filters: [:])
            var actual: [String: UsageAmounts] = [:]
            for row in report.rows {
                actual["\(row.period.label)#\(row.keys.joined(separator: "|"))", default: UsageAmounts()] += row.amounts
            }
            #expect(actual == expected, "\(period) \(by) \(zone)")
            // Rows stay in period order, then by name, each (period, keys) once.
            let order = report.rows.map { ($0.period.start, $0.keys) }
            #expect(zip(order, order.dropFirst()).allSatisfy { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1.lexicographicallyPrecedes($1.1)) })
        }
    }

    @Test func everyWriteMovesTheGeneration() async throws {
        let dataset = try await ReportPropertyTests.makeDataset(.sqlite)
        let queue = try DatabaseQueue(path: dataset.temporary.path)
        let afterIngest = try await queue.read { try Schema.generation($0) }
        #expect(afterIngest > 0)
        let store = try #require(dataset.temporary.store as? SQLiteStore)
        try await store.rebuild()
        #expect(try await queue.read { try Schema.generation($0) } == afterIngest + 1)
        var generator = SacctGenerator(seed: 3, start: utc("2024-03-01"), days: 2, users: 2, accounts: 1, expectedJobs: 5)
        var bytes = Array((generator.header + "\n").utf8)
        for _ in 0..<5 { generator.appendJob(to: &bytes) }
        try await dataset.temporary.ingest(try dataset.temporary.write("more.txt", String(decoding: bytes, as: UTF8.self)))
        #expect(try await queue.read { try Schema.generation($0) } > afterIngest + 1)
    }

    /// Another process writes one batch across the whole year between the two halves of a
    /// report: the report must notice, start again, and show the data after that batch (never
    /// half of each); reports running beside a write show one state or the other.
    @Test func aWriteBetweenTheHalvesStartsTheReportAgain() async throws {
        let temporary = try await TemporaryStore(.sqlite)
        var generator = SacctGenerator(seed: 11, start: utc("2024-01-01"), days: 366, users: 20, accounts: 5, expectedJobs: 20_000)
        var first = Array((generator.header + "\n").utf8), second = first
        // Enough jobs for more than one fact block (4,096 jobs), so the fact scan is split too.
        for index in 0..<20_000 {
            if index % 2 == 0 { generator.appendJob(to: &first) } else { generator.appendJob(to: &second) }
        }
        try await temporary.ingest(try temporary.write("first.txt", String(decoding: first, as: UTF8.self)))
        let store = try #require(temporary.store as? SQLiteStore)
        let query = ReportQuery(period: .day, groupBy: [.user])
        let beforeJobs = try await store.report(query).total.jobs
        let writer = try await temporary.openAgain()
        let secondPath = try temporary.write("second.txt", String(decoding: second, as: UTF8.self))
        let written = Flag()
        await store.runBetweenHalves {
            guard await written.setOnce() else { return }
            let pipeline = IngestPipeline(store: writer, batchSize: 100_000)
            _ = try await pipeline.ingest(path: secondPath, collector: SacctCollector(file: secondPath, options: .init(timeZone: utcZone)))
        }
        func restarts() async -> Int {
            await store.factReports.restarted
        }
        let restartedBefore = await restarts()
        let racing = try await store.report(query)
        #expect(await restarts() == restartedBefore + 1)
        await store.runBetweenHalves(nil)
        let afterJobs = try await store.report(query).total.jobs
        #expect(afterJobs > beforeJobs)
        #expect(racing.total.jobs == afterJobs)
        #expect(racing.rows == (try await store.report(query)).rows)
    }
}

/// Set once, from any task.
private actor Flag {
    private var isSet = false
    /// True the first time only.
    func setOnce() -> Bool {
        defer { isSet = true }
        return !isSet
    }
}
