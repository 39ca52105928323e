import Logging
import NIOCore
import PostgresNIO
import TallyCore

/// Writes one batch inside one transaction on one connection: the stored versions of the batch's
/// keys in one query, the decisions in memory, new and changed rows with one COPY, summary deltas
/// with one multi-row upsert per table.
struct PostgresBatchWriter {
    let connection: PostgresConnection
    private(set) var dimensions: DimensionDictionary
    private(set) var plans: PlanCache
    let run: IngestRun
    let logger: Logger
    /// Whether names new to the database were stored (cached plans hold their provisional ids).
    private(set) var storedNewNames = false

    init(connection: PostgresConnection, dimensions: DimensionDictionary, plans: PlanCache, run: IngestRun,
         logger: Logger) {
        self.connection = connection
        self.dimensions = dimensions
        self.plans = plans
        self.run = run
        self.logger = logger
    }

    /// A record as stored (or as this batch will store it).
    private struct Stored {
        var fingerprint: Int64
        var state: JobState
        var ids: DimensionIDs
        var facts: UsageFacts
        var host: String
        /// In the table before this batch (so it must be deleted before its new version is copied).
        var inTable: Bool
    }

    /// A record to copy: its place in the batch (not a copy of it: a batch of 50,000 records in
    /// a dictionary of copies was 80 MB), its ids and fingerprint.
    private struct Pending {
        var index: Int
        var ids: DimensionIDs
        var fingerprint: Int64
    }

    mutating func write(_ batch: CollectedBatch) async throws -> BatchOutcome {
        try await connection.query("SELECT pg_advisory_xact_lock(\(PostgresSchema.writerLock))", logger: logger)
        // Another process may have applied another configuration since this one read it.
        let applied = try await connection.query("SELECT fingerprint FROM applied_configuration WHERE id = 1",
                                                 logger: logger).decode(String.self).first { _ in true }
        let mine = plans.normaliser.configuration.fingerprintText
        if let applied, applied != mine {
            throw StoreError.configurationChanged(applied: applied, inUse: mine)
        }
        let stored = try await storedVersions(of: batch.records.map(\.naturalKey))
        var outcome = BatchOutcome()
        var rollups = RollupBuilder()
        var pending: [String: Pending] = [:]
        var order: [String] = []
        var replaced: [String] = []
        var minT0 = Int64.max, maxT1 = Int64.min, maxSpan: Int64 = 0
        var states = StateCounts.Deltas()
        let needsHosts = plans.needsHosts
        pending.reserveCapacity(batch.records.count)
        for (index, record) in batch.records.enumerated() {
            let ids = try dimensions.ids(for: record, .provisional)
            let fingerprint = JobRows.fingerprint(record)
            let facts = record.usage
            let host = needsHosts ? HostList.first(record.nodeList) : ""
            let key = record.naturalKey
            // The version to compare with: an earlier line of this batch, else the table's.
            let earlier = pending[key]
            let existing: Stored? = earlier.map { earlier in
                let prior = batch.records[earlier.index]
                return Stored(fingerprint: earlier.fingerprint, state: prior.state, ids: earlier.ids, facts: prior.usage,
                              host: needsHosts ? HostList.first(prior.nodeList) : "", inTable: stored[key] != nil)
            } ?? stored[key]
            if let existing {
                if JobRows.keepsStored(fingerprint: existing.fingerprint, state: existing.state, over: fingerprint,
                                       record.state) {
                    outcome.unchanged += 1
                    continue
                }
                try rollups.add(existing.facts, recorded: existing.ids, host: existing.host, sign: -1, plans: &plans,
                                dictionary: &dimensions, source: .provisional)
                if existing.inTable, earlier == nil { replaced.append(key) }
                states.replaced(existing.state, with: record.state)
                outcome.updated += 1
            } else {
                states.inserted(record.state)
                outcome.inserted += 1
            }
            try rollups.add(facts, recorded: ids, host: host, sign: 1, plans: &plans, dictionary: &dimensions,
                            source: .provisional)
            if earlier == nil { order.append(key) }
            pending[key] = Pending(index: index, ids: ids, fingerprint: fingerprint)
            if let span = facts.touchSpan {
                minT0 = min(minT0, span.lowerBound)
                maxT1 = max(maxT1, span.upperBound)
                maxSpan = max(maxSpan, span.upperBound - span.lowerBound)
            }
        }

        let mapping = try await PostgresStore.storeProvisional(&dimensions, connection, logger: logger)
        storedNewNames = !mapping.isEmpty
        if !replaced.isEmpty {
            try await connection.query("DELETE FROM job WHERE natural_key = ANY(\(replaced))", logger: logger)
        }
        try await copyJobs(order.map { pending[$0]! }, of: batch.records, mapping: mapping)
        try await copyLines(batch.rejections, into: "rejected_line")
        try await copyLines(batch.flags, into: "flagged_line")
        let (days, months) = rollups.drainAll()
        try await PostgresRollups.upsert(days, table: "rollup_day", period: "day", mapping: mapping,
                                         connection: connection, logger: logger)
        try await PostgresRollups.upsert(months, table: "rollup_month", period: "month", mapping: mapping,
                                         connection: connection, logger: logger)
        if minT0 <= maxT1 {
            try await connection.query("""
                INSERT INTO meta (key, value) VALUES ('min_t0', \(minT0)) ON CONFLICT (key) DO UPDATE
                SET value = LEAST(meta.value, excluded.value)
                """, logger: logger)
            try await connection.query("""
                INSERT INTO meta (key, value) VALUES ('max_t1', \(maxT1)), ('max_span', \(maxSpan)) ON CONFLICT (key)
                DO UPDATE SET value = GREATEST(meta.value, excluded.value)
                """, logger: logger)
        }
        for text in states.statements(.postgres) { try await connection.query(text.postgresQuery, logger: logger) }
        try await PostgresRollups.bumpGeneration(connection, logger: logger)
        return outcome
    }

