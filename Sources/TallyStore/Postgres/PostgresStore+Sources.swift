import PostgresNIO
import TallyCore

extension PostgresStore {
    /// Takes out what reading `path` added: its records, lines, runs and checkpoint; the rollups
    /// are then rebuilt from the records that remain (a rare repair, not a hot path).
    public func removeSource(path: String, format: String?) async throws -> SourceRemoval {
        let logger = logger
        let removal = try await client.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(PostgresSchema.writerLock))", logger: logger)
            var removal = SourceRemoval()
            var sources: [(Int64, String)] = []
            for try await row in try await connection.query("""
                SELECT id, format FROM source WHERE path = \(path) AND (\(format)::text IS NULL OR format = \(format))
                """, logger: logger).decode((Int64, String).self) { sources.append(row) }
            func deleted(_ query: PostgresQuery) async throws -> Int64 {
                var count: Int64 = 0
                for try await _ in try await connection.query(query, logger: logger).decode(Int64.self) { count += 1 }
                return count
            }
            for (id, sourceFormat) in sources {
                removal.records += try await deleted("DELETE FROM job WHERE source_id = \(id) RETURNING id")
                removal.rejectedLines += try await deleted("DELETE FROM rejected_line WHERE source_id = \(id) RETURNING id")
                removal.flaggedLines += try await deleted("DELETE FROM flagged_line WHERE source_id = \(id) RETURNING id")
                try await connection.query("DELETE FROM ingest_run WHERE source_id = \(id)", logger: logger)
                try await connection.query("DELETE FROM checkpoint WHERE path = \(path) AND format = \(sourceFormat)", logger: logger)
                try await connection.query("DELETE FROM source WHERE id = \(id)", logger: logger)
                removal.sources += 1
            }
            if removal.sources > 0 {
                for statement in StateCounts.recount.split(separator: ";") {
                    try await connection.query(PostgresQuery(unsafeSQL: String(statement)), logger: logger)
                }
            }
            return removal
        }
        if removal.records > 0 { try await rebuild(text: nil) }
        return removal
    }
}
