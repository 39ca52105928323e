import GRDB

/// When a bulk load builds `job_t0` at the end instead of row by row.
///
/// `t0` is a job's start, and logs do not always list jobs in start order: inserting a million
/// out-of-order times into the index touched a random page each, and took a third of a fresh
/// ingest's time (14.5 s → 9.7 s without it, plus 1.3 s to build it afterwards, BENCHMARKS.md).
/// Building costs about the same per row whatever the order, so a run drops the index once it
/// has inserted more rows than the table held when it began, and builds it again when it ends.
/// Small runs into a large table keep it and pay nothing extra. Reports never need the index
/// (they scan fact blocks); windowed job listings read correctly without it, only slower.
struct TimeIndexDeferral {
    static let drop = "DROP INDEX IF EXISTS job_t0"
    /// Below this many inserted rows keeping the index is cheap whatever the order.
    static let minimumRows: Int64 = 50_000

    private struct RunState {
        var rowsBefore: Int64
        var inserted: Int64 = 0
    }

    private var runs: [Int64: RunState] = [:]

    static func exists(_ db: Database) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'job_t0')")
            ?? false
    }

    /// The table's size for `begin` (its largest id: cheap, and close enough).
    static func rows(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(id), 0) FROM job") ?? 0
    }

    mutating func begin(run: Int64, rows: Int64) {
        runs[run] = RunState(rowsBefore: rows)
    }

    /// Whether the next batch of `run` drops the index first (inside its transaction): once
    /// the run has inserted more rows than the table held. Dropping twice is harmless.
    func dropsIndex(run: Int64) -> Bool {
        guard let state = runs[run] else { return false }
        return state.inserted > max(state.rowsBefore, Self.minimumRows)
    }

    mutating func wrote(run: Int64, inserted: Int) {
        runs[run]?.inserted += Int64(inserted)
    }

    /// The run is over; its store then calls `build`, which also rebuilds an index a crashed
    /// run left dropped.
    mutating func finish(run: Int64) {
        runs[run] = nil
    }

    /// Builds the index if it is missing (outside a transaction: `temp_store` cannot change
    /// inside one). The sort spills to a temporary file: in memory it held every key of the
    /// table (RSS grew with the number of jobs) and took longer.
    static func build(_ db: Database) throws {
        guard try !exists(db) else { return }
        let setting = try Int.fetchOne(db, sql: "PRAGMA temp_store") ?? 0
        try db.execute(sql: "PRAGMA temp_store = FILE; CREATE INDEX IF NOT EXISTS job_t0 ON job (t0)")
        try db.execute(sql: "PRAGMA temp_store = \(setting)")
    }
}
