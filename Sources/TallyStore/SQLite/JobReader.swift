import GRDB
import GRDBSQLite
import TallyCore

/// Reads raw job rows back: as usage facts for exact report splits, or as whole records.
struct JobReader {
    let db: Database
    let dimensions: DimensionDictionary

    /// Rows whose touched span `[t0, t1)` meets `window`. `t0` is indexed; `maxSpan` (the longest
    /// span stored) turns the open-ended `t1 > start` test into a bounded range scan on `t0`.
    private func windowClause(_ window: Range<Int64>, maxSpan: Int64) -> (String, StatementArguments) {
        (" AND job.t0 < ? AND job.t0 >= ? AND job.t1 > ?",
         [window.upperBound, window.lowerBound - maxSpan, window.lowerBound])
    }

    /// Usage facts of the records touching `window`, with their dimension ids, touched span and
    /// first host (when `hosts`). Only recorded dimensions that configuration cannot rename are
    /// filtered here: the rest are filtered after normalisation. `tableScan` reads the table in
    /// storage order instead of through the `t0` index: cheaper when the window covers most data.
    func forEachFacts(touching window: Range<Int64>, filters: [ReportDimension: Set<String>], maxSpan: Int64,
                      tableScan: Bool = false, hosts: Bool = false,
                      _ body: (UsageFacts, DimensionIDs, Range<Int64>, String) throws -> Void) throws {
        let filter = DimensionFilter(filters.filter { $0.key.filtersRawRecords },
                                     dimensions: dimensions, table: "job")
        let (clause, windowArguments) = windowClause(window, maxSpan: maxSpan)
        var arguments = windowArguments
        arguments += filter.arguments
        let statement = try db.makeStatement(sql: """
            SELECT \(Self.factsColumns), t0, t1\(hosts ? ", node_list" : "")
            FROM job\(tableScan ? " NOT INDEXED" : "") WHERE 1\(clause)\(filter.sql)
            """)
        try statement.setArguments(arguments)
        let states = StateCache(dimensions)
        try db.forEachRow(statement) { handle in
            let (facts, ids) = Self.facts(handle, states: states)
            let host = hosts && sqlite3_column_type(handle, 20) != SQLITE_NULL
                ? HostList.first(String(cString: sqlite3_column_text(handle, 20))) : ""
            try body(facts, ids, sqlite3_column_int64(handle, 18)..<sqlite3_column_int64(handle, 19), host)
        }
    }

    /// The columns `facts(_:states:)` reads, in its order.
    static let factsColumns = """
        site, cluster, account, grp, usr, partition, qos, state, gpu_model,
        start, wall, end_time, submit, cores, gpus, mem_alloc, cpu, eligible
        """

    /// A row selected with `factsColumns` first, as usage facts and recorded ids.
    static func facts(_ handle: OpaquePointer, states: StateCache) -> (UsageFacts, DimensionIDs) {
        func optional(_ column: Int32) -> Int64? {
            sqlite3_column_type(handle, column) == SQLITE_NULL ? nil : sqlite3_column_int64(handle, column)
        }
        var ids = DimensionIDs()
        for index in 0..<DimensionIDs.recordedCount { ids[index] = sqlite3_column_int64(handle, Int32(index)) }
        let facts = UsageFacts(start: optional(9), wallSeconds: sqlite3_column_int64(handle, 10), end: optional(11),
                               submit: optional(12), state: states.state(ids.state),
                               cores: sqlite3_column_int64(handle, 13), gpus: sqlite3_column_int64(handle, 14),
                               memoryMiB: (optional(15) ?? 0) / 1_048_576, cpuSeconds: optional(16),
                               eligible: optional(17))
        return (facts, ids)
    }

    /// Records matching `query` with their row ids, in `t0` order (id order when the query pages by id).
    func forEach(_ query: JobQuery, _ body: (UsageRecord, Int64) throws -> Void) throws {
        // Raw records have only the recorded names (derived keys are for reports).
        let filter = DimensionFilter(query.filters.filter { ReportDimension.recorded.contains($0.key) },
                                     dimensions: dimensions, table: "job")
        var sql = """
            SELECT job.site, job.cluster, job.account, job.grp, job.usr, job.partition, job.qos, job.state,
                   job.gpu_model, job.format, job.job_id, job.local_job_id, job.natural_key, job.name, job.raw_state,
                   job.submit, job.eligible, job.start, job.end_time, job.wall, job.cores, job.gpus, job.nodes,
                   job.node_list, job.mem_alloc, job.mem_req, job.mem_used, job.cpu, job.energy, job.billing,
                   job.exit_code, job.exit_signal, source.path, job.line, job.id
            FROM job JOIN source ON source.id = job.source_id WHERE 1
            """
        var arguments: StatementArguments = []
        if let window = query.window {
            let meta = try StoreMeta(db)
            let (clause, windowArguments) = windowClause(window, maxSpan: meta.maxSpan)
            sql += clause
            arguments += windowArguments
        }
        if let jobID = query.jobID {
            sql += " AND (job.job_id = ? OR job.local_job_id = ?)"
            arguments += [jobID, jobID]
        }
        sql += filter.sql
        arguments += filter.arguments
        if let afterID = query.afterID {
            // Keyset pages: stable under concurrent inserts, every record exactly once.
            sql += " AND job.id > ? ORDER BY job.id"
            arguments += [afterID]
        } else {
            sql += " ORDER BY job.t0, job.id"
        }
        if let limit = query.limit {
            sql += " LIMIT ?"
            arguments += [limit]
        }
        let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
        while let row = try rows.next() {
            func dim(_ index: Int) -> String? {
                let value = dimensions.value(row[index])
                return value.isEmpty ? nil : value
            }
            let formatIndex: Int = row[9]
            let state = JobState(rawValue: dim(7) ?? "") ?? .unknown
            let exitCode: Int64? = row[30]
            let exitSignal: Int64? = row[31]
            let record = try UsageRecord(
                site: dim(0) ?? "", cluster: dim(1) ?? "",
                source: SourceFormat(code: formatIndex) ?? .slurm,
                jobID: row[10], localJobID: row[11], naturalKey: row[12], name: row[13],
                user: dim(4), group: dim(3), account: dim(2), partition: dim(5), qos: dim(6),
                nodeCount: row[22], nodeList: row[23],
                submit: row[15], eligible: row[16], start: row[17], end: row[18], wallSeconds: row[19],
                cores: row[20], gpus: row[21], gpuModel: dim(8),
                memoryAllocated: row[24], memoryRequested: row[25], memoryUsedPeak: row[26],
                cpuSeconds: row[27], energyJoules: row[28], billing: row[29],
                state: state, rawState: row[14], exitCode: exitCode.map(Int.init), exitSignal: exitSignal.map(Int.init),
                origin: SourcePosition(file: row[32], line: row[33]))
            try body(record, row[34])
        }
    }
}
