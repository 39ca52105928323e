import Foundation
import PostgresNIO
import TallyCore

extension PostgresStore {
    private func meta() async throws -> StoreMeta {
        var values: [String: Int64] = [:]
        for try await (key, value) in try await client.query("SELECT key, value FROM meta", logger: logger)
            .decode((String, Int64).self) { values[key] = value }
        return StoreMeta(values: values)
    }

    private func count(_ query: PostgresQuery) async throws -> Int64 {
        try await client.query(query, logger: logger).decode(Int64.self).first { _ in true } ?? 0
    }

    /// Runs shared SQL text, handing each row to `body` as it streams in.
    func forEachRow(_ text: SQLText, _ body: (PostgresStoredRow) throws -> Void) async throws {
        for try await row in try await client.query(text.postgresQuery, logger: logger) {
            try body(PostgresStoredRow(row))
        }
    }

    public func report(_ query: ReportQuery) async throws -> Report {
        do {
            try await refreshDimensions()
            let dictionary = dimensions
            var computation = ReportComputation(query: query, meta: try await meta(), dimensions: dictionary,
                                                plans: plans, configuration: configuration)
            for read in computation.rollupReads {
                let text = StoredQueries.rollups(table: read.table, column: read.column, first: read.first,
                                                 end: read.end, filter: computation.filter, dialect: .postgres)
                let isMonth = read.isMonth
                let grouped = computation.grouped
                try await forEachRow(text) { row in
                    var ids = DimensionIDs()
                    for index in grouped { ids[index] = try row.int(index + 1) }
                    var amounts = UsageAmounts()
                    var failure: (any Error)?
                    amounts = RollupColumns.amounts({ column in
                        do { return try row.int(Int(column)) } catch { failure = error; return 0 }
                    }, from: Int32(DimensionIDs.rollupCount + 1))
                    if let failure { throw failure }
                    computation.addRollup(unit: try row.int(0), isMonth: isMonth, ids: ids, amounts: amounts)
                }
            }
            let states = StateCache(dictionary)
            let hosts = computation.needsHosts
            for sweep in computation.sweeps {
                let text = StoredQueries.facts(touching: sweep.window, filters: query.filters,
                                               maxSpan: computation.maxSpan, tableScan: sweep.tableScan, hosts: hosts,
                                               dimensions: dictionary, dialect: .postgres)
                try await forEachRow(text) { row in
                    let (facts, ids) = try StoredQueries.facts(row, states: states)
                    let after = StoredQueries.factsColumnCount  // t0, t1, then the node list
                    let host = hosts ? HostList.first(try row.optionalText(after + 2)) : ""
                    try computation.addRaw(facts, recorded: ids, touched: try row.int(after)..<row.int(after + 1), host: host,
                                           sweep: sweep)
                }
            }
            return computation.finish(sources: try await count("SELECT COUNT(*) FROM source"),
                                      rejectedLines: try await count("SELECT COUNT(*) FROM rejected_line"))
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.queryFailed(reason: Self.describe(error))
        }
    }

    public func jobs(_ query: JobQuery) async throws -> [UsageRecord] {
        try await jobPage(query).map(\.record)
    }

    public func jobPage(_ query: JobQuery) async throws -> [(record: UsageRecord, id: Int64)] {
        var page: [(record: UsageRecord, id: Int64)] = []
        try await forEachRecord(query) { page.append(($0, $1)) }
        return page
    }

    public func forEachJob(_ query: JobQuery, _ body: @escaping @Sendable (UsageRecord) throws -> Void) async throws {
        try await forEachRecord(query) { record, _ in try body(record) }
    }

    public func forEachRun(_ query: JobQuery, _ body: @escaping @Sendable (RunFacts) throws -> Void) async throws {
        try await refreshDimensions()
        let dictionary = dimensions
        let maxSpan = query.window == nil ? 0 : try await meta().maxSpan
        let states = StateCache(dictionary)
        try await forEachRow(StoredQueries.runs(query, maxSpan: maxSpan, dimensions: dictionary, dialect: .postgres)) { row in
            try body(try StoredQueries.run(row, states: states, dimensions: dictionary))
        }
    }

