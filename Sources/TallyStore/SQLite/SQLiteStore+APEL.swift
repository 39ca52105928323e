import GRDB
import TallyCore

extension SQLiteStore {
    public func saveAPELSummaries(_ rows: [APELSummaryRecord]) async throws {
        try await queue.write { db in
            for row in rows {
                let text = APELSummaryColumns.upsert(row, dialect: .sqlite)
                try db.execute(sql: text.sql, arguments: text.arguments)
            }
        }
    }

    public func apelSummaries(month: Int64) async throws -> [APELSummaryRecord] {
        try await queue.read { db in
            var rows: [APELSummaryRecord] = []
            try db.forEachRow(APELSummaryColumns.select(month: month, dialect: .sqlite)) { rows.append(try APELSummaryColumns.row($0)) }
            return rows
        }
    }
}