    private func storedVersions(of keys: [String]) async throws -> [String: Stored] {
        var result: [String: Stored] = [:]
        guard !keys.isEmpty else { return result }
        let rows = try await connection.query("""
            SELECT natural_key, fingerprint, \(unescaped: StoredQueries.factsColumns), node_list
            FROM job WHERE natural_key = ANY(\(keys))
            """, logger: logger)
        let states = StateCache(dimensions)
        for try await row in rows {
            let cells = PostgresRandomAccessRow(row)
            let shifted = ShiftedRow(row: PostgresStoredRow(row: cells), offset: 2)
            let (facts, ids) = try StoredQueries.facts(shifted, states: states)
            let host = HostList.first(try cells[2 + StoredQueries.factsColumnCount].decode(String?.self))
            result[try cells[0].decode(String.self)] = Stored(
                fingerprint: try cells[1].decode(Int64.self), state: facts.state, ids: ids, facts: facts,
                host: plans.needsHosts ? host : "", inTable: true)
        }
        return result
    }

    private func copyJobs(_ rows: [Pending], of records: [UsageRecord], mapping: [Int64: Int64]) async throws {
        guard !rows.isEmpty else { return }
        let columns = JobRows.columns
        let sourceID = run.sourceID
        try await connection.copyFrom(table: "job", columns: columns, logger: logger) { writer in
            var copy = CopyText()
            for row in rows {
                let record = records[row.index]
                let ids = row.ids.remapped(mapping)
                copy.text(record.naturalKey); copy.int(row.fingerprint); copy.int(Int64(record.source.code))
                for column in 0..<DimensionIDs.recordedCount { copy.int(ids[column]) }
                copy.text(record.jobID); copy.text(record.localJobID); copy.text(record.name); copy.text(record.rawState)
                copy.int(record.submit); copy.int(record.eligible); copy.int(record.start); copy.int(record.end)
                copy.int(record.wallSeconds); copy.int(Int64(record.cores)); copy.int(Int64(record.gpus))
                copy.int(Int64(record.nodeCount)); copy.text(record.nodeList)
                copy.int(record.memoryAllocated); copy.int(record.memoryRequested); copy.int(record.memoryUsedPeak)
                copy.int(record.cpuSeconds); copy.int(record.energyJoules); copy.int(record.billing)
                copy.int(record.exitCode.map(Int64.init)); copy.int(record.exitSignal.map(Int64.init))
                copy.int(sourceID); copy.int(Int64(record.origin.line))
                let span = record.usage.touchSpan
                copy.int(span?.lowerBound); copy.int(span?.upperBound)
                copy.int(record.milliCores); copy.int(record.diskAllocated)
                copy.endRow()
                if copy.byteCount >= 1 << 20 { try await writer.write(copy.take()) }
            }
            if copy.byteCount > 0 { try await writer.write(copy.take()) }
        }
    }

