import Foundation
import GRDB
import GRDBSQLite
import TallyCore

extension SQLiteStore {
    public func report(_ query: ReportQuery) async throws -> Report {
        try await refreshDimensions()
        let start = ReportStart(query: query, dictionary: dimensions, plans: plans, configuration: configuration,
                                combos: combos)
        // Fact scans resolve each job's plan when rules depend on names; the rollups, keyed by
        // combination, resolve each combination once: faster while configured (see BENCHMARKS).
        let useFacts = reportSource == .facts || (reportSource == .automatic && configuration.isNameIndependent)
        if useFacts, !plans.needsHosts {
            return try await factReport(start)
        }
        // A long report is scanned on two connections at once, one half each (the rollup scan is
        // most of its time); the halves agree if no write came between them, else it starts again.
        if start.worthSplitting(knownMeta), let reader = try secondReader() {
            for _ in 0..<2 {
                if let report = try await splitReport(start, reader: reader) {
                    splitReports.answered += 1
                    return report
                }
                splitReports.restarted += 1
            }
        }
        return try await queue.read { db in
            var computation = try start.computation(db)
            try Self.scan(computation.rollupReads, into: &computation, db)
            try Self.addRawSlivers(&computation, db)
            let basis = try Self.basis(db)
            return computation.finish(sources: basis.sources, rejectedLines: basis.rejectedLines)
        }
    }

    /// A report from the fact blocks: the blocks' first half on this connection, the second on
    /// the reader at the same time; started again if a write came between the two.
    private func factReport(_ start: ReportStart) async throws -> Report {
        if let reader = try secondReader() {
            for _ in 0..<2 {
                // Read again on each try: a write that made the first try start again may have
                // added blocks. The back half runs to the end, whatever it holds by then.
                let end = try await queue.read { db in try Int64.fetchOne(db, sql: "SELECT max(block) FROM fact_block") ?? -1 } + 1
                let middle = end / 2
                guard middle > 0 else { break }
                @Sendable func half(_ blocks: Range<Int64>) -> @Sendable (Database) throws -> ReportComputation {
                    { db in
                        var computation = try start.factComputation(db)
                        try Self.scanFacts(blocks, into: &computation, db)
                        computation.closeFacts()
                        return computation
                    }
                }
                if let report = try await readHalves(reader: reader, front: half(0..<middle), back: half(middle..<Int64.max)) {
                    factReports.answered += 1
                    return report
                }
                factReports.restarted += 1
            }
        }
        return try await queue.read { db in
            var computation = try start.factComputation(db)
            try Self.scanFacts(0..<Int64.max, into: &computation, db)
            computation.closeFacts()
            let basis = try Self.basis(db)
            return computation.finish(sources: basis.sources, rejectedLines: basis.rejectedLines)
        }
    }

    /// Adds every job of the blocks in `blocks` that touches the report's window.
    static func scanFacts(_ blocks: Range<Int64>, into computation: inout ReportComputation, _ db: Database) throws {
        let states = StateCache(computation.dimensions)
        let statement = try db.makeStatement(sql: """
            SELECT data FROM fact_block WHERE block >= ? AND block < ? AND t_max > ? AND t_min < ?
            """)
        try statement.setArguments([blocks.lowerBound, blocks.upperBound, computation.window.lowerBound,
                                    computation.window.upperBound])
        try db.forEachRow(statement) { handle in
            guard sqlite3_column_bytes(handle, 0) == Int32(FactBlock.byteCount), let data = sqlite3_column_blob(handle, 0) else {
                throw StoreError.corrupt("a fact block has the wrong size")
            }
            for slot in 0..<FactBlock.slots {
                let pointer = data + slot * FactSlot.byteCount
                if FactSlot.isEmpty(pointer) { continue }
                try computation.addFact(pointer, states: states)
            }
        }
    }

