import GRDB
import GRDBSQLite
import TallyCore

/// How SQLite keeps summaries: each distinct combination of rollup dimension ids is stored once
/// in `combo`, and a rollup row is `(day or month, combo, amounts)` with the fifteen amounts in
/// one 120-byte blob. Reports read three columns per row instead of twenty-seven (SQLite's
/// per-column decoding was most of a year-long day or week report), and writers upsert on a
/// two-column key. SQL that needs one amount uses `tally_amount(amounts, i)`.
enum RollupBlob {
    static let count = RollupColumns.amounts.count
    static let byteCount = count * 8
    static let zero = [UInt8](repeating: 0, count: byteCount)

    /// Little-endian, in `RollupColumns.amounts` order.
    static func encode(_ amounts: UsageAmounts) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: byteCount)
        bytes.withUnsafeMutableBytes { encode(amounts, into: $0) }
        return bytes
    }

    /// Writes into a buffer of `byteCount` bytes (writers reuse one).
    @inline(__always)
    static func encode(_ amounts: UsageAmounts, into buffer: UnsafeMutableRawBufferPointer) {
        let values = (amounts.jobs, amounts.wallSeconds, amounts.coreSeconds, amounts.cpuSeconds, amounts.gpuSeconds,
                      amounts.memoryMiBSeconds, amounts.coreSecondsWithCPU, amounts.waitSeconds, amounts.startedJobs,
                      amounts.jobCores, amounts.jobGPUs, amounts.benchmarkMilli, amounts.coreSecondsBenchmarked,
                      amounts.gpuWeightedMilli, amounts.chargeMilli)
        withUnsafeBytes(of: values) { source in
            // The tuple is fifteen Int64 in a row; store them little-endian one by one.
            for offset in stride(from: 0, to: byteCount, by: 8) {
                let value = source.loadUnaligned(fromByteOffset: offset, as: Int64.self)
                buffer.storeBytes(of: value.littleEndian, toByteOffset: offset, as: Int64.self)
            }
        }
    }

    @inline(__always)
    static func decode(_ pointer: UnsafeRawPointer) -> UsageAmounts {
        RollupColumns.amounts({ Int64(littleEndian: pointer.loadUnaligned(fromByteOffset: Int($0) * 8, as: Int64.self)) },
                              from: 0)
    }

    /// Decodes the blob in `column` of the current row (a malformed blob reads as zero).
    @inline(__always)
    static func decode(_ handle: OpaquePointer, column: Int32) -> UsageAmounts {
        guard sqlite3_column_bytes(handle, column) == Int32(byteCount),
              let pointer = sqlite3_column_blob(handle, column) else { return UsageAmounts() }
        return decode(pointer)
    }

    /// Registers `tally_add(a, b)` (element-wise sum, for upserts) and `tally_amount(a, i)` on a
    /// connection. Plain C callbacks: GRDB's function wrapper boxes every argument.
    static func registerFunctions(_ db: Database) throws {
        let flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC
        var code = sqlite3_create_function_v2(db.sqliteConnection, "tally_add", 2, flags, nil, add, nil, nil, nil)
        if code == SQLITE_OK {
            code = sqlite3_create_function_v2(db.sqliteConnection, "tally_amount", 2, flags, nil, amount, nil, nil, nil)
        }
        guard code == SQLITE_OK else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: "cannot register rollup functions")
        }
    }

    private static let add: @convention(c) (OpaquePointer?, Int32, UnsafeMutablePointer<OpaquePointer?>?) -> Void = {
        context, _, arguments in
        guard let arguments, let left = arguments[0], let right = arguments[1],
              sqlite3_value_bytes(left) == Int32(RollupBlob.byteCount),
              sqlite3_value_bytes(right) == Int32(RollupBlob.byteCount),
              let a = sqlite3_value_blob(left), let b = sqlite3_value_blob(right) else {
            sqlite3_result_error(context, "tally_add: both arguments must be rollup amount blobs", -1)
            return
        }
        withUnsafeTemporaryAllocation(byteCount: RollupBlob.byteCount, alignment: 8) { sum in
            for offset in stride(from: 0, to: RollupBlob.byteCount, by: 8) {
                let x = Int64(littleEndian: a.loadUnaligned(fromByteOffset: offset, as: Int64.self))
                let y = Int64(littleEndian: b.loadUnaligned(fromByteOffset: offset, as: Int64.self))
                sum.storeBytes(of: (x &+ y).littleEndian, toByteOffset: offset, as: Int64.self)
            }
            sqlite3_result_blob(context, sum.baseAddress, Int32(RollupBlob.byteCount), SQLITE_TRANSIENT)
        }
    }

    private static let amount: @convention(c) (OpaquePointer?, Int32, UnsafeMutablePointer<OpaquePointer?>?) -> Void = {
        context, _, arguments in
        guard let arguments, let blob = arguments[0], let position = arguments[1],
              sqlite3_value_bytes(blob) == Int32(RollupBlob.byteCount), let bytes = sqlite3_value_blob(blob) else {
            sqlite3_result_error(context, "tally_amount: the first argument must be a rollup amount blob", -1)
            return
        }
        let index = Int(sqlite3_value_int64(position))
        guard index >= 0, index < RollupBlob.count else {
            sqlite3_result_error(context, "tally_amount: no amount at that index", -1)
            return
        }
        sqlite3_result_int64(context, Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: index * 8, as: Int64.self)))
    }

    /// `tally_amount(amounts, i)` for the named amount column (see `RollupColumns.amounts`).
    static func column(_ name: String, table: String = "r") -> String {
        "tally_amount(\(table).amounts, \(RollupColumns.amounts.firstIndex(of: name)!))"
    }
}

