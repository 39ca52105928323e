import GRDB
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

    func forEachFacts(touching window: Range<Int64>, filters: [ReportDimension: Set<String>], maxSpan: Int64,
                      _ body: (UsageFacts, DimensionIDs) throws -> Void) throws {
        let filter = DimensionFilter(filters, dimensions: dimensions, table: "job")
        let (clause, windowArguments) = windowClause(window, maxSpan: maxSpan)
        var arguments = windowArguments
        arguments += filter.arguments
        let rows = try Row.fetchCursor(db, sql: """
            SELECT site, cluster, account, grp, usr, partition, qos, state, gpu_model,
                   start, wall, end_time, submit, cores, gpus, mem_alloc, cpu
            FROM job WHERE 1\(clause)\(filter.sql)
            """, arguments: arguments)
        while let row = try rows.next() {
            var ids = DimensionIDs()
            for index in 0..<DimensionIDs.count { ids[index] = row[index] }
            let state = JobState(rawValue: dimensions.value(ids.state)) ?? .unknown
            let memory: Int64? = row[15]
            let cpu: Int64? = row[16]
            let facts = UsageFacts(start: row[9], wallSeconds: row[10], end: row[11], submit: row[12], state: state,
                                   cores: row[13], gpus: row[14], memoryMiB: (memory ?? 0) / 1_048_576,
                                   cpuSeconds: cpu)
            try body(facts, ids)
        }
    }

    func forEach(_ query: JobQuery, _ body: (UsageRecord) throws -> Void) throws {
        let filter = DimensionFilter(query.filters, dimensions: dimensions, table: "job")
        var sql = """
            SELECT job.site, job.cluster, job.account, job.grp, job.usr, job.partition, job.qos, job.state,
                   job.gpu_model, job.format, job.job_id, job.local_job_id, job.natural_key, job.name, job.raw_state,
                   job.submit, job.eligible, job.start, job.end_time, job.wall, job.cores, job.gpus, job.nodes,
                   job.node_list, job.mem_alloc, job.mem_req, job.mem_used, job.cpu, job.energy, job.billing,
                   job.exit_code, job.exit_signal, source.path, job.line
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
        sql += " ORDER BY job.t0, job.id"
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
                source: SourceFormat.allCases.indices.contains(formatIndex) ? SourceFormat.allCases[formatIndex] : .slurm,
                jobID: row[10], localJobID: row[11], naturalKey: row[12], name: row[13],
                user: dim(4), group: dim(3), account: dim(2), partition: dim(5), qos: dim(6),
                nodeCount: row[22], nodeList: row[23],
                submit: row[15], eligible: row[16], start: row[17], end: row[18], wallSeconds: row[19],
                cores: row[20], gpus: row[21], gpuModel: dim(8),
                memoryAllocated: row[24], memoryRequested: row[25], memoryUsedPeak: row[26],
                cpuSeconds: row[27], energyJoules: row[28], billing: row[29],
                state: state, rawState: row[14], exitCode: exitCode.map(Int.init), exitSignal: exitSignal.map(Int.init),
                origin: SourcePosition(file: row[32], line: row[33]))
            try body(record)
        }
    }
}
