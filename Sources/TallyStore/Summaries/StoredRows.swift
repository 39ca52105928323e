import TallyCore

/// One result row of either backend, read by column index.
protocol StoredRow {
    func int(_ column: Int) throws -> Int64
    func optionalInt(_ column: Int) throws -> Int64?
    func optionalText(_ column: Int) throws -> String?
}

extension StoredRow {
    func text(_ column: Int) throws -> String { try optionalText(column) ?? "" }
}

/// The queries both backends run over `job` and the rollups, and how their rows decode.
enum StoredQueries {
    /// The columns `facts(_:states:)` reads, in its order.
    static let factsColumns = """
        site, cluster, account, grp, usr, partition, qos, state, gpu_model,
        start, wall, end_time, submit, cores, gpus, mem_alloc, cpu, eligible, milli_cores, disk
        """
    static let factsColumnCount = 20

    /// A row selected with `factsColumns` first, as usage facts and recorded ids.
    @inline(__always)
    static func facts<Row: StoredRow>(_ row: Row, states: StateCache) throws -> (UsageFacts, DimensionIDs) {
        var ids = DimensionIDs()
        for index in 0..<DimensionIDs.recordedCount { ids[index] = try row.int(index) }
        let facts = UsageFacts(start: try row.optionalInt(9), wallSeconds: try row.int(10), end: try row.optionalInt(11),
                               submit: try row.optionalInt(12), state: states.state(ids.state),
                               cores: try row.int(13), gpus: try row.int(14),
                               memoryMiB: (try row.optionalInt(15) ?? 0) / 1_048_576, cpuSeconds: try row.optionalInt(16),
                               eligible: try row.optionalInt(17), milliCores: try row.optionalInt(18),
                               diskMiB: (try row.optionalInt(19) ?? 0) / 1_048_576)
        return (facts, ids)
    }

    /// ` AND t0 …`: rows whose touched span `[t0, t1)` meets `window`. `t0` is indexed; `maxSpan`
    /// (the longest span stored) turns the open-ended `t1 > start` test into a range scan on `t0`.
    static func appendWindow(_ window: Range<Int64>, maxSpan: Int64, to text: inout SQLText) {
        text.append(" AND job.t0 < "); text.bind(window.upperBound)
        text.append(" AND job.t0 >= "); text.bind(window.lowerBound - maxSpan)
        text.append(" AND job.t1 > "); text.bind(window.lowerBound)
    }

    /// Usage facts, touched span and (with `hosts`) node list of the records touching `window`.
    /// Only recorded names configuration cannot rename are filtered here; the rest after
    /// normalisation. `tableScan` asks SQLite to read in storage order instead of by `t0`.
    static func facts(touching window: Range<Int64>, filters: [ReportDimension: Set<String>], maxSpan: Int64,
                      tableScan: Bool, hosts: Bool, dimensions: DimensionDictionary, dialect: SQLDialect) -> SQLText {
        var text = SQLText(dialect, """
            SELECT \(factsColumns), t0, t1\(hosts ? ", node_list" : "")
            FROM job\(tableScan && dialect == .sqlite ? " NOT INDEXED" : "") WHERE TRUE
            """)
        appendWindow(window, maxSpan: maxSpan, to: &text)
        DimensionFilter(filters.filter { $0.key.filtersRawRecords }, dimensions: dimensions).append(to: &text, table: "job")
        return text
    }

    /// What policy passes read of the records matching `query` (as `facts`, plus job id and
    /// billing), in `t0` order: a few columns instead of whole records.
    static func runs(_ query: JobQuery, maxSpan: Int64, dimensions: DimensionDictionary, dialect: SQLDialect) -> SQLText {
        var text = SQLText(dialect, "SELECT \(factsColumns), job.job_id, job.billing FROM job WHERE TRUE")
        if let window = query.window { appendWindow(window, maxSpan: maxSpan, to: &text) }
        DimensionFilter(query.filters.filter { ReportDimension.recorded.contains($0.key) }, dimensions: dimensions)
            .append(to: &text, table: "job")
        text.append(" ORDER BY job.t0, job.id")
        return text
    }

    /// A row of `runs(_:…)`.
    static func run<Row: StoredRow>(_ row: Row, states: StateCache, dimensions: DimensionDictionary) throws -> RunFacts {
        let (facts, ids) = try Self.facts(row, states: states)
        func name(_ id: Int64) -> String? {
            let value = dimensions.value(id)
            return value.isEmpty ? nil : value
        }
        return RunFacts(jobID: try row.text(factsColumnCount), account: name(ids[DimensionColumn.index(.account)]),
                        user: name(ids[DimensionColumn.index(.user)]), facts: facts,
                        billing: try row.optionalInt(factsColumnCount + 1))
    }

    /// Whole records matching `query`, with their row ids: in `t0` order, or id order when paging by id.
    static func records(_ query: JobQuery, maxSpan: Int64, dimensions: DimensionDictionary,
                        dialect: SQLDialect) -> SQLText {
        var text = SQLText(dialect, """
            SELECT job.site, job.cluster, job.account, job.grp, job.usr, job.partition, job.qos, job.state,
                   job.gpu_model, job.format, job.job_id, job.local_job_id, job.natural_key, job.name, job.raw_state,
                   job.submit, job.eligible, job.start, job.end_time, job.wall, job.cores, job.gpus, job.nodes,
                   job.node_list, job.mem_alloc, job.mem_req, job.mem_used, job.cpu, job.energy, job.billing,
                   job.exit_code, job.exit_signal, source.path, job.line, job.id, job.milli_cores, job.disk
            FROM job JOIN source ON source.id = job.source_id WHERE TRUE
            """)
        if let window = query.window { appendWindow(window, maxSpan: maxSpan, to: &text) }
        if let jobID = query.jobID {
            text.append(" AND (job.job_id = "); text.bind(jobID)
            text.append(" OR job.local_job_id = "); text.bind(jobID); text.append(")")
        }
        // Raw records have only the recorded names (derived keys are for reports).
        DimensionFilter(query.filters.filter { ReportDimension.recorded.contains($0.key) }, dimensions: dimensions)
            .append(to: &text, table: "job")
        if let afterID = query.afterID {
            // Keyset pages: stable under concurrent inserts, every record exactly once.
            text.append(" AND job.id > "); text.bind(afterID); text.append(" ORDER BY job.id")
        } else {
            text.append(" ORDER BY job.t0, job.id")
        }
        if let limit = query.limit {
            text.append(" LIMIT "); text.bind(Int64(limit))
        }
        return text
    }

