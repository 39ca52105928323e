import Foundation
import GRDB
import Logging
import TallyCore

/// The embedded default store: one SQLite file, written through GRDB.
///
/// An actor: one writer at a time, with its in-memory dimension dictionary kept consistent with
/// the file (it is reloaded whenever a write fails and its transaction rolls back).
public actor SQLiteStore: UsageStore {
    public nonisolated let path: String
    public nonisolated var location: String { path }
    public nonisolated var preferredBatchSize: Int { 8192 }
    let queue: DatabaseQueue
    var dimensions = DimensionDictionary()
    /// The configuration reports apply (directory entries from the database merged in).
    var configuration = TallyConfiguration.empty
    var plans = PlanCache(normaliser: Normaliser(.empty))
    /// Writes by this process that can change summaries (record batches, configurations).
    var summaryWrites: Int64 = 0
    /// A read-only second connection for long reports (opened when first needed).
    var reader: DatabaseQueue?
    /// What `mapForReading` asked for, for the second connection too.
    var mappedBytes: Int64 = 0
    /// Fact-scan reports answered, and those started again because a write came between halves.
    var factReports = (answered: 0, restarted: 0)
    /// Whether bulk loads build the `t0` index at their end (see `TimeIndexDeferral`).
    var timeIndex = TimeIndexDeferral()
    /// For tests: scan the halves of a split report one after the other and run this in between.
    var betweenHalves: (@Sendable () async throws -> Void)?
    func runBetweenHalves(_ body: (@Sendable () async throws -> Void)?) { betweenHalves = body }
    let logger: Logger

    public init(path: String, logger: Logger = Logger(label: "tally.store")) throws {
        self.path = path
        self.logger = logger
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            // DatabaseQueue leaves the rollback journal on; WAL lets reports read during ingest.
            // Debian builds SQLite with secure_delete on, which zeroes every freed page through
            // the WAL: clearing a table wrote its whole size again. FAST still zeroes deleted
            // cells on pages being written anyway, at no extra I/O.
            try db.execute(sql: """
                PRAGMA secure_delete = FAST;
                PRAGMA journal_mode = WAL;
                PRAGMA synchronous = NORMAL;
                PRAGMA cache_size = -16384;
                PRAGMA wal_autocheckpoint = 8192;
                PRAGMA temp_store = MEMORY;
                """)
        }
        configuration.busyMode = .timeout(30)
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
            try Schema.migrator.migrate(queue)
            var loaded = DimensionDictionary()
            try queue.write { db in
                try loaded.load(db)
                // A new database, or one a migration marked: no configuration until one is
                // applied (the recorded text, if any, is kept so the next command applies it).
                let applied = try Self.applied(db)
                if applied == nil || applied?.fingerprint == Schema.rebuildMarker {
                    try Self.record(.empty, text: applied?.text, path: applied?.path, db)
                }
            }
            dimensions = loaded
        } catch {
            throw StoreError.cannotOpen(path: path, reason: "\(error)")
        }
    }

    /// Reads up to `bytes` of the file through a memory map instead of copying each page in
    /// (a tenth of a year-long report's time). For long-lived readers such as `tally serve`:
    /// mapped pages count in the process's resident size, so one-shot ingests do not do this.
    public func mapForReading(bytes: Int64) async throws {
        try await queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA mmap_size = \(bytes)") }
        mappedBytes = bytes
        reader = nil
    }

    /// Changes whenever summaries may have changed: a write or rebuild by this process, or a commit
    /// by another (SQLite's data_version), e.g. a cron `tally ingest` beside `tally serve`.
    public func summaryGeneration() async throws -> String {
        let dataVersion = try await queue.read { db in try Int64.fetchOne(db, sql: "PRAGMA data_version") ?? 0 }
        return "\(summaryWrites).\(dataVersion).\(configuration.fingerprintText)"
    }

    /// Learns names other processes stored since this one last looked (a cron `tally ingest`
    /// beside `tally serve`): their ids appear in rows this process reads.
    func refreshDimensions() async throws {
        let known = dimensions.maxStoredID
        let added = try await queue.read { db in
            try Row.fetchAll(db, sql: "SELECT id, kind, value FROM dim WHERE id > ?", arguments: [known])
                .map { (id: $0[0] as Int64, kind: $0[1] as Int64, value: $0[2] as String) }
        }
        for row in added { dimensions.add(id: row.id, kind: row.kind, value: row.value) }
    }

    /// Reloads what a rolled-back transaction may have left stale in memory.
    func reloadDimensions() async throws {
        dimensions = try await queue.read { db in
            var reloaded = DimensionDictionary()
            try reloaded.load(db)
            return reloaded
        }
        plans = PlanCache(normaliser: Normaliser(configuration))
    }

    public func beginIngest(format: SourceFormat, path: String) async throws -> IngestRun {
        let now = Int64(Date().timeIntervalSince1970)
        let (run, rowsBefore) = try await queue.write { db in
            try db.execute(sql: """
                INSERT INTO source (format, path, first_seen, last_seen) VALUES (?, ?, ?, ?)
                ON CONFLICT (format, path) DO UPDATE SET last_seen = excluded.last_seen
                """, arguments: [format.rawValue, path, now, now])
            let sourceID = try Int64.fetchOne(db, sql: "SELECT id FROM source WHERE format = ? AND path = ?",
                                              arguments: [format.rawValue, path])!
            try db.execute(sql: "INSERT INTO ingest_run (source_id, started_at, status) VALUES (?, ?, 'running')",
                           arguments: [sourceID, now])
            return (IngestRun(id: db.lastInsertedRowID, sourceID: sourceID, path: path), try TimeIndexDeferral.rows(db))
        }
        timeIndex.begin(run: run.id, rows: rowsBefore)
        return run
    }

    public func finishIngest(_ run: IngestRun, totals: IngestTotals, status: IngestRun.Status) async throws {
        let now = Int64(Date().timeIntervalSince1970)
        try await queue.write { db in
            try db.execute(sql: """
                UPDATE ingest_run SET finished_at = ?, status = ?, lines_read = ?, records = ?, inserted = ?,
                    updated = ?, unchanged = ?, rejected = ?, skipped = ? WHERE id = ?
                """, arguments: [now, status.rawValue, totals.linesRead, totals.records, totals.inserted,
                                 totals.updated, totals.unchanged, totals.rejected, totals.skipped, run.id])
            try db.execute(sql: "UPDATE source SET last_seen = ? WHERE id = ?", arguments: [now, run.sourceID])
        }
        timeIndex.finish(run: run.id)
        try await queue.writeWithoutTransaction { db in try TimeIndexDeferral.build(db) }
    }

    public func write(_ batch: CollectedBatch, in run: IngestRun) async throws -> BatchOutcome {
        try await refreshDimensions()
        let dictionary = dimensions
        let dropsTimeIndex = timeIndex.dropsIndex(run: run.id)
        do {
            let (outcome, updated) = try await queue.write { db in
                if dropsTimeIndex { try db.execute(sql: TimeIndexDeferral.drop) }
                var writer = try RecordWriter(db: db, dimensions: dictionary, run: run)
                let outcome = try writer.write(batch)
                return (outcome, writer.dimensions)
            }
            dimensions = updated
            timeIndex.wrote(run: run.id, inserted: outcome.inserted)
            summaryWrites += 1
            return outcome
        } catch {
            // The transaction rolled back: ids handed out inside it no longer exist.
            try await reloadDimensions()
            throw error
        }
    }
}

public enum StoreError: Error, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case corrupt(String)
    case writeFailed(reason: String)
    case queryFailed(reason: String)
    case configurationChanged(applied: String, inUse: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): "cannot open database \(path): \(reason)"
        case let .corrupt(what): "database inconsistency: \(what)"
        case let .writeFailed(reason): "nothing was written: \(reason)"
        case let .queryFailed(reason): "query failed: \(reason)"
        case let .configurationChanged(applied, inUse):
            "another process applied configuration \(applied) since this one started with \(inUse): "
                + "nothing was written; run again (with the same --config everywhere)"
        }
    }
}
