import GRDB
import TallyCore

extension SQLiteStore {
    public func status(includingCoverage: Bool) async throws -> StoreStatus {
        try await queue.read { db in
            var byState: [(state: String, count: Int64)] = []
            try db.forEachRow(StateCounts.select(.sqlite)) { byState.append((try $0.text(0), try $0.int(1))) }
            byState = StateCounts.sorted(byState)
            let records = byState.reduce(0) { $0 + $1.count }
            let sources = try Row.fetchAll(db, sql: """
                SELECT s.format, s.path, s.first_seen, s.last_seen, COUNT(r.id),
                       COALESCE(SUM(r.lines_read), 0), COALESCE(SUM(r.records), 0), COALESCE(SUM(r.inserted), 0),
                       COALESCE(SUM(r.updated), 0), COALESCE(SUM(r.unchanged), 0), COALESCE(SUM(r.rejected), 0),
                       COALESCE(SUM(r.skipped), 0),
                       (SELECT COUNT(*) FROM flagged_line f WHERE f.source_id = s.id)
                FROM source s LEFT JOIN ingest_run r ON r.source_id = s.id
                GROUP BY s.id ORDER BY s.path
                """).map { row in
                var totals = IngestTotals()
                totals.linesRead = row[5]; totals.records = row[6]; totals.inserted = row[7]
                totals.updated = row[8]; totals.unchanged = row[9]; totals.rejected = row[10]; totals.skipped = row[11]
                totals.flagged = row[12]
                return StoreStatus.Source(format: row[0], path: row[1], firstSeen: row[2], lastSeen: row[3],
                                          runs: row[4], totals: totals)
            }
            var coverage: Range<Int64>?
            if includingCoverage,
               let row = try Row.fetchOne(db, sql: "SELECT MIN(start), MAX(COALESCE(end_time, start + wall)) FROM job"),
               let low: Int64 = row[0], let high: Int64 = row[1], low <= high {
                coverage = low..<high
            }
            let rejected = try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM rejected_line") ?? 0
            let recent = try Self.recentLines(db, table: "rejected_line")
            var status = StoreStatus(records: records, recordsByState: byState, sources: sources, coverage: coverage,
                                     rejectedLines: rejected, recentRejections: recent)
            status.flaggedLines = try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM flagged_line") ?? 0
            status.recentFlags = try Self.recentLines(db, table: "flagged_line")
            return status
        }
    }

    /// The latest ten lines of `rejected_line` or `flagged_line` (same columns), oldest first.
    private static func recentLines(_ db: Database, table: String) throws -> [Rejection] {
        try Row.fetchAll(db, sql: """
            SELECT s.path, r.line, r.field, r.reason, r.excerpt FROM \(table) r
            JOIN source s ON s.id = r.source_id ORDER BY r.id DESC LIMIT 10
            """).reversed().map { row in
            Rejection(position: SourcePosition(file: row[0], line: row[1]), field: row[2], reason: row[3], excerpt: row[4])
        }
    }
}