    /// A row of `records(_:…)` as a record and its row id.
    static func record<Row: StoredRow>(_ row: Row, dimensions: DimensionDictionary) throws -> (UsageRecord, Int64) {
        func dim(_ index: Int) throws -> String? {
            let value = dimensions.value(try row.int(index))
            return value.isEmpty ? nil : value
        }
        func small(_ index: Int) throws -> Int? { try row.optionalInt(index).map { Int($0) } }
        let state = JobState(rawValue: try dim(7) ?? "") ?? .unknown
        let record = try UsageRecord(
            site: dim(0) ?? "", cluster: dim(1) ?? "",
            source: SourceFormat(code: Int(try row.int(9))) ?? .slurm,
            jobID: row.text(10), localJobID: row.text(11), naturalKey: row.text(12), name: row.optionalText(13),
            user: dim(4), group: dim(3), account: dim(2), partition: dim(5), qos: dim(6),
            nodeCount: Int(row.int(22)), nodeList: row.optionalText(23),
            submit: row.optionalInt(15), eligible: row.optionalInt(16), start: row.optionalInt(17),
            end: row.optionalInt(18), wallSeconds: row.int(19),
            cores: Int(row.int(20)), gpus: Int(row.int(21)), gpuModel: dim(8),
            memoryAllocated: row.optionalInt(24), memoryRequested: row.optionalInt(25),
            memoryUsedPeak: row.optionalInt(26),
            cpuSeconds: row.optionalInt(27), energyJoules: row.optionalInt(28), billing: row.optionalInt(29),
            milliCores: row.optionalInt(35), diskAllocated: row.optionalInt(36), state: state, rawState: row.text(14), exitCode: small(30), exitSignal: small(31),
            origin: SourcePosition(file: row.text(32), line: Int(row.int(33))))
        return (record, try row.int(34))
    }

    /// Rollup rows of `table` for units `[first, end)` passing `filter`.
    static func rollups(table: String, column: String, first: Int64, end: Int64, filter: DimensionFilter,
                        dialect: SQLDialect) -> SQLText {
        var text = SQLText(dialect, """
            SELECT \(column), \(RollupColumns.keys), \(RollupColumns.amounts.joined(separator: ", "))
            FROM \(table) r WHERE \(column) >= 
            """)
        text.bind(first)
        text.append(" AND \(column) < ")
        text.bind(end)
        filter.append(to: &text, table: "r")
        return text
    }
}

/// Filter clauses for `--where` on recorded dimension ids.
struct DimensionFilter {
    private var clauses: [(column: String, index: Int, ids: [Int64])] = []
    private var impossible = false

    init(_ filters: [ReportDimension: Set<String>], dimensions: DimensionDictionary) {
        for (dimension, values) in filters.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            let ids = values.compactMap { dimensions.existingID(dimension, Self.normalise($0, for: dimension)) }
            if ids.isEmpty { impossible = true }
            clauses.append((DimensionColumn.column(dimension), DimensionColumn.index(dimension), ids.sorted()))
        }
    }

    func append(to text: inout SQLText, table: String) {
        if impossible {
            text.append(" AND FALSE")
            return
        }
        for clause in clauses { text.andIn("\(table).\(clause.column)", clause.ids) }
    }

    /// The same test in memory, on a rollup row's ids.
    func matches(_ ids: DimensionIDs) -> Bool {
        !impossible && clauses.allSatisfy { $0.ids.contains(ids[$0.index]) }
    }

    static func normalise(_ value: String, for dimension: ReportDimension) -> String {
        dimension == .state ? JobState(slurmName: value).rawValue : value
    }
}

/// Job states by dimension id, looked up once each.
final class StateCache {
    private let dictionary: DimensionDictionary
    /// By id for stored ids (asked once per job of every scan: an index, not a hash).
    private var byID: [JobState?] = []
    private var others: [Int64: JobState] = [:]

    init(_ dictionary: DimensionDictionary) { self.dictionary = dictionary }

    @inline(__always)
    func state(_ id: Int64) -> JobState {
        if id >= 0, id < byID.count, let known = byID[Int(id)] { return known }
        return lookUp(id)
    }

    private func lookUp(_ id: Int64) -> JobState {
        if let known = others[id] { return known }
        let state = JobState(rawValue: dictionary.value(id)) ?? .unknown
        if id >= 0, id < 1 << 22 {
            if id >= byID.count { byID.append(contentsOf: repeatElement(nil, count: Int(id) + 1 - byID.count)) }
            byID[Int(id)] = state
        } else {
            others[id] = state
        }
        return state
    }
}

/// What the store knows about the extent of its records.
struct StoreMeta {
    var minT0: Int64?
    var maxT1: Int64?
    var maxSpan: Int64

    init(values: [String: Int64]) {
        minT0 = values["min_t0"]
        maxT1 = values["max_t1"]
        maxSpan = values["max_span"] ?? 0
    }
}
