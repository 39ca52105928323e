import Foundation
import GRDB
import GRDBSQLite
import TallyCore

extension SQLiteStore {
    public func report(_ query: ReportQuery) async throws -> Report {
        try await refreshDimensions()
        let dictionary = dimensions
        let cache = plans
        let configuration = configuration
        let knownCombos = combos
        return try await queue.read { db in
            var computation = ReportComputation(query: query, meta: try StoreMeta(db), dimensions: dictionary,
                                                plans: cache, configuration: configuration)
            var combos = knownCombos
            try combos.catchUp(db)
            computation.useCombinations(combos.keys)
            for read in computation.rollupReads {
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
            let states = StateCache(dictionary)
            let hosts = computation.needsHosts
            for sweep in computation.sweeps {
                let text = StoredQueries.facts(touching: sweep.window, filters: query.filters, maxSpan: computation.maxSpan,
                                               tableScan: sweep.tableScan, hosts: hosts, dimensions: dictionary,
                                               dialect: .sqlite)
                try db.forEachRow(text) { row in
                    let (facts, ids) = try StoredQueries.facts(row, states: states)
                    let host = hosts ? HostList.first(row.optionalText(20) ?? "") : ""
                    try computation.addRaw(facts, recorded: ids, touched: row.int(18)..<row.int(19), host: host,
                                           sweep: sweep)
                }
            }
            return computation.finish(sources: try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM source") ?? 0,
                                      rejectedLines: try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM rejected_line") ?? 0)
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

extension StoreMeta {
    init(_ db: Database) throws {
        var values: [String: Int64] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT key, value FROM meta") {
            values[row[0]] = row[1]
        }
        self.init(values: values)
    }
}
