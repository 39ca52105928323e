import PostgresNIO

extension PostgresStore {
    public func saveAuditorDocument(_ document: AuditorDocument) async throws {
        try await client.query("""
            INSERT INTO auditor_record (record_id, document, start_time, stop_time)
            VALUES (\(document.recordID), \(document.json), \(document.start), \(document.stop))
            ON CONFLICT (record_id) DO UPDATE SET document = excluded.document, start_time = excluded.start_time,
                stop_time = excluded.stop_time
            """, logger: logger)
    }

    public func forEachAuditorDocument(_ query: AuditorDocumentQuery,
                                       _ body: (AuditorDocument) throws -> Bool) async throws {
        for try await row in try await client.query(query.sql(.postgres).postgresQuery, logger: logger) {
            let stored = PostgresStoredRow(row)
            let document = AuditorDocument(recordID: try stored.text(0), json: try stored.text(1), start: try stored.int(2),
                                           stop: try stored.optionalInt(3))
            // Leaving the loop early ends the stream (and returns the connection).
            if try !body(document) { return }
        }
    }
}
