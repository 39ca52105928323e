import GRDB
import GRDBSQLite
import TallyCore

extension SQLiteStore {
    /// Days with data per site and cluster: every UTC day a job's facts touch.
    public func coverage() async throws -> [ClusterCoverage] {
        try await refreshDimensions()
        let dictionary = dimensions
        return try await queue.read { db in
            struct Pair: Hashable { var site: Int64; var cluster: Int64 }
            var days: [Pair: Set<Int64>] = [:]
            try Self.forEachFact(db) { slot in
                let touched = FactSlot.touched(slot)
                let pair = Pair(site: FactSlot.id(slot, 0), cluster: FactSlot.id(slot, 1))
                let first = UTCDay.of(touched.lowerBound), last = UTCDay.of(touched.upperBound - 1)
                days[pair, default: []].formUnion(first...last)
            }
            var builder = ClusterCoverage.Builder()
            let named = days.map { (site: dictionary.value($0.key.site), cluster: dictionary.value($0.key.cluster), days: $0.value) }
            for pair in named.sorted(by: { ($0.site, $0.cluster) < ($1.site, $1.cluster) }) {
                for day in pair.days.sorted() { builder.add(site: pair.site, cluster: pair.cluster, day: day) }
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
