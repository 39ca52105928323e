import Foundation
@_exported import TallyTestSupport
import GRDB
import Logging
import PostgresNIO
import Testing
import TallyApp
import TallyCollectors
import TallyCore
import TallyStore

/// A fresh, empty store: a SQLite file in a temporary directory, or a new PostgreSQL database on
/// the test server.
final class TemporaryStore: @unchecked Sendable {
    let backend: Backend
    let directory: URL
    let store: any UsageStore
    /// What `--db` takes: the file's path or the database's URL.
    let path: String

    /// A SQLite store.
    init() throws {
        backend = .sqlite
        directory = Self.makeDirectory()
        path = directory.appendingPathComponent("tally.db").path
        store = try SQLiteStore(path: path)
    }

    init(_ backend: Backend) async throws {
        self.backend = backend
        directory = Self.makeDirectory()
        switch backend {
        case .sqlite:
            path = directory.appendingPathComponent("tally.db").path
            store = try SQLiteStore(path: path)
        case .postgres:
            (store, path) = try await backend.makeStore(in: directory)
        }
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    private static func makeDirectory() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tally-test-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A second store on the same database, as another process would open it.
    func openAgain() async throws -> any UsageStore {
        switch backend {
        case .sqlite: try SQLiteStore(path: path)
        case .postgres: try await PostgresStore(url: path)
        }
    }

    func write(_ name: String, _ text: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    @discardableResult
    func ingest(_ path: String, options: SacctCollector.Options = .init(timeZone: TimeZone(identifier: "UTC")!),
                batchSize: Int = 16_384) async throws -> IngestPipeline.FileResult {
        let pipeline = IngestPipeline(store: store, batchSize: batchSize)
        return try await pipeline.ingest(path: path, collector: SacctCollector(file: path, options: options))
    }

    static let digestTables = [
        ("job", "id"), ("rollup_day", "day, site, cluster, account, grp, usr, partition, qos, state, gpu_model"),
        ("dim", "id"), ("meta", "key"), ("rejected_line", "id"),
    ]
    /// SQLite keeps fact blocks (blobs, shown as hex) instead of rollups.
    static let sqliteDigestTables = [
        ("job", "id"), ("fact_block", "block"),
        ("dim", "id"), ("meta", "key"), ("rejected_line", "id"),
    ]

    /// Every row of every data table, in a stable order: equal digests, equal databases.
    func digest() async throws -> String {
        var out = ""
        switch backend {
        case .sqlite:
            let queue = try DatabaseQueue(path: path)
            out = try await queue.read { db in
                var text = ""
                for (table, order) in Self.sqliteDigestTables {
                    // The write generation counts writes, not content.
                    let filter = table == "meta" ? " WHERE key <> 'generation'" : ""
                    for row in try Row.fetchAll(db, sql: "SELECT * FROM \(table)\(filter) ORDER BY \(order)") {
                        text += table + ":" + row.description + "\n"
                    }
                }
                return text
            }
        case .postgres:
            try await TestPostgres.withClient(path) { client, logger in
                for (table, order) in Self.digestTables {
                    // The write generation counts writes, not content.
                    let filter = table == "meta" ? " WHERE key <> 'generation'" : ""
                    let rows = try await client.query(PostgresQuery(unsafeSQL: """
                        SELECT row_to_json(t)::text FROM \(table) t\(filter) ORDER BY \(order)
                        """), logger: logger)
                    for try await text in rows.decode(String.self) { out += table + ":" + text + "\n" }
                }
            }
        }
        return out
    }
}

let utcZone = TimeZone(identifier: "UTC")!
let utcCalendar = PeriodCalendar(timeZone: utcZone)

func utc(_ text: String) -> Int64 { utcCalendar.parse(text)! }
