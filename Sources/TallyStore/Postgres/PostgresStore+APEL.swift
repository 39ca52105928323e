import PostgresNIO
import TallyCore

extension PostgresStore {
    public func saveAPELSummaries(_ rows: [APELSummaryRecord]) async throws {
        try await client.withTransaction(logger: logger) { connection in
            for row in rows {
                try await connection.query(APELSummaryColumns.upsert(row, dialect: .postgres).postgresQuery, logger: logger)
            }
        }
    }

    public func apelSummaries(month: Int64) async throws -> [APELSummaryRecord] {
        var rows: [APELSummaryRecord] = []
        try await forEachRow(APELSummaryColumns.select(month: month, dialect: .postgres)) {
            rows.append(try APELSummaryColumns.row($0))
        }
        return rows
    }
}
