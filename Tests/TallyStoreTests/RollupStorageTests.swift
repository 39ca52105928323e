import Foundation
import GRDB
import Testing
@testable import TallyCore
@testable import TallyStore

/// SQLite's summaries: rows keyed by (period, combination), amounts in a blob.
@Suite struct RollupStorageTests {
    static let query = ReportQuery(period: .month, groupBy: [.account, .user])

    @Test func amountsBlobRoundTripsEveryField() {
        var amounts = UsageAmounts()
        for (index, value) in [1, -2, 3, Int64.max, Int64.min, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15].enumerated() {
            amounts = RollupColumns.amounts({ $0 == Int32(index) ? Int64(value) : RollupColumns.values(amounts)[Int($0)] }, from: 0)
        }
        let bytes = RollupBlob.encode(amounts)
        #expect(bytes.count == RollupBlob.byteCount)
        #expect(bytes.withUnsafeBytes { RollupBlob.decode($0.baseAddress!) } == amounts)
    }

    @Test func sqlFunctionsAddAndReadAmounts() throws {
        let queue = try DatabaseQueue()
        try queue.inDatabase { db in
            try RollupBlob.registerFunctions(db)
            var left = UsageAmounts(), right = UsageAmounts()
            left.coreSeconds = 40; left.jobs = 1; right.coreSeconds = 2; right.jobs = -1; right.chargeMilli = 7
            let sum = try Data.fetchOne(db, sql: "SELECT tally_add(?, ?)",
                                        arguments: [Data(RollupBlob.encode(left)), Data(RollupBlob.encode(right))])!
            let decoded = sum.withUnsafeBytes { RollupBlob.decode($0.baseAddress!) }
            #expect(decoded.coreSeconds == 42 && decoded.jobs == 0 && decoded.chargeMilli == 7)
            #expect(try Int64.fetchOne(db, sql: "SELECT tally_amount(?, 2)", arguments: [sum]) == 42)
            // Anything but two amount blobs is an error, not a silent zero.
            #expect(throws: DatabaseError.self) { try Data.fetchOne(db, sql: "SELECT tally_add(x'00', x'00')") }
            #expect(throws: DatabaseError.self) { try Int64.fetchOne(db, sql: "SELECT tally_amount(?, 15)", arguments: [sum]) }
        }
    }

    @Test func rollupCoreSecondsEqualTheRecords() async throws {
        let temporary = try TemporaryStore()
        try await temporary.ingest(Fixtures.path("slurm-sandbox/sacct-fields.txt"))
        let report = try await temporary.store.report(ReportQuery(period: .total))
        let queue = try DatabaseQueue(path: temporary.path)
        let fromRollups = try await queue.read { db in
            try RollupBlob.registerFunctions(db)
            return try Int64.fetchOne(db, sql: "SELECT SUM(\(RollupBlob.column("core"))) FROM rollup_month r") ?? 0
        }
        #expect(fromRollups == report.total.coreSeconds)
        #expect(fromRollups > 0)
    }

    /// A database written before combinations existed (27-column rollups): opening it migrates,
    /// rebuilds the summaries, and keeps the configuration text recorded for later commands.
    @Test func migratingFromColumnRollupsRebuildsAndKeepsTheConfiguration() async throws {
        let temporary = try TemporaryStore()
        try await temporary.ingest(Fixtures.path("slurm-sandbox/sacct-fields.txt"))
        let store = try #require(temporary.store as? SQLiteStore)
        try await store.apply(.empty, text: "# the site's configuration\n")
        let before = try await store.report(Self.query)
        let queue = try DatabaseQueue(path: temporary.path)
        try await queue.write { db in
            try db.execute(sql: """
                DROP TABLE rollup_day; DROP TABLE rollup_month; DROP TABLE combo;
                CREATE TABLE rollup_day (day INTEGER NOT NULL, site INTEGER NOT NULL, jobs INTEGER NOT NULL,
                    PRIMARY KEY (day, site)) WITHOUT ROWID;
                CREATE TABLE rollup_month (month INTEGER NOT NULL, site INTEGER NOT NULL, jobs INTEGER NOT NULL,
                    PRIMARY KEY (month, site)) WITHOUT ROWID;
                INSERT INTO rollup_day VALUES (1, 1, 99);
                DELETE FROM grdb_migrations WHERE identifier LIKE 'v11:%';
                """)
        }
        try queue.close()
        let reopened = try SQLiteStore(path: temporary.path)
        let after = try await reopened.report(Self.query)
        #expect(after.rows == before.rows)
        #expect(after.basis.records == before.basis.records)
        let applied = try await reopened.appliedConfiguration()
        #expect(applied?.text == "# the site's configuration\n")
        #expect(applied?.fingerprint == TallyConfiguration.empty.fingerprintText)
    }
}
