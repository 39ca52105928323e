import GRDB
import GRDBSQLite
import TallyCore

/// Writes one batch inside one transaction: upserts records by natural key through reused
/// prepared statements bound with the C API (GRDB's argument arrays cost ~2× on this path),
/// and patches the fact blocks of the jobs it changed at the end. Nothing here depends on the
/// configuration: reports apply it when they scan the facts.
struct RecordWriter {
    private let db: Database
    private(set) var dimensions: DimensionDictionary
    private let run: IngestRun
    private let insert: Statement
    private let replace: Statement
    private let lookup: Statement
    private var minT0 = Int64.max, maxT1 = Int64.min, maxSpan: Int64 = 0
    private var states = StateCounts.Deltas()
    private var factChanges = FactBlockChanges()
    /// The previous record's node list and its first host's id (jobs of a batch often share it).
    private var lastNodes: String?, lastHost: Int64 = 0

    static let placeholders = Array(repeating: "?", count: JobRows.columns.count).joined(separator: ", ")

    init(db: Database, dimensions: DimensionDictionary, run: IngestRun) throws {
        self.db = db
        self.dimensions = dimensions
        self.run = run
        insert = try db.cachedStatement(sql: """
            INSERT INTO job (\(JobRows.columnList)) VALUES (\(Self.placeholders)) ON CONFLICT (natural_key) DO NOTHING
            """)
        replace = try db.cachedStatement(sql: "INSERT OR REPLACE INTO job (\(JobRows.columnList)) VALUES (\(Self.placeholders))")
        lookup = try db.cachedStatement(sql: "SELECT fingerprint, state, id FROM job WHERE natural_key = ?")
    }

    mutating func write(_ batch: CollectedBatch) throws -> BatchOutcome {
        var outcome = BatchOutcome()
        for record in batch.records {
            try upsert(record, &outcome)
        }
        for rejection in batch.rejections {
            try db.execute(sql: """
                INSERT INTO rejected_line (run_id, source_id, line, field, reason, excerpt) VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [run.id, run.sourceID, rejection.position.line, rejection.field, rejection.reason,
                                 rejection.excerpt])
        }
        for flag in batch.flags {
            try db.execute(sql: """
                INSERT INTO flagged_line (run_id, source_id, line, field, reason, excerpt) VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [run.id, run.sourceID, flag.position.line, flag.field, flag.reason, flag.excerpt])
        }
        try factChanges.flush(db)
        try flushMeta()
        try db.execute(sql: Schema.bumpGeneration)
        for text in states.statements(.sqlite) { try db.execute(sql: text.sql, arguments: text.arguments) }
        states = StateCounts.Deltas()
        return outcome
    }

    private mutating func upsert(_ record: UsageRecord, _ outcome: inout BatchOutcome) throws {
        let ids = try dimensions.ids(for: record, .inserting(db))
        let fingerprint = JobRows.fingerprint(record)
        let facts = record.usage
        try bind(insert, record: record, ids: ids, fingerprint: fingerprint, facts: facts)
        try step(insert)
        if sqlite3_changes(db.sqliteConnection) == 1 {
            factChanges.set(jobID: sqlite3_last_insert_rowid(db.sqliteConnection), facts: facts, ids: ids,
                            host: try host(record.nodeList))
            outcome.inserted += 1
            states.inserted(record.state)
            noteSpan(facts)
            return
        }
        guard let existing = try fetchExisting(record.naturalKey) else {
            throw StoreError.corrupt("job \(record.naturalKey) conflicted but cannot be read")
        }
        // A stale line (running after completed) never replaces a more final one.
        if JobRows.keepsStored(fingerprint: existing.fingerprint, state: existing.state, over: fingerprint, record.state) {
            outcome.unchanged += 1
            return
        }
        try bind(replace, record: record, ids: ids, fingerprint: fingerprint, facts: facts)
        try step(replace)
        // INSERT OR REPLACE gives the new row a new id.
        factChanges.remove(jobID: existing.id)
        factChanges.set(jobID: sqlite3_last_insert_rowid(db.sqliteConnection), facts: facts, ids: ids,
                        host: try host(record.nodeList))
        noteSpan(facts)
        states.replaced(existing.state, with: record.state)
        outcome.updated += 1
    }

    private mutating func host(_ nodeList: String?) throws -> Int64 {
        if let nodeList, nodeList == lastNodes { return lastHost }
        lastNodes = nodeList
        lastHost = try dimensions.hostID(HostList.first(nodeList ?? ""), db)
        return lastHost
    }

