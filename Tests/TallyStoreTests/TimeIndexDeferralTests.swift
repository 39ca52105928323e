import Foundation
import GRDB
import Synchronization
import Testing
import TallyApp
import TallyCollectors
@testable import TallyCore
@testable import TallyStore

/// A bulk load into SQLite drops the `t0` index once it has more than doubled the table and
/// builds it again at its end; small loads keep it; a load that died leaves it to the next one.
@Suite struct TimeIndexDeferralTests {
    /// Jobs in random time order, enough to cross `TimeIndexDeferral.minimumRows`.
    static func bulkFile(_ temporary: TemporaryStore, jobs: Int, seed: UInt64) throws -> String {
        var generator = SacctGenerator(seed: seed, start: utc("2024-01-01"), days: 200, users: 40, accounts: 9,
                                       expectedJobs: jobs, shape: .highCardinality)
        var bytes = Array((generator.header + "\n").utf8)
        for _ in 0..<jobs { generator.appendJob(to: &bytes) }
        return try temporary.write("jobs-\(seed).txt", String(decoding: bytes, as: UTF8.self))
    }

    static func indexExists(_ path: String) throws -> Bool {
        var configuration = Configuration()
        configuration.readonly = true
        return try DatabaseQueue(path: path, configuration: configuration).read(TimeIndexDeferral.exists)
    }

    @Test func aBulkLoadBuildsTheIndexAtItsEndAndListsTheSameJobs() async throws {
        let temporary = try await TemporaryStore(.sqlite)
        let jobs = Int(TimeIndexDeferral.minimumRows) + 12_000
        let path = try Self.bulkFile(temporary, jobs: jobs, seed: 21)
        let seen = IndexStates()
        let databasePath = temporary.path
        let pipeline = IngestPipeline(store: temporary.store)
        let result = try await pipeline.ingest(path: path, collector: SacctCollector(file: path, options: .init(timeZone: utcZone))) { _ in
            seen.note((try? Self.indexExists(databasePath)) ?? true)
        }
        #expect(result.failure == nil)
        #expect(result.totals.inserted == jobs)
        #expect(seen.states.first == true, "small at first: the index is kept")
        #expect(seen.states.contains(false), "dropped during the bulk load")
        #expect(try Self.indexExists(databasePath), "built again at the end")

        // A windowed listing (which reads through the index) equals the records touching it.
        var collector = SacctCollector(file: path, options: .init(timeZone: utcZone))
        var records: [UsageRecord] = []
        try await CollectorDriver.run(path: path, collector: &collector) { records += $0.records }
        let window = utc("2024-03-01")..<utc("2024-03-08")
        let expected = Set(records.filter { record in
            guard let span = record.usage.touchSpan else { return false }
            return span.lowerBound < window.upperBound && span.upperBound > window.lowerBound
        }.map(\.naturalKey))
        let listed = try await temporary.store.jobs(JobQuery(window: window))
        #expect(!expected.isEmpty)
        #expect(listed.count == expected.count)
        #expect(Set(listed.map(\.naturalKey)) == expected)
        let starts = listed.map { $0.usage.touchSpan!.lowerBound }
        #expect(starts == starts.sorted(), "in t0 order")
    }

    @Test func aSmallLoadKeepsTheIndexAndALostIndexIsRebuilt() async throws {
        let temporary = try await TemporaryStore(.sqlite)
        let small = try Self.bulkFile(temporary, jobs: 2_000, seed: 22)
        let seen = IndexStates()
        let databasePath = temporary.path
        let pipeline = IngestPipeline(store: temporary.store, batchSize: 500)
        _ = try await pipeline.ingest(path: small, collector: SacctCollector(file: small, options: .init(timeZone: utcZone))) { _ in
            seen.note((try? Self.indexExists(databasePath)) ?? false)
        }
        #expect(!seen.states.isEmpty && seen.states.allSatisfy { $0 })

        // As a load that died after dropping it would leave the file; the next ingest repairs it.
        try await DatabaseQueue(path: databasePath).write { try $0.execute(sql: TimeIndexDeferral.drop) }
        #expect(try !Self.indexExists(databasePath))
        let next = try Self.bulkFile(temporary, jobs: 10, seed: 23)
        _ = try await temporary.ingest(next)
        #expect(try Self.indexExists(databasePath))
    }
}

/// What the progress callback saw, in order.
private final class IndexStates: Sendable {
    private let seen = Mutex<[Bool]>([])
    func note(_ exists: Bool) { seen.withLock { $0.append(exists) } }
    var states: [Bool] { seen.withLock { $0 } }
}