    private func copyLines(_ rejections: [Rejection], into table: String) async throws {
        guard !rejections.isEmpty else { return }
        let runID = run.id, sourceID = run.sourceID
        try await connection.copyFrom(table: table,
                                      columns: ["run_id", "source_id", "line", "field", "reason", "excerpt"],
                                      logger: logger) { writer in
            var copy = CopyText()
            for rejection in rejections {
                copy.int(runID); copy.int(sourceID); copy.int(Int64(rejection.position.line))
                copy.text(rejection.field); copy.text(rejection.reason); copy.text(rejection.excerpt)
                copy.endRow()
            }
            try await writer.write(copy.take())
        }
    }
}

/// A row whose columns of interest start at `offset`.
struct ShiftedRow<Base: StoredRow>: StoredRow {
    let row: Base
    let offset: Int
    func int(_ column: Int) throws -> Int64 { try row.int(column + offset) }
    func optionalInt(_ column: Int) throws -> Int64? { try row.optionalInt(column + offset) }
    func optionalText(_ column: Int) throws -> String? { try row.optionalText(column + offset) }
}

/// Summary rows applied to PostgreSQL's rollup tables.
enum PostgresRollups {
    /// Adds deltas onto the rollup rows in one statement (27 parallel arrays), then removes
    /// rows an update emptied (a zero row would still show up as a group in reports).
    static func upsert(_ rows: [RollupKey: UsageAmounts], table: String, period: String, mapping: [Int64: Int64],
                       connection: PostgresConnection, logger: Logger) async throws {
        let live = rows.filter { !$0.value.isZero }
        guard !live.isEmpty else { return }
        var columns = Array(repeating: [Int64](), count: 1 + DimensionIDs.rollupCount + RollupColumns.amounts.count)
        for index in columns.indices { columns[index].reserveCapacity(live.count) }
        // In key order: the upsert then walks the primary key's B-tree forwards.
        for (key, amounts) in live.sorted(by: { $0.key < $1.key }) {
            let ids = key.ids.remapped(mapping)
            columns[0].append(key.period)
            for index in 0..<DimensionIDs.rollupCount { columns[index + 1].append(ids[index]) }
            for (offset, value) in RollupColumns.values(amounts).enumerated() {
                columns[1 + DimensionIDs.rollupCount + offset].append(value)
            }
        }
        var text = SQLText(.postgres, """
            INSERT INTO \(table) (\(period), \(RollupColumns.keys), \(RollupColumns.amounts.joined(separator: ", ")))
            SELECT * FROM unnest(
            """)
        for (index, column) in columns.enumerated() {
            if index > 0 { text.append(", ") }
            text.bind(.ints(column))
            text.append("::bigint[]")
        }
        text.append("""
            ) ON CONFLICT (\(period), \(RollupColumns.keys)) DO UPDATE SET \
            \(RollupColumns.amounts.map { "\($0) = \(table).\($0) + excluded.\($0)" }.joined(separator: ", "))
            """)
        try await connection.query(text.postgresQuery, logger: logger)
        if RollupBuilder.mayHaveEmptied(live.values) {
            let periods = Array(Set(live.keys.map(\.period))).sorted()
            var delete = SQLText(.postgres, "DELETE FROM \(table) WHERE \(period) = ANY(")
            delete.bind(.ints(periods))
            delete.append(") AND \(RollupColumns.amounts.map { "\($0) = 0" }.joined(separator: " AND "))")
            try await connection.query(delete.postgresQuery, logger: logger)
        }
    }

    /// Summaries changed: caches of answers (the server's) must not serve older ones.
    static func bumpGeneration(_ connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("""
            INSERT INTO meta (key, value) VALUES ('generation', 1) ON CONFLICT (key) DO UPDATE SET value = meta.value + 1
            """, logger: logger)
    }
}
