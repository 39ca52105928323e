import Foundation
import Logging
import NIOCore
import PostgresNIO
import TallyCore

/// The central repository's store: PostgreSQL through PostgresNIO, with the same tables,
/// summaries and answers as the embedded SQLite store.
///
/// Record batches are written by one writer at a time across all processes (an advisory lock):
/// a batch reads the stored versions of its keys, decides in memory what is new, changed or
/// stale, then writes rows with COPY and summary deltas with one multi-row upsert.
public actor PostgresStore: UsageStore {
    public nonisolated let location: String
    public nonisolated var preferredBatchSize: Int { 50_000 }
    let client: PostgresClient
    private let runner: Task<Void, Never>
    var dimensions = DimensionDictionary()
    var configuration = TallyConfiguration.empty
    var plans = PlanCache(normaliser: Normaliser(.empty))
    let logger: Logger

    public init(url: String, logger: Logger = Logger(label: "tally.store")) async throws {
        let target = try PostgresLocation(url: url)
        location = target.redacted
        self.logger = logger
        // The pool warns when its first lease races `run()` starting: harmless, and errors still show.
        var background = logger
        background.logLevel = .error
        let client = PostgresClient(configuration: target.configuration, backgroundLogger: background)
        self.client = client
        runner = Task { await client.run() }
        do {
            try await migrate()
            try await reloadDimensions()
            if try await appliedConfiguration() == nil {
                // A new database: summaries with no configuration until one is applied.
                try await rebuild(text: nil)
            }
        } catch {
            runner.cancel()
            throw StoreError.cannotOpen(path: location, reason: Self.describe(error))
        }
    }

    deinit { runner.cancel() }

    /// Closes the connections.
    public func close() { runner.cancel() }

    /// PostgresNIO keeps server messages out of `description` (they may hold data); ours are
    /// needed to act on, and queries only ever carry bound values.
    static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] {
                let detail = error.serverInfo?[.detail].map { " (\($0))" } ?? ""
                return "PostgreSQL: \(message)\(detail)"
            }
            return "PostgreSQL: \(error.code)"
        }
        if let error = error as? PostgresTransactionError {
            if let inner = error.closureError ?? error.commitError ?? error.beginError { return describe(inner) }
        }
        return "\(error)"
    }

    private func migrate() async throws {
        // The first lease can race `run()` starting, which PostgresNIO warns about: harmless here.
        var logger = logger
        logger.logLevel = .error
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(PostgresSchema.writerLock))", logger: logger)
            try await connection.query("""
                CREATE TABLE IF NOT EXISTS tally_schema (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)
                """, logger: logger)
            var applied = Set<Int64>()
            for try await version in try await connection.query("SELECT version FROM tally_schema", logger: logger)
                .decode(Int64.self) { applied.insert(version) }
            for migration in PostgresSchema.migrations where !applied.contains(Int64(migration.version)) {
                for statement in migration.sql.components(separatedBy: ";\n") where !statement.allSatisfy(\.isWhitespace) {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query("""
                    INSERT INTO tally_schema (version, name, applied_at)
                    VALUES (\(Int64(migration.version)), \(migration.name), \(Self.now))
                    """, logger: logger)
            }
        }
    }

    static var now: Int64 { Int64(Date().timeIntervalSince1970) }

    // MARK: Dimensions

    func reloadDimensions() async throws {
        dimensions = DimensionDictionary()
        try await refreshDimensions()
        plans = PlanCache(normaliser: Normaliser(configuration))
    }

    /// Learns names stored since this process last looked (by itself or other writers).
    func refreshDimensions() async throws {
        let known = dimensions.maxStoredID
        let rows = try await client.query("SELECT id, kind, value FROM dim WHERE id > \(known) ORDER BY id", logger: logger)
        for try await (id, kind, value) in rows.decode((Int64, Int64, String).self) {
            dimensions.add(id: id, kind: kind, value: value)
        }
    }

    /// Stores the names `dictionary` handed provisional ids and returns provisional → stored id.
    static func storeProvisional(_ dictionary: inout DimensionDictionary, _ connection: PostgresConnection,
                                 logger: Logger) async throws -> [Int64: Int64] {
        let names = dictionary.provisional
        guard !names.isEmpty else { return [:] }
        let kinds = names.map(\.kind), values = names.map(\.value)
        try await connection.query("""
            INSERT INTO dim (kind, value) SELECT * FROM unnest(\(kinds)::bigint[], \(values)::text[])
            ON CONFLICT DO NOTHING
            """, logger: logger)
        var stored: [String: Int64] = [:]
        let rows = try await connection.query("""
            SELECT d.id, d.kind, d.value FROM dim d
            JOIN unnest(\(kinds)::bigint[], \(values)::text[]) AS n(kind, value) ON d.kind = n.kind AND d.value = n.value
            """, logger: logger)
        for try await (id, kind, value) in rows.decode((Int64, Int64, String).self) { stored["\(kind)\u{0}\(value)"] = id }
        var mapping: [Int64: Int64] = [:]
        for name in names {
            guard let id = stored["\(name.kind)\u{0}\(name.value)"] else {
                throw StoreError.corrupt("dimension \(name.value) was not stored")
            }
            mapping[name.id] = id
        }
        dictionary.commitProvisional(mapping)
        return mapping
    }

    // MARK: Ingest runs

    public func beginIngest(format: SourceFormat, path: String) async throws -> IngestRun {
        let now = Self.now
        return try await client.withTransaction(logger: logger) { connection in
            let sourceID = try await connection.query("""
                INSERT INTO source (format, path, first_seen, last_seen) VALUES (\(format.rawValue), \(path), \(now), \(now))
                ON CONFLICT (format, path) DO UPDATE SET last_seen = excluded.last_seen RETURNING id
                """, logger: logger).decode(Int64.self).first { _ in true }!
            let runID = try await connection.query("""
                INSERT INTO ingest_run (source_id, started_at, status) VALUES (\(sourceID), \(now), 'running') RETURNING id
                """, logger: logger).decode(Int64.self).first { _ in true }!
            return IngestRun(id: runID, sourceID: sourceID, path: path)
        }
    }

    public func finishIngest(_ run: IngestRun, totals: IngestTotals, status: IngestRun.Status) async throws {
        let now = Self.now
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query("""
                UPDATE ingest_run SET finished_at = \(now), status = \(status.rawValue),
                    lines_read = \(Int64(totals.linesRead)), records = \(Int64(totals.records)),
                    inserted = \(Int64(totals.inserted)), updated = \(Int64(totals.updated)),
                    unchanged = \(Int64(totals.unchanged)), rejected = \(Int64(totals.rejected)),
                    skipped = \(Int64(totals.skipped))
                WHERE id = \(run.id)
                """, logger: logger)
            try await connection.query("UPDATE source SET last_seen = \(now) WHERE id = \(run.sourceID)", logger: logger)
        }
    }

    // MARK: Writing records

    public func write(_ batch: CollectedBatch, in run: IngestRun) async throws -> BatchOutcome {
        do {
            try await refreshDimensions()
            let dictionary = dimensions, cache = plans, logger = logger
            let (outcome, updatedDimensions, reset) = try await client.withTransaction(logger: logger) { connection in
                var writer = PostgresBatchWriter(connection: connection, dimensions: dictionary, plans: cache, run: run,
                                                 logger: logger)
                let outcome = try await writer.write(batch)
                return (outcome, writer.dimensions, writer.storedNewNames)
            }
            dimensions = updatedDimensions
            // Cached plans may hold provisional ids that now have stored ones.
            if reset { plans = PlanCache(normaliser: Normaliser(configuration)) }
            return outcome
        } catch {
            try? await reloadDimensions()
            if let error = error as? PostgresTransactionError, let inner = error.closureError as? StoreError { throw inner }
            throw StoreError.writeFailed(reason: Self.describe(error))
        }
    }
}
