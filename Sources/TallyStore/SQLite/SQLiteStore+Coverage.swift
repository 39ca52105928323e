import GRDB
import GRDBSQLite
import TallyCore

extension SQLiteStore {
    /// Days with data per site and cluster, from the daily rollups (no raw scan).
    public func coverage() async throws -> [ClusterCoverage] {
        try await refreshDimensions()
        let dictionary = dimensions
        let knownCombos = combos
        return try await queue.read { db in
            var combos = knownCombos
            try combos.catchUp(db)
            // The table's own key order (day, combo): each combination's site and cluster come
            // from memory, and a join plus DISTINCT over every row would cost several times more.
            struct Pair: Hashable { var site: Int64; var cluster: Int64 }
            var pairOfCombo = [Int](repeating: -1, count: combos.keys.count)
            var pairs: [Pair] = []
            var pairNumbers: [Pair: Int] = [:]
            for (combo, ids) in combos.keys.enumerated() where combo > 0 {
                let pair = Pair(site: ids.site, cluster: ids.cluster)
                if pairNumbers[pair] == nil {
                    pairNumbers[pair] = pairs.count
                    pairs.append(pair)
                }
                pairOfCombo[combo] = pairNumbers[pair]!
            }
            var days = [[Int64]](repeating: [], count: pairs.count)
            let statement = try db.makeStatement(sql: "SELECT day, combo FROM rollup_day ORDER BY day")
            try db.forEachRow(statement) { handle in
                let combo = Int(sqlite3_column_int64(handle, 1))
                guard combo > 0, combo < pairOfCombo.count else { return }
                let pair = pairOfCombo[combo]
                let day = sqlite3_column_int64(handle, 0)
                if days[pair].last != day { days[pair].append(day) }
            }
            var builder = ClusterCoverage.Builder()
            for pair in pairs.indices.sorted(by: { (pairs[$0].site, pairs[$0].cluster) < (pairs[$1].site, pairs[$1].cluster) }) {
                for day in days[pair] {
                    builder.add(site: dictionary.value(pairs[pair].site), cluster: dictionary.value(pairs[pair].cluster), day: day)
                }
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
