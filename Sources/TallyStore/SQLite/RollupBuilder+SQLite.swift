import GRDB
import GRDBSQLite
import TallyCore

extension Database: DimensionInserter {
    func insertDimension(kind: Int64, value: String) throws -> Int64 {
        try execute(sql: "INSERT INTO dim (kind, value) VALUES (?, ?) ON CONFLICT DO NOTHING", arguments: [kind, value])
        return try Int64.fetchOne(self, sql: "SELECT id FROM dim WHERE kind = ? AND value = ?", arguments: [kind, value])!
    }
}

extension DimensionDictionary {
    /// Loads every known value (dimensions are small: users, accounts, partitions…).
    mutating func load(_ db: Database) throws {
        reset()
        let rows = try Row.fetchCursor(db, sql: "SELECT id, kind, value FROM dim")
        while let row = try rows.next() {
            add(id: row[0], kind: row[1], value: row[2])
        }
    }
}

extension RollupBuilder {
    mutating func flush(_ db: Database) throws {
        let (days, months) = drainAll()
        try Self.write(days, table: "rollup_day", period: "day", db)
        try Self.write(months, table: "rollup_month", period: "month", db)
    }

    mutating func flushCompleted(before day: Int64, _ db: Database) throws {
        let (days, months) = drainCompleted(before: day)
        try Self.write(days, table: "rollup_day", period: "day", db)
        try Self.write(months, table: "rollup_month", period: "month", db)
    }

    private static func write(_ rollups: [RollupKey: UsageAmounts], table: String, period: String,
                              _ db: Database) throws {
        guard !rollups.isEmpty else { return }
        let amountColumns = RollupColumns.amounts
        let placeholders = Array(repeating: "?", count: 1 + DimensionIDs.rollupCount + amountColumns.count)
        let statement = try db.cachedStatement(sql: """
            INSERT INTO \(table) (\(period), \(RollupColumns.keys), \(amountColumns.joined(separator: ", ")))
            VALUES (\(placeholders.joined(separator: ", ")))
            ON CONFLICT DO UPDATE SET \(amountColumns.map { "\($0) = \($0) + excluded.\($0)" }.joined(separator: ", "))
            """)
        let handle = statement.sqliteStatement
        // In key order, so the upserts walk the table's B-tree forwards.
        for (key, amounts) in rollups.sorted(by: { $0.key < $1.key }) where !amounts.isZero {
            sqlite3_reset(handle)
            sqlite3_bind_int64(handle, 1, key.period)
            for index in 0..<DimensionIDs.rollupCount { sqlite3_bind_int64(handle, Int32(index + 2), key.ids[index]) }
            let first = Int32(DimensionIDs.rollupCount + 2)
            for (offset, value) in RollupColumns.values(amounts).enumerated() {
                sqlite3_bind_int64(handle, first + Int32(offset), value)
            }
            let code = sqlite3_step(handle)
            guard code == SQLITE_DONE else {
                let message = String(cString: sqlite3_errmsg(db.sqliteConnection))
                sqlite3_reset(handle)
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: message)
            }
        }
        if RollupBuilder.mayHaveEmptied(rollups) {
            try db.execute(sql: "DELETE FROM \(table) WHERE \(amountColumns.map { "\($0) = 0" }.joined(separator: " AND "))")
        }
    }
}
