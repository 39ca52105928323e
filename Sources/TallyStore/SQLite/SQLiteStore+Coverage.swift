import GRDB
import GRDBSQLite
import TallyCore

extension SQLiteStore {
    /// Days with data per site and cluster, from the daily rollups (no raw scan).
    public func coverage() async throws -> [ClusterCoverage] {
        let dictionary = dimensions
        return try await queue.read { db in
            let statement = try db.makeStatement(sql: """
                SELECT DISTINCT site, cluster, day FROM rollup_day ORDER BY site, cluster, day
                """)
            var result: [ClusterCoverage] = []
            var current: ClusterCoverage?
            var previousDay: Int64 = 0
            try db.forEachRow(statement) { handle in
                let site = sqlite3_column_int64(handle, 0), cluster = sqlite3_column_int64(handle, 1)
                let day = sqlite3_column_int64(handle, 2)
                let siteName = dictionary.value(site), clusterName = dictionary.value(cluster)
                if var open = current, open.site == siteName, open.cluster == clusterName {
                    if day > previousDay + 1 { open.gaps.append((previousDay + 1)...(day - 1)) }
                    open.lastDay = day
                    open.daysWithData += 1
                    current = open
                } else {
                    if let open = current { result.append(open) }
                    current = ClusterCoverage(site: siteName, cluster: clusterName, firstDay: day, lastDay: day,
                                              daysWithData: 1, gaps: [])
                }
                previousDay = day
            }
            if let open = current { result.append(open) }
            return result
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

    /// Snapshot counts and gaps per snapshot source. Nomad's default `job_gc_threshold` (4 h)
    /// applies unless `gcThreshold` says otherwise; Kubernetes has none by default.
    public func snapshotCoverage(interval: Int64? = nil, gcThreshold: Int64? = nil) async throws -> [SnapshotCoverage] {
        try await queue.read { db in
            var series: [String: (site: String, cluster: String, format: String, times: [Int64])] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT site, cluster, format, taken_at FROM snapshot_time ORDER BY 1, 2, 3, 4") {
                let key = "\(row[0] as String)\u{0}\(row[1] as String)\u{0}\(row[2] as String)"
                series[key, default: (row[0], row[1], row[2], [])].times.append(row[3])
            }
            return series.values.sorted { ($0.site, $0.cluster, $0.format) < ($1.site, $1.cluster, $1.format) }.map { entry in
                let threshold = gcThreshold ?? (entry.format == SourceFormat.nomad.rawValue ? 4 * 3600 : nil)
                return SnapshotCoverage(site: entry.site, cluster: entry.cluster, format: entry.format,
                                        snapshots: entry.times.count, first: entry.times.first!, last: entry.times.last!,
                                        gaps: SnapshotGaps.find(entry.times, interval: interval, gcThreshold: threshold))
            }
        }
    }
}