    /// Scans the second half of the rollups on `reader` while this connection scans the first
    /// and the raw slivers; nil when the data changed between the two transactions.
    private func splitReport(_ start: ReportStart, reader: DatabaseQueue) async throws -> Report? {
        try await readHalves(reader: reader, front: { db in
            var computation = try start.computation(db)
            let split = computation.splitReads()
            try Self.scan(split?.front ?? computation.rollupReads, into: &computation, db)
            computation.closeRollups()
            try Self.addRawSlivers(&computation, db)
            return computation
        }, back: { db in
            var computation = try start.computation(db)
            guard let back = computation.splitReads()?.back else { return nil }
            try Self.scan(back, into: &computation, db)
            computation.closeRollups()
            return computation
        })
    }

    /// A report read in two halves at once, `front` on this connection and `back` on `reader`
    /// (one after the other, with the test hook between, when `betweenHalves` is set); nil when
    /// a write came between the two transactions. A nil back half adds nothing.
    private func readHalves(reader: DatabaseQueue, front: @escaping @Sendable (Database) throws -> ReportComputation,
                            back: @escaping @Sendable (Database) throws -> ReportComputation?) async throws -> Report? {
        @Sendable func second() async throws -> (generation: Int64, computation: ReportComputation?) {
            try await reader.read { db in (try Schema.generation(db), try back(db)) }
        }
        func first() async throws -> (generation: Int64, computation: ReportComputation,
                                      basis: (sources: Int64, rejectedLines: Int64)) {
            try await queue.read { db in (try Schema.generation(db), try front(db), try Self.basis(db)) }
        }
        var one: (generation: Int64, computation: ReportComputation, basis: (sources: Int64, rejectedLines: Int64))
        let other: (generation: Int64, computation: ReportComputation?)
        if let betweenHalves {
            one = try await first()
            try await betweenHalves()
            other = try await second()
        } else {
            async let two = second()
            one = try await first()
            other = try await two
        }
        guard one.generation == other.generation else { return nil }
        if let half = other.computation { one.computation.absorbRollups(half) }
        return one.computation.finish(sources: one.basis.sources, rejectedLines: one.basis.rejectedLines)
    }

