import Foundation
import GRDB
import GRDBSQLite
import TallyCore

/// SQLite's `fact_block` table: every job's `FactSlot`, packed by job id, kept current in the
/// same transaction as `job` (see `FactBlockChanges`). Reports scan it instead of the rollups.
enum FactBlockTable {
    static let create = """
        CREATE TABLE fact_block (
            block INTEGER PRIMARY KEY,
            t_min INTEGER NOT NULL,
            t_max INTEGER NOT NULL,
            data BLOB NOT NULL
        )
        """

    /// Fills the table from `job` (a database from before fact blocks, or a repair); returns the
    /// number of jobs that touch any time (those reports count).
    @discardableResult
    static func fill(_ db: Database) throws -> Int64 {
        try db.execute(sql: "DELETE FROM fact_block")
        // Migrations before v15 fill a job table without the allocation columns.
        let hasAllocation = try db.columns(in: "job").contains { $0.name == "milli_cores" }
        let columns = hasAllocation ? StoredQueries.factsColumns
            : StoredQueries.factsColumns.replacingOccurrences(of: "milli_cores, disk", with: "NULL, NULL")
        let statement = try db.makeStatement(sql: "SELECT id, \(columns), node_list FROM job ORDER BY id")
        var changes = FactBlockChanges()
        var jobs: Int64 = 0
        let count = DimensionIDs.recordedCount
        var dictionary = DimensionDictionary()
        try dictionary.load(db)
        let states = StateCache(dictionary)
        try db.forEachRow(statement) { handle in
            func optional(_ column: Int32) -> Int64? {
                sqlite3_column_type(handle, column) == SQLITE_NULL ? nil : sqlite3_column_int64(handle, column)
            }
            var ids = DimensionIDs()
            for index in 0..<count { ids[index] = sqlite3_column_int64(handle, Int32(index + 1)) }
            let facts = UsageFacts(start: optional(10), wallSeconds: sqlite3_column_int64(handle, 11), end: optional(12),
                                   submit: optional(13), state: states.state(ids.state),
                                   cores: sqlite3_column_int64(handle, 14), gpus: sqlite3_column_int64(handle, 15),
                                   memoryMiB: (optional(16) ?? 0) / 1_048_576, cpuSeconds: optional(17),
                                   eligible: optional(18), milliCores: optional(19),
                                   diskMiB: (optional(20) ?? 0) / 1_048_576)
            let nodes = sqlite3_column_type(handle, 21) == SQLITE_NULL ? "" : String(cString: sqlite3_column_text(handle, 21))
            let host = try dictionary.hostID(HostList.first(nodes), db)
            changes.set(jobID: sqlite3_column_int64(handle, 0), facts: facts, ids: ids, host: host)
            if facts.touchSpan != nil { jobs += 1 }
            if changes.count >= 65_536 { try changes.flush(db) }
        }
        try changes.flush(db)
        return jobs
    }
}

/// The slot changes of one write, applied per block at its end: each touched block is read,
/// patched and written back once.
struct FactBlockChanges {
    private var pending: [Int64: [(slot: Int, bytes: [UInt8]?)]] = [:]
    private(set) var count = 0

    /// The job `jobID` now has these facts.
    mutating func set(jobID: Int64, facts: UsageFacts, ids: DimensionIDs, host: Int64) {
        var bytes = [UInt8](repeating: 0, count: FactSlot.byteCount)
        bytes.withUnsafeMutableBytes { FactSlot.encode(facts, ids: ids, host: host, into: $0.baseAddress!) }
        pending[FactBlock.block(of: jobID), default: []].append((FactBlock.slot(of: jobID), bytes))
        count += 1
    }

    /// The job row `jobID` is gone (replaced by a row with another id).
    mutating func remove(jobID: Int64) {
        pending[FactBlock.block(of: jobID), default: []].append((FactBlock.slot(of: jobID), nil))
        count += 1
    }

    mutating func flush(_ db: Database) throws {
        guard !pending.isEmpty else { return }
        let read = try db.cachedStatement(sql: "SELECT data FROM fact_block WHERE block = ?")
        let write = try db.cachedStatement(sql: "INSERT OR REPLACE INTO fact_block (block, t_min, t_max, data) VALUES (?, ?, ?, ?)")
        let erase = try db.cachedStatement(sql: "DELETE FROM fact_block WHERE block = ?")
        for (block, changes) in pending.sorted(by: { $0.key < $1.key }) {
            var bytes: [UInt8]?
            try read.setArguments([block])
            try db.forEachRow(read) { handle in
                if sqlite3_column_bytes(handle, 0) == Int32(FactBlock.byteCount), let data = sqlite3_column_blob(handle, 0) {
                    bytes = Array(UnsafeRawBufferPointer(start: data, count: FactBlock.byteCount))
                }
            }
            var data = bytes ?? FactBlock.empty()
            data.withUnsafeMutableBytes { buffer in
                // In order of change: the last change of a slot wins.
                for change in changes {
                    let pointer = buffer.baseAddress! + change.slot * FactSlot.byteCount
                    if let slot = change.bytes {
                        slot.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress!, byteCount: FactSlot.byteCount) }
                    } else {
                        FactSlot.clear(pointer)
                    }
                }
            }
            guard let span = data.withUnsafeBytes(FactBlock.span) else {
                try erase.execute(arguments: [block])
                continue
            }
            try write.execute(arguments: [block, span.lowerBound, span.upperBound, Data(data)])
        }
        pending.removeAll(keepingCapacity: true)
        count = 0
    }
}
