import Foundation
import GRDB
import Testing
import TallyApp
import TallyCollectors
@testable import TallyCore
@testable import TallyStore

/// A large SQLite rebuild reads the job table on two threads; what it writes must be exactly what
/// one thread writes, and what ingest kept up to date before.
@Suite struct ParallelRebuildTests {
    /// Names no record carries (a GPU class, an alias target, an organisation): the scans give
    /// them provisional ids and the writer must store them.
    static let configuration = """
        [[benchmark]]
        score = 10.0
        valid_until = 2024-06-15
        [[benchmark]]
        score = 14.5
        valid_from = 2024-06-15
        [[gpu_class]]
        models = ["a100*"]
        class = "A100"
        factor = 4.0
        [[charge_rate]]
        partition = "gpu"
        core_hour = 1.0
        gpu_hour = 2.0
        minimum = 0.1
        [[alias]]
        kind = "account"
        from = "acct1"
        to = "pooled"
        [[user]]
        user = "user1"
        organisation = "Physics"
        """

    static let jobs = 12_000

    static func sacct() -> String {
        var generator = SacctGenerator(seed: 5, start: utc("2024-05-01"), days: 120, users: 30, accounts: 6,
                                       expectedJobs: jobs)
        var bytes = Array((generator.header + "\n").utf8)
        for _ in 0..<jobs { generator.appendJob(to: &bytes) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Every summary row by names, not ids: the two rebuilds may number new names and
    /// combinations differently.
    static func summaries(_ path: String) async throws -> [String] {
        let queue = try DatabaseQueue(path: path)
        return try await queue.read { db in
            var names: [Int64: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, value FROM dim") { names[row[0]] = row[1] }
            var combos: [Int64: String] = [:]
            let columns = ComboTable.columns.joined(separator: ", ")
            for row in try Row.fetchAll(db, sql: "SELECT id, \(columns) FROM combo") {
                combos[row[0]] = (1...ComboTable.columns.count).map { names[row[$0] as Int64] ?? "" }.joined(separator: "|")
            }
            var lines: [String] = []
            for (table, period) in [("rollup_day", "day"), ("rollup_month", "month")] {
                for row in try Row.fetchAll(db, sql: "SELECT \(period), combo, hex(amounts) FROM \(table)") {
                    lines.append("\(table) \(row[0] as Int64) \(combos[row[1]] ?? "?") \(row[2] as String)")
                }
            }
            return lines.sorted()
        }
    }

    /// Equal lists, or a short account of how they differ (not two lists of 20,000 rows).
    static func expectSame(_ actual: [String], _ expected: [String], _ what: String,
                           sourceLocation: SourceLocation = #_sourceLocation) {
        guard actual != expected else { return }
        let missing = Set(expected).subtracting(actual), extra = Set(actual).subtracting(expected)
        let message = "\(what): \(actual.count) rows, expected \(expected.count); missing \(missing.count), e.g. "
            + "\(missing.sorted().prefix(2)); unexpected \(extra.count), e.g. \(extra.sorted().prefix(2))"
        Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
    }

    @Test func twoThreadsWriteWhatOneWritesAndWhatIngestKept() async throws {
        let text = Self.sacct()
        var configured: [[String]] = []
        var counted: [Int64] = []
        for parallel in [false, true] {
            let temporary = try TemporaryStore()
            let store = try #require(temporary.store as? SQLiteStore)
            await store.rebuildInParallel(above: parallel ? 1 : .max)
            try await temporary.ingest(try temporary.write("jobs.txt", text))
            let kept = try await Self.summaries(temporary.path)
            // Without configuration, a rebuild gives back what ingest maintained row by row.
            let plain = try await store.rebuild()
            Self.expectSame(try await Self.summaries(temporary.path), kept, "parallel: \(parallel), after ingest")
            let stats = try #require(try await NormalisedReportTests.apply(Self.configuration, to: store))
            #expect(stats.records == plain.records)
            counted.append(stats.records)
            configured.append(try await Self.summaries(temporary.path))
            let report = try await store.report(ReportQuery(period: .total, groupBy: [.account, .gpuClass, .organisation]))
            #expect(report.rows.contains { $0.keys.first == "pooled" })
            #expect(report.rows.contains { $0.keys.contains("A100") })
            #expect(report.rows.contains { $0.keys.contains("Physics") })
        }
        #expect(configured[0].count > 1000)
        Self.expectSame(configured[1], configured[0], "configured")
        // Every job that touched time is counted once, whichever way it was read.
        #expect(counted[0] == counted[1])
        #expect(counted[0] > Int64(Self.jobs) / 2)
    }

    /// A scan or the writer failing partway rolls the whole rebuild back: the summaries stay as
    /// they were, no thread is left waiting, and the next rebuild works.
    @Test(arguments: [ParallelRebuild.Fault(scanFailsAfter: 0), ParallelRebuild.Fault(scanFailsAfter: 5),
                      ParallelRebuild.Fault(writerFailsAfter: 0), ParallelRebuild.Fault(writerFailsAfter: 7)])
    func aFailurePartwayLeavesTheSummariesAsTheyWere(fault: ParallelRebuild.Fault) async throws {
        let temporary = try TemporaryStore()
        let store = try #require(temporary.store as? SQLiteStore)
        await store.rebuildInParallel(above: 1)
        try await temporary.ingest(try temporary.write("jobs.txt", Self.sacct()))
        let before = try await Self.summaries(temporary.path)
        await store.injectRebuildFault(fault)
        await #expect(throws: ParallelRebuild.Fault.self) {
            try await NormalisedReportTests.apply(Self.configuration, to: store)
        }
        Self.expectSame(try await Self.summaries(temporary.path), before, "after \(fault)")
        await store.injectRebuildFault(nil)
        let stats = try #require(try await NormalisedReportTests.apply(Self.configuration, to: store))
        #expect(stats.records > Int64(Self.jobs) / 2)
        let report = try await store.report(ReportQuery(period: .total, groupBy: [.account]))
        #expect(report.rows.contains { $0.keys == ["pooled"] })
    }
}
