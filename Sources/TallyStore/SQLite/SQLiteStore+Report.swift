import Foundation
import GRDB
import GRDBSQLite
import TallyCore

extension SQLiteStore {
    public func report(_ query: ReportQuery) async throws -> Report {
        try await refreshDimensions()
        return try await factReport(ReportStart(query: query, dictionary: dimensions, plans: plans,
                                                configuration: configuration))
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
        try forEachFact(db, blocks: blocks, touching: computation.window) { slot in
            try computation.addFact(slot, states: states)
        }
    }

    /// Every job slot of the blocks in `blocks` whose block may touch `window`.
    static func forEachFact(_ db: Database, blocks: Range<Int64> = 0..<Int64.max,
                            touching window: Range<Int64> = Int64.min..<Int64.max,
                            _ body: (UnsafeRawPointer) throws -> Void) throws {
        let statement = try db.makeStatement(sql: """
            SELECT block FROM fact_block WHERE block >= ? AND block < ? AND t_max > ? AND t_min < ?
            """)
        try statement.setArguments([blocks.lowerBound, blocks.upperBound, window.lowerBound, window.upperBound])
        // Each block is read through one incremental-blob handle into one buffer: a column
        // read would have SQLite allocate (and the allocator map and unmap) 480 KiB per block.
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: FactBlock.byteCount, alignment: 16)
        defer { buffer.deallocate() }
        var handle: OpaquePointer?
        defer { if let handle { sqlite3_blob_close(handle) } }
        try db.forEachRow(statement) { row in
            let block = sqlite3_column_int64(row, 0)
            let code = if let handle {
                sqlite3_blob_reopen(handle, block)
            } else {
                sqlite3_blob_open(db.sqliteConnection, "main", "fact_block", "data", block, 0, &handle)
            }
            guard code == SQLITE_OK, let handle else {
                throw StoreError.corrupt("cannot read fact block \(block): \(String(cString: sqlite3_errmsg(db.sqliteConnection)))")
            }
            guard sqlite3_blob_bytes(handle) == Int32(FactBlock.byteCount),
                  sqlite3_blob_read(handle, buffer, Int32(FactBlock.byteCount), 0) == SQLITE_OK else {
                throw StoreError.corrupt("fact block \(block) has the wrong size")
            }
            for slot in 0..<FactBlock.slots {
                let pointer = UnsafeRawPointer(buffer + slot * FactSlot.byteCount)
                if FactSlot.isEmpty(pointer) { continue }
                try body(pointer)
            }
        }
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
        if let half = other.computation { one.computation.absorbFacts(half) }
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
        }
        let opened = try DatabaseQueue(path: path, configuration: configuration)
        reader = opened
        return opened
    }

    /// What a report rests on besides its records.
    static func basis(_ db: Database) throws -> (sources: Int64, rejectedLines: Int64) {
        (try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM source") ?? 0,
         try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM rejected_line") ?? 0)
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

    func factComputation(_ db: Database) throws -> ReportComputation {
        ReportComputation(query: query, meta: try StoreMeta(db), dimensions: dictionary, plans: plans,
                          configuration: configuration, factScan: true)
    }
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
