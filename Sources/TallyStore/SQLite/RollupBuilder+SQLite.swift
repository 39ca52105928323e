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
        let (days, months) = drainAllRows()
        try write(days, table: "rollup_day", period: "day", combos: &combos, db)
        try write(months, table: "rollup_month", period: "month", combos: &combos, db)
    }

    mutating func flushCompleted(before day: Int64, combos: inout ComboTable, _ db: Database) throws {
        let (days, months) = drainCompletedRows(before: day)
        try write(days, table: "rollup_day", period: "day", combos: &combos, db)
        try write(months, table: "rollup_month", period: "month", combos: &combos, db)
    }

    private mutating func write(_ rows: [Row], table: String, period: String, combos: inout ComboTable,
                                _ db: Database) throws {
        try Self.write(rows, table: table, period: period, db) { key in
            // Each interned key's combination id is looked up once, not once per row.
            var combo = storedKeyIDs[Int(key)]
            if combo == 0 {
                combo = try combos.id(for: keys[Int(key)], db)
                storedKeyIDs[Int(key)] = combo
            }
            return combo
        }
    }

    /// Adds `rows` onto the rollup table in key order; `combo` gives an interned key's combination id.
    static func write(_ rows: [Row], table: String, period: String, _ db: Database,
                      combo: (Int32) throws -> Int64) throws {
        guard !rows.isEmpty else { return }
        let statement = try db.cachedStatement(sql: """
            INSERT INTO \(table) (\(period), combo, amounts) VALUES (?, ?, ?)
            ON CONFLICT DO UPDATE SET amounts = tally_add(amounts, excluded.amounts)
            """)
        let handle = statement.sqliteStatement
        var order: [(period: Int64, combo: Int64, index: Int)] = []
        order.reserveCapacity(rows.count)
        for (index, row) in rows.enumerated() where !row.amounts.isZero {
            order.append((row.period, try combo(row.key), index))
        }
        // In key order, so the upserts walk the table's B-tree forwards (sorting small keys).
        order.sort { ($0.period, $0.combo) < ($1.period, $1.combo) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: RollupBlob.byteCount, alignment: 8)
        defer { buffer.deallocate() }
        for row in order {
            sqlite3_reset(handle)
            sqlite3_bind_int64(handle, 1, row.period)
            sqlite3_bind_int64(handle, 2, row.combo)
            RollupBlob.encode(rows[row.index].amounts, into: buffer)
            sqlite3_bind_blob(handle, 3, buffer.baseAddress, Int32(buffer.count), SQLITE_TRANSIENT)
            let code = sqlite3_step(handle)
            guard code == SQLITE_DONE else {
                let message = String(cString: sqlite3_errmsg(db.sqliteConnection))
                sqlite3_reset(handle)
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: message)
            }
        }
        if RollupBuilder.mayHaveEmptied(rows.lazy.map(\.amounts)) {
            try db.execute(sql: "DELETE FROM \(table) WHERE amounts = ?", arguments: [Data(RollupBlob.zero)])
        }
    }
}

extension RollupBuilder {
    /// What a rebuild reads of each job: its usage facts, then its node list when plans match hosts.
    static func rebuildSelect(_ plans: PlanCache, where condition: String) -> String {
        "SELECT \(StoredQueries.factsColumns)\(plans.needsHosts ? ", node_list" : "") FROM job \(condition)"
    }

    /// Adds every job `statement` (a `rebuildSelect`) yields, in storage order (ingest order,
    /// close to time order). Each time the scan's first day moves on, `completed` gets the
    /// builder, the dictionary, the day before which every day is complete (two days behind: a
    /// job listed a little out of order still lands exactly, as writes add onto stored rows) and
    /// the jobs read so far. Returns the jobs read.
    static func scan(_ statement: Statement, _ db: Database, into builder: inout RollupBuilder,
                     plans: inout PlanCache, dictionary: inout DimensionDictionary, source: DerivedIDSource,
                     completed: (inout RollupBuilder, DimensionDictionary, _ before: Int64, _ read: Int64) throws -> Void)
        throws -> Int64 {
        let states = StateCache(dictionary)
        var openDay = Int64.min
        var read: Int64 = 0
        try db.forEachRow(statement) { handle in
            let row = SQLiteRow(handle: handle)
            let (facts, ids) = try StoredQueries.facts(row, states: states)
            let host = plans.needsHosts ? HostList.first(row.optionalText(StoredQueries.factsColumnCount) ?? "") : ""
            if let first = facts.touchSpan?.lowerBound, UTCDay.of(first) > openDay {
                openDay = UTCDay.of(first)
                try completed(&builder, dictionary, openDay - 2, read)
            }
            try builder.add(facts, recorded: ids, host: host, sign: 1, plans: &plans, dictionary: &dictionary,
                            source: source)
            read += 1
        }
        return read
    }
}
