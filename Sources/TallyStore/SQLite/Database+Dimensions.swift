import GRDB
import TallyCore

extension Database: DimensionInserter {
    func insertDimension(kind: Int64, value: String) throws -> Int64 {
        try execute(sql: "INSERT INTO dim (kind, value) VALUES (?, ?) ON CONFLICT DO NOTHING", arguments: [kind, value])
        return try Int64.fetchOne(self, sql: "SELECT id FROM dim WHERE kind = ? AND value = ?", arguments: [kind, value])!
    }
}

extension DimensionDictionary {
    /// Loads every known value (dimensions are small: users, accounts, partitions, hosts…).
    mutating func load(_ db: Database) throws {
        reset()
        let rows = try Row.fetchCursor(db, sql: "SELECT id, kind, value FROM dim")
        while let row = try rows.next() {
            add(id: row[0], kind: row[1], value: row[2])
        }
    }
}
