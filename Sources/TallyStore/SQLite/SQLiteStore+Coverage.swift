import GRDB
import GRDBSQLite
import TallyCore

extension SQLiteStore {
    /// Days with data per site and cluster, from the daily rollups (no raw scan).
    public func coverage() async throws -> [ClusterCoverage] {
        try await refreshDimensions()
        let dictionary = dimensions
        return try await queue.read { db in
            let statement = try db.makeStatement(sql: """
                SELECT DISTINCT site, cluster, day FROM rollup_day ORDER BY site, cluster, day
                """)
            var builder = ClusterCoverage.Builder()
            try db.forEachRow(statement) { handle in
                let row = SQLiteRow(handle: handle)
                builder.add(site: dictionary.value(row.int(0)), cluster: dictionary.value(row.int(1)), day: row.int(2))
            }
            return builder.finish()
        }
    }

    /// Remembers when snapshots were taken (idempotent).
    public func recordSnapshots(site: String, cluster: String, format: SourceFormat, times: [Int64]) async throws {
        try await queue.write { db in
            for time in times {
                try db.execute(sql: """
                    INSERT OR IGNORE INTO snapshot_time (site, cluster, format, taken_at) VALUES (?, ?, ?, ?)
                    """, arguments: [site, cluster, format.rawValue, time])
            }
        }
    }

    public func snapshotCoverage(interval: Int64? = nil, gcThreshold: Int64? = nil) async throws -> [SnapshotCoverage] {
        let rows = try await queue.read { db in
            try Row.fetchAll(db, sql: "SELECT site, cluster, format, taken_at FROM snapshot_time ORDER BY 1, 2, 3, 4")
                .map { (site: $0[0] as String, cluster: $0[1] as String, format: $0[2] as String, time: $0[3] as Int64) }
        }
        return SnapshotCoverage.build(rows, interval: interval, gcThreshold: gcThreshold)
    }
}