    private func forEachRecord(_ query: JobQuery, _ body: (UsageRecord, Int64) throws -> Void) async throws {
        try await refreshDimensions()
        let dictionary = dimensions
        let maxSpan = query.window == nil ? 0 : try await meta().maxSpan
        let text = StoredQueries.records(query, maxSpan: maxSpan, dimensions: dictionary, dialect: .postgres)
        try await forEachRow(text) { row in
            let (record, id) = try StoredQueries.record(row, dimensions: dictionary)
            try body(record, id)
        }
    }

    public func summaryGeneration() async throws -> String {
        let generation = try await count("SELECT COALESCE(MAX(value), 0) FROM meta WHERE key = 'generation'")
        return "\(generation).\(configuration.fingerprintText)"
    }

    public func status(includingCoverage: Bool) async throws -> StoreStatus {
        var byState: [(state: String, count: Int64)] = []
        try await forEachRow(StateCounts.select(.postgres)) { byState.append((try $0.text(0), try $0.int(1))) }
        byState = StateCounts.sorted(byState)
        let records = byState.reduce(0) { $0 + $1.count }
        var sources: [StoreStatus.Source] = []
        let sourceRows = try await client.query("""
            SELECT s.format, s.path, s.first_seen, s.last_seen, COUNT(r.id),
                   COALESCE(SUM(r.lines_read), 0)::bigint, COALESCE(SUM(r.records), 0)::bigint,
                   COALESCE(SUM(r.inserted), 0)::bigint, COALESCE(SUM(r.updated), 0)::bigint,
                   COALESCE(SUM(r.unchanged), 0)::bigint, COALESCE(SUM(r.rejected), 0)::bigint,
                   COALESCE(SUM(r.skipped), 0)::bigint,
                   (SELECT COUNT(*) FROM flagged_line f WHERE f.source_id = s.id)::bigint
            FROM source s LEFT JOIN ingest_run r ON r.source_id = s.id
            GROUP BY s.id ORDER BY s.path
            """, logger: logger)
        for try await row in sourceRows {
            let cells = PostgresRandomAccessRow(row)
            func int(_ index: Int) throws -> Int { Int(try cells[index].decode(Int64.self)) }
            var totals = IngestTotals()
            totals.linesRead = try int(5); totals.records = try int(6); totals.inserted = try int(7)
            totals.updated = try int(8); totals.unchanged = try int(9); totals.rejected = try int(10)
            totals.skipped = try int(11); totals.flagged = try int(12)
            sources.append(StoreStatus.Source(
                format: try cells[0].decode(String.self), path: try cells[1].decode(String.self),
                firstSeen: try cells[2].decode(Int64.self), lastSeen: try cells[3].decode(Int64.self),
                runs: try cells[4].decode(Int64.self), totals: totals))
        }
        var coverage: Range<Int64>?
        if includingCoverage {
            for try await (low, high) in try await client.query(
                "SELECT MIN(start), MAX(COALESCE(end_time, start + wall)) FROM job", logger: logger)
                .decode((Int64?, Int64?).self) {
                if let low, let high, low <= high { coverage = low..<high }
            }
        }
        let rejected = try await count("SELECT COUNT(*) FROM rejected_line")
        var status = StoreStatus(records: records, recordsByState: byState, sources: sources, coverage: coverage,
                                 rejectedLines: rejected, recentRejections: try await recentLines(table: "rejected_line"))
        status.flaggedLines = try await count("SELECT COUNT(*) FROM flagged_line")
        status.recentFlags = try await recentLines(table: "flagged_line")
        return status
    }