/// The `combo` table in memory: rollup dimension ids by combo id and back. Combos are never
/// deleted, so a cached id stays right unless the transaction that made it rolled back (the
/// store then reloads).
struct ComboTable: Sendable {
    /// Index = combo id; id 0 is never used.
    private(set) var keys: [DimensionIDs] = [DimensionIDs()]
    private var ids: [DimensionIDs: Int64] = [:]

    var maxID: Int64 { Int64(keys.count - 1) }

    static let columns = DimensionColumn.all.prefix(DimensionIDs.rollupCount).map(\.column)

    /// Reads combos stored since the last look (by this process or another).
    mutating func catchUp(_ db: Database) throws {
        let statement = try db.cachedStatement(sql: "SELECT id, \(Self.columns.joined(separator: ", ")) FROM combo WHERE id > ? ORDER BY id")
        try statement.setArguments([maxID])
        var rows: [(Int64, DimensionIDs)] = []
        try db.forEachRow(statement) { handle in
            var key = DimensionIDs()
            for index in 0..<DimensionIDs.rollupCount { key[index] = sqlite3_column_int64(handle, Int32(index + 1)) }
            rows.append((sqlite3_column_int64(handle, 0), key))
        }
        for (id, key) in rows {
            // Ids are dense (no deletes), but stay safe if a gap ever appears.
            while Int64(keys.count) < id { keys.append(DimensionIDs()) }
            keys.append(key)
            ids[key] = id
        }
    }

    /// The combo id of a rollup key, storing it when new.
    mutating func id(for key: DimensionIDs, _ db: Database) throws -> Int64 {
        if let known = ids[key] { return known }
        let statement = try db.cachedStatement(sql: """
            INSERT INTO combo (\(Self.columns.joined(separator: ", "))) VALUES (\(Self.columns.map { _ in "?" }.joined(separator: ", ")))
            ON CONFLICT DO NOTHING
            """)
        try statement.execute(arguments: StatementArguments((0..<DimensionIDs.rollupCount).map { key[$0] }))
        // Usually the next id: take it without reading the table back. Otherwise another
        // process stored combinations (or this one) since the last look.
        if db.changesCount == 1, db.lastInsertedRowID == maxID + 1 {
            keys.append(key)
            ids[key] = db.lastInsertedRowID
            return db.lastInsertedRowID
        }
        try catchUp(db)
        guard let id = ids[key] else { throw StoreError.corrupt("rollup combination stored but not found") }
        return id
    }
}

extension Schema {
    /// SQLite's rollup tables (see `RollupBlob`).
    static func rollupTable(_ name: String, period: String) -> String {
        """
        CREATE TABLE \(name) (
            \(period) INTEGER NOT NULL,
            combo INTEGER NOT NULL,
            amounts BLOB NOT NULL,
            PRIMARY KEY (\(period), combo)
        ) WITHOUT ROWID
        """
    }

    static let comboTable = """
        CREATE TABLE combo (
            id INTEGER PRIMARY KEY,
            \(ComboTable.columns.map { "\($0) INTEGER NOT NULL" }.joined(separator: ", ")),
            UNIQUE (\(ComboTable.columns.joined(separator: ", ")))
        )
        """
}
