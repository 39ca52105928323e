import Foundation
@_exported import TallyTestSupport
import GRDB
import TallyApp
import TallyCollectors
import TallyCore
import TallyStore

/// A fresh SQLite file in a temporary directory, removed with the directory.
final class TemporaryStore {
    let directory: URL
    let store: SQLiteStore
    var path: String { directory.appendingPathComponent("tally.db").path }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("tally-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        store = try SQLiteStore(path: directory.appendingPathComponent("tally.db").path)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

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

    /// Every row of every data table, in a stable order: equal digests, equal databases.
    func digest() throws -> String {
        let queue = try DatabaseQueue(path: path)
        return try queue.read { db in
            var out = ""
            for (table, order) in [("job", "id"), ("rollup_day", "day, site, cluster, account, grp, usr, partition, qos, state, gpu_model"),
                                   ("dim", "id"), ("meta", "key"), ("rejected_line", "id")] {
                for row in try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY \(order)") {
                    out += table + ":" + row.description + "\n"
                }
            }
            return out
        }
    }
}

let utcZone = TimeZone(identifier: "UTC")!
let utcCalendar = PeriodCalendar(timeZone: utcZone)

func utc(_ text: String) -> Int64 { utcCalendar.parse(text)! }
