import GRDB
import GRDBSQLite

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
}