    /// The time span of the records (reports start their periods there).
    private mutating func noteSpan(_ facts: UsageFacts) {
        guard let span = facts.touchSpan else { return }
        minT0 = min(minT0, span.lowerBound)
        maxT1 = max(maxT1, span.upperBound)
        maxSpan = max(maxSpan, span.upperBound - span.lowerBound)
    }

    private func flushMeta() throws {
        guard minT0 <= maxT1 else { return }
        try db.execute(sql: """
            INSERT INTO meta (key, value) VALUES ('min_t0', ?) ON CONFLICT DO UPDATE SET value = min(value, excluded.value);
            INSERT INTO meta (key, value) VALUES ('max_t1', ?) ON CONFLICT DO UPDATE SET value = max(value, excluded.value);
            INSERT INTO meta (key, value) VALUES ('max_span', ?) ON CONFLICT DO UPDATE SET value = max(value, excluded.value);
            """, arguments: [minT0, maxT1, maxSpan])
    }

    // MARK: Statements

    private struct Existing {
        var fingerprint: Int64
        var state: JobState
        var id: Int64
    }

    private func fetchExisting(_ naturalKey: String) throws -> Existing? {
        let handle = lookup.sqliteStatement
        sqlite3_reset(handle)
        var key = naturalKey
        key.withUTF8 { bytes in
            _ = sqlite3_bind_text(handle, 1, UnsafeRawPointer(bytes.baseAddress!).assumingMemoryBound(to: CChar.self),
                                  Int32(bytes.count), SQLITE_TRANSIENT)
        }
        let code = sqlite3_step(handle)
        guard code == SQLITE_ROW else {
            sqlite3_reset(handle)
            if code == SQLITE_DONE { return nil }
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
        }
        let state = JobState(rawValue: dimensions.value(sqlite3_column_int64(handle, 1))) ?? .unknown
        let existing = Existing(fingerprint: sqlite3_column_int64(handle, 0), state: state,
                                id: sqlite3_column_int64(handle, 2))
        sqlite3_reset(handle)
        return existing
    }

    private func bind(_ statement: Statement, record: UsageRecord, ids: DimensionIDs,
                      fingerprint: Int64, facts: UsageFacts) throws {
        let handle = statement.sqliteStatement
        sqlite3_reset(handle)
        var index: Int32 = 0
        func int(_ value: Int64?) {
            index += 1
            if let value { sqlite3_bind_int64(handle, index, value) } else { sqlite3_bind_null(handle, index) }
        }
        func text(_ value: String?) {
            index += 1
            guard let value else { sqlite3_bind_null(handle, index); return }
            var copy = value
            copy.withUTF8 { bytes in
                _ = sqlite3_bind_text(handle, index, UnsafeRawPointer(bytes.baseAddress!).assumingMemoryBound(to: CChar.self),
                                      Int32(bytes.count), SQLITE_TRANSIENT)
            }
        }
        text(record.naturalKey); int(fingerprint); int(Int64(record.source.code))
        for column in 0..<DimensionIDs.recordedCount { int(ids[column]) }
        text(record.jobID); text(record.localJobID); text(record.name); text(record.rawState)
        int(record.submit); int(record.eligible); int(record.start); int(record.end); int(record.wallSeconds)
        int(Int64(record.cores)); int(Int64(record.gpus)); int(Int64(record.nodeCount)); text(record.nodeList)
        int(record.memoryAllocated); int(record.memoryRequested); int(record.memoryUsedPeak)
        int(record.cpuSeconds); int(record.energyJoules); int(record.billing)
        int(record.exitCode.map(Int64.init)); int(record.exitSignal.map(Int64.init))
        int(run.sourceID); int(Int64(record.origin.line))
        let span = facts.touchSpan
        int(span?.lowerBound); int(span?.upperBound)
        int(record.milliCores); int(record.diskAllocated)
    }

    private func step(_ statement: Statement) throws {
        let code = sqlite3_step(statement.sqliteStatement)
        guard code == SQLITE_DONE else {
            let message = String(cString: sqlite3_errmsg(db.sqliteConnection))
            sqlite3_reset(statement.sqliteStatement)
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: message)
        }
    }
}

/// SQLite's "copy the bytes now" destructor, which the C macro hides from Swift.
let SQLITE_TRANSIENT = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