    /// The latest ten lines of `rejected_line` or `flagged_line` (same columns), oldest first.
    private func recentLines(table: String) async throws -> [Rejection] {
        var recent: [Rejection] = []
        for try await (path, line, field, reason, excerpt) in try await client.query(PostgresQuery(unsafeSQL: """
            SELECT s.path, r.line, r.field, r.reason, r.excerpt FROM \(table) r
            JOIN source s ON s.id = r.source_id ORDER BY r.id DESC LIMIT 10
            """), logger: logger).decode((String, Int64, String?, String, String).self) {
            recent.append(Rejection(position: SourcePosition(file: path, line: Int(line)), field: field, reason: reason,
                                    excerpt: excerpt))
        }
        return recent.reversed()
    }

    // MARK: Coverage

    public func coverage() async throws -> [ClusterCoverage] {
        try await refreshDimensions()
        var builder = ClusterCoverage.Builder()
        for try await (site, cluster, day) in try await client.query(
            "SELECT DISTINCT site, cluster, day FROM rollup_day ORDER BY site, cluster, day", logger: logger)
            .decode((Int64, Int64, Int64).self) {
            builder.add(site: dimensions.value(site), cluster: dimensions.value(cluster), day: day)
        }
        return builder.finish()
    }

    public func recordSnapshots(site: String, cluster: String, format: SourceFormat, times: [Int64]) async throws {
        guard !times.isEmpty else { return }
        try await client.query("""
            INSERT INTO snapshot_time (site, cluster, format, taken_at)
            SELECT \(site), \(cluster), \(format.rawValue), t FROM unnest(\(times)::bigint[]) AS t
            ON CONFLICT DO NOTHING
            """, logger: logger)
    }

    public func snapshotCoverage(interval: Int64?, gcThreshold: Int64?) async throws -> [SnapshotCoverage] {
        var rows: [(site: String, cluster: String, format: String, time: Int64)] = []
        for try await row in try await client.query(
            "SELECT site, cluster, format, taken_at FROM snapshot_time ORDER BY 1, 2, 3, 4", logger: logger)
            .decode((String, String, String, Int64).self) { rows.append(row) }
        return SnapshotCoverage.build(rows, interval: interval, gcThreshold: gcThreshold)
    }

    // MARK: Checkpoints

    public func checkpoint(format: String, path: String) async throws -> Checkpoint? {
        let rows = try await client.query("""
            SELECT device, inode, size, mtime, head_length, head_hash, "offset", line, compressed, resume_state
            FROM checkpoint WHERE format = \(format) AND path = \(path)
            """, logger: logger)
        for try await row in rows {
            let cells = PostgresRandomAccessRow(row)
            func int(_ index: Int) throws -> Int64 { try cells[index].decode(Int64.self) }
            let state = try cells[9].decode(ByteBuffer.self)
            return Checkpoint(format: format, path: path, device: try int(0), inode: try int(1), size: try int(2),
                              mtime: try int(3), headLength: try int(4), headHash: try int(5), offset: try int(6),
                              line: Int(try int(7)), compressed: try cells[8].decode(Bool.self),
                              resumeState: Array(state.readableBytesView))
        }
        return nil
    }

    public func saveCheckpoint(_ checkpoint: Checkpoint) async throws {
        let state = ByteBuffer(bytes: checkpoint.resumeState)
        try await client.query("""
            INSERT INTO checkpoint (format, path, device, inode, size, mtime, head_length, head_hash, "offset", line,
                                    compressed, resume_state, updated_at)
            VALUES (\(checkpoint.format), \(checkpoint.path), \(checkpoint.device), \(checkpoint.inode),
                    \(checkpoint.size), \(checkpoint.mtime), \(checkpoint.headLength), \(checkpoint.headHash),
                    \(checkpoint.offset), \(Int64(checkpoint.line)), \(checkpoint.compressed), \(state), \(Self.now))
            ON CONFLICT (format, path) DO UPDATE SET device = excluded.device, inode = excluded.inode,
                size = excluded.size, mtime = excluded.mtime, head_length = excluded.head_length,
                head_hash = excluded.head_hash, "offset" = excluded."offset", line = excluded.line,
                compressed = excluded.compressed, resume_state = excluded.resume_state, updated_at = excluded.updated_at
            """, logger: logger)
    }
}
