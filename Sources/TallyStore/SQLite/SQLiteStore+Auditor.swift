import GRDB

extension SQLiteStore {
    public func saveAuditorDocument(_ document: AuditorDocument) async throws {
        try await queue.write { db in
            try db.execute(sql: """
                INSERT INTO auditor_record (record_id, document, start_time, stop_time) VALUES (?, ?, ?, ?)
                ON CONFLICT (record_id) DO UPDATE SET document = excluded.document, start_time = excluded.start_time,
                    stop_time = excluded.stop_time
                """, arguments: [document.recordID, document.json, document.start, document.stop])
        }
    }

    public func forEachAuditorDocument(_ query: AuditorDocumentQuery,
                                       _ body: (AuditorDocument) throws -> Bool) async throws {
        // A page at a time, so `body` never runs inside a database access.
        let text = query.sql(.sqlite)
        let documents = try await queue.read { db in
            var documents: [AuditorDocument] = []
            try db.forEachRow(text) { row in
                documents.append(AuditorDocument(recordID: row.optionalText(0) ?? "", json: row.optionalText(1) ?? "",
                                                 start: row.int(2), stop: row.optionalInt(3)))
            }
            return documents
        }
        for document in documents where try !body(document) { return }
    }
}