    /// A connection beside the writer's for the second half of long reports (nil for a database
    /// in memory, which only one connection can see).
    private func secondReader() throws -> DatabaseQueue? {
        if let reader { return reader }
        guard !path.isEmpty, path != ":memory:" else { return nil }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(30)
        let mapped = mappedBytes
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA cache_size = -16384; PRAGMA mmap_size = \(mapped)")
            try RollupBlob.registerFunctions(db)
        }
        let opened = try DatabaseQueue(path: path, configuration: configuration)
        reader = opened
        return opened
    }

    static func scan(_ reads: [ReportComputation.RollupRead], into computation: inout ReportComputation,
                     _ db: Database) throws {
        for read in reads {
            // Filters are applied per combination in memory: the key starts with the period,
            // so SQL could not use them to skip rows anyway.
            let statement = try db.makeStatement(sql: "SELECT \(read.column), combo, amounts FROM \(read.table) "
                                                 + "WHERE \(read.column) >= ? AND \(read.column) < ?")
            try statement.setArguments([read.first, read.end])
            let isMonth = read.isMonth
            try db.forEachRow(statement) { handle in
                computation.addRollup(unit: sqlite3_column_int64(handle, 0), isMonth: isMonth,
                                      combo: Int(sqlite3_column_int64(handle, 1)),
                                      amounts: RollupBlob.decode(handle, column: 2))
            }
        }
    }

    /// What a report rests on besides its records.
    static func basis(_ db: Database) throws -> (sources: Int64, rejectedLines: Int64) {
        (try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM source") ?? 0,
         try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM rejected_line") ?? 0)
    }

    /// Raw slivers where periods cut a UTC day.
    static func addRawSlivers(_ computation: inout ReportComputation, _ db: Database) throws {
        let dictionary = computation.dimensions
        let states = StateCache(dictionary)
        let hosts = computation.needsHosts
        for sweep in computation.sweeps {
            let text = StoredQueries.facts(touching: sweep.window, filters: computation.query.filters,
                                           maxSpan: computation.maxSpan, tableScan: sweep.tableScan, hosts: hosts,
                                           dimensions: dictionary, dialect: .sqlite)
            try db.forEachRow(text) { row in
                let (facts, ids) = try StoredQueries.facts(row, states: states)
                let host = hosts ? HostList.first(row.optionalText(20) ?? "") : ""
                try computation.addRaw(facts, recorded: ids, touched: row.int(18)..<row.int(19), host: host,
                                       sweep: sweep)
            }
        }
    }

    public func jobs(_ query: JobQuery) async throws -> [UsageRecord] {
        try await jobPage(query).map(\.record)
    }

    /// Streams matching records without holding them all (for exports of millions of jobs).
    public func forEachJob(_ query: JobQuery, _ body: @escaping @Sendable (UsageRecord) throws -> Void) async throws {
        try await refreshDimensions()
        let dictionary = dimensions
        try await queue.read { db in
            try Self.forEachRecord(query, dictionary: dictionary, db) { record, _ in try body(record) }
        }
    }

    public func forEachRun(_ query: JobQuery, _ body: @escaping @Sendable (RunFacts) throws -> Void) async throws {
        try await refreshDimensions()
        let dictionary = dimensions
        try await queue.read { db in
            let maxSpan = query.window == nil ? 0 : try StoreMeta(db).maxSpan
            let states = StateCache(dictionary)
            try db.forEachRow(StoredQueries.runs(query, maxSpan: maxSpan, dimensions: dictionary, dialect: .sqlite)) { row in
                try body(try StoredQueries.run(row, states: states, dimensions: dictionary))
            }
        }
    }

    /// One page of records with their row ids (the cursor of the next page is the last id).
    public func jobPage(_ query: JobQuery) async throws -> [(record: UsageRecord, id: Int64)] {
        try await refreshDimensions()
        let dictionary = dimensions
        return try await queue.read { db in
            var page: [(record: UsageRecord, id: Int64)] = []
            try Self.forEachRecord(query, dictionary: dictionary, db) { page.append(($0, $1)) }
            return page
        }
    }

    static func forEachRecord(_ query: JobQuery, dictionary: DimensionDictionary, _ db: Database,
                              _ body: (UsageRecord, Int64) throws -> Void) throws {
        let maxSpan = query.window == nil ? 0 : try StoreMeta(db).maxSpan
        let text = StoredQueries.records(query, maxSpan: maxSpan, dimensions: dictionary, dialect: .sqlite)
        try db.forEachRow(text) { row in
            let (record, id) = try StoredQueries.record(row, dimensions: dictionary)
            try body(record, id)
        }
    }
}

/// What every transaction of one report starts from: the query and the store's dictionaries as
/// the actor held them when it began.
struct ReportStart: Sendable {
    let query: ReportQuery
    let dictionary: DimensionDictionary
    let plans: PlanCache
    let configuration: TallyConfiguration
    let combos: ComboTable

    func computation(_ db: Database) throws -> ReportComputation {
        var computation = ReportComputation(query: query, meta: try StoreMeta(db), dimensions: dictionary, plans: plans,
                                            configuration: configuration)
        var combos = combos
        try combos.catchUp(db)
        computation.useCombinations(combos.keys)
        return computation
    }

    /// A computation answered from fact blocks alone (no rollup combinations to load).
    func factComputation(_ db: Database) throws -> ReportComputation {
        ReportComputation(query: query, meta: try StoreMeta(db), dimensions: dictionary, plans: plans,
                          configuration: configuration, factScan: true)
    }

    /// Whether, by what the store knew of its time span, the rollup reads are long enough to split.
    func worthSplitting(_ meta: StoreMeta) -> Bool {
        ReportComputation(query: query, meta: meta, dimensions: dictionary, plans: plans, configuration: configuration)
            .splitReads() != nil
    }
}

/// Where SQLite reports read usage from.
public enum ReportSource: Sendable {
    /// Fact blocks while no rule depends on names, else the rollups (the default).
    case automatic
    /// Fact blocks: every job's facts, packed (`FactSlot`).
    case facts
    /// Rollups by dimension combination, plus raw slivers where periods cut a UTC day.
    case rollups
}

extension StoreMeta {
    init(_ db: Database) throws {
        var values: [String: Int64] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT key, value FROM meta") {
            values[row[0]] = row[1]
        }
        self.init(values: values)
    }
}
