import Foundation
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
    mutating func flush(_ db: Database, combos: inout ComboTable) throws {
        let (days, months) = drainAll()
        try Self.write(days, table: "rollup_day", period: "day", combos: &combos, db)
        try Self.write(months, table: "rollup_month", period: "month", combos: &combos, db)
    }

    mutating func flushCompleted(before day: Int64, combos: inout ComboTable, _ db: Database) throws {
        let (days, months) = drainCompleted(before: day)
        try Self.write(days, table: "rollup_day", period: "day", combos: &combos, db)
        try Self.write(months, table: "rollup_month", period: "month", combos: &combos, db)
    }

    private static func write(_ rollups: [RollupKey: UsageAmounts], table: String, period: String,
                              combos: inout ComboTable, _ db: Database) throws {
        guard !rollups.isEmpty else { return }
        let statement = try db.cachedStatement(sql: """
            INSERT INTO \(table) (\(period), combo, amounts) VALUES (?, ?, ?)
            ON CONFLICT DO UPDATE SET amounts = tally_add(amounts, excluded.amounts)
            """)
        let handle = statement.sqliteStatement
        var amounts: [UsageAmounts] = []
        var order: [(period: Int64, combo: Int64, index: Int)] = []
        amounts.reserveCapacity(rollups.count)
        order.reserveCapacity(rollups.count)
        for (key, value) in rollups where !value.isZero {
            order.append((key.period, try combos.id(for: key.ids, db), amounts.count))
            amounts.append(value)
        }
        // In key order, so the upserts walk the table's B-tree forwards (sorting small keys).
        order.sort { ($0.period, $0.combo) < ($1.period, $1.combo) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: RollupBlob.byteCount, alignment: 8)
        defer { buffer.deallocate() }
        for row in order {
            sqlite3_reset(handle)
            sqlite3_bind_int64(handle, 1, row.period)
            sqlite3_bind_int64(handle, 2, row.combo)
            RollupBlob.encode(amounts[row.index], into: buffer)
            sqlite3_bind_blob(handle, 3, buffer.baseAddress, Int32(buffer.count), SQLITE_TRANSIENT)
            let code = sqlite3_step(handle)
            guard code == SQLITE_DONE else {
                let message = String(cString: sqlite3_errmsg(db.sqliteConnection))
                sqlite3_reset(handle)
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: message)
            }
        }
        if RollupBuilder.mayHaveEmptied(rollups) {
            try db.execute(sql: "DELETE FROM \(table) WHERE amounts = ?", arguments: [Data(RollupBlob.zero)])
        }
    }
}
