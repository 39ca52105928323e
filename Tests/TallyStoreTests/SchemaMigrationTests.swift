import Foundation
import GRDB
import Testing
@testable import TallyCore
@testable import TallyStore

/// Older SQLite files open, migrate and answer as before.
@Suite struct SchemaMigrationTests {
    static let query = ReportQuery(period: .month, groupBy: [.account, .user])

    /// A file from before v13 (summaries by combination beside fact blocks without hosts, and a
    /// v11 marker in place of the configuration): opening it drops the summaries, fills the
    /// fact blocks again, keeps the configuration text, and answers as before.
    @Test func openingAFileWithRollupsDropsThemAndAnswersAsBefore() async throws {
        let temporary = try TemporaryStore()
        try await temporary.ingest(Fixtures.path("slurm-sandbox/sacct-fields.txt"))
        let store = try #require(temporary.store as? SQLiteStore)
        try await store.apply(.empty, text: "# the site's configuration\n")
        let before = try await store.report(Self.query)
        #expect(before.total.coreSeconds > 0)
        let queue = try DatabaseQueue(path: temporary.path)
        try await queue.write { db in
            try db.execute(sql: Schema.rollupTable("rollup_day", period: "day"))
            try db.execute(sql: Schema.rollupTable("rollup_month", period: "month"))
            try db.execute(sql: Schema.comboTable)
            try db.execute(sql: "INSERT INTO rollup_day VALUES (1, 1, x'00')")
            try db.execute(sql: "DELETE FROM fact_block")
            try db.execute(sql: "UPDATE applied_configuration SET fingerprint = ?", arguments: [Schema.rebuildMarker])
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier LIKE 'v13:%'")
        }
        try queue.close()
        let reopened = try SQLiteStore(path: temporary.path)
        let after = try await reopened.report(Self.query)
        #expect(after.rows == before.rows)
        #expect(after.basis.records == before.basis.records)
        let applied = try await reopened.appliedConfiguration()
        #expect(applied?.text == "# the site's configuration\n")
        #expect(applied?.fingerprint == TallyConfiguration.empty.fingerprintText)
        let check = try DatabaseQueue(path: temporary.path)
        let tables = try await check.read { try String.fetchAll($0, sql: "SELECT name FROM sqlite_master WHERE type = 'table'") }
        #expect(!tables.contains("rollup_day") && !tables.contains("rollup_month") && !tables.contains("combo"))
        #expect(try await check.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM fact_block") } ?? 0 > 0)
    }

    /// Every job's first host is in its fact slot (host rules read it).
    @Test func factSlotsKeepTheFirstHost() async throws {
        let temporary = try TemporaryStore()
        try await temporary.ingest(Fixtures.path("slurm-sandbox/sacct-fields.txt"))
        let queue = try DatabaseQueue(path: temporary.path)
        let (hosts, expected) = try await queue.read { db -> (Set<String>, Set<String>) in
            var dictionary = DimensionDictionary()
            try dictionary.load(db)
            var hosts = Set<String>()
            try SQLiteStore.forEachFact(db) { hosts.insert(dictionary.value(FactSlot.host($0))) }
            let lists = try String?.fetchAll(db, sql: "SELECT node_list FROM job WHERE t0 IS NOT NULL")
            return (hosts, Set(lists.map { HostList.first($0 ?? "") }))
        }
        #expect(hosts == expected)
        #expect(hosts.contains { !$0.isEmpty })
    }
}
