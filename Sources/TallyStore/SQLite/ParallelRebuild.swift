import Foundation
import GRDB
import TallyCore

/// Rebuilds the summaries with the job table read by two threads, each scanning a slice of it
/// on its own read-only connection, while the writer's thread clears the old rows and writes
/// what the scans send: the per-job arithmetic, most of a rebuild, runs on both cores.
///
/// The scans see what the writer sees: the writer takes the write lock before they start (so
/// nothing can commit in between), and rebuilding changes no job row. Names the configuration
/// derives that are not stored yet (a new GPU class, organisation or alias target) get
/// provisional ids in each scan's copy of the dictionary; the writer stores them when it first
/// writes a key that has one. Slices overlap in the days they touch (a long job of the first
/// slice reaches into the second's days): rows are added onto what is there, so order does not
/// matter.
struct ParallelRebuild {
    let path: String
    let ids: ClosedRange<Int64>
    /// Two: this is for the machines Tally runs on most (a few cores); each slice keeps its own
    /// pending days, so memory grows with the count.
    var slices = 2
    /// For tests: fail on purpose, to check the transaction rolls back and no thread is left waiting.
    var fault: Fault?

    struct Fault: Sendable, Error {
        /// Parcels the second scan sends before it fails.
        var scanFailsAfter: Int?
        /// Parcels the writer writes before it fails.
        var writerFailsAfter: Int?
    }

    /// One scan's finished rows, with the interned keys it added since its previous parcel.
    struct Parcel {
        var slice: Int
        var days: [RollupBuilder.Row]
        var months: [RollupBuilder.Row]
        var newKeys: [DimensionIDs]
        var provisional: [(id: Int64, kind: Int64, value: String)]
        var records: Int64
    }

    /// Runs inside the writer's transaction, which must already hold the write lock.
    func run(_ db: Database, dictionary: inout DimensionDictionary, combos: inout ComboTable,
             plans: PlanCache) throws -> Int64 {
        let readers = try (0..<slices).map { _ in try Self.openReader(path) }
        // A parcel is about a day of one slice (~1 MB at 5 M jobs a year): two each is enough
        // for the writer, which is the slowest part, never to wait long.
        let handoff = Handoff<Parcel>(capacity: 2 * slices, producers: slices)
        let width = (ids.upperBound - ids.lowerBound) / Int64(slices) + 1
        for slice in 0..<slices {
            let lower = ids.lowerBound + Int64(slice) * width
            let scan = SliceScan(slice: slice, reader: readers[slice],
                                 ids: lower...min(ids.upperBound, lower + width - 1),
                                 dictionary: dictionary, plans: plans, handoff: handoff,
                                 failsAfter: slice == slices - 1 ? fault?.scanFailsAfter : nil)
            Thread { scan.run() }.start()
        }
        // On any exit, stop the scans and wait for them: they use this transaction's snapshot.
        defer {
            handoff.cancel()
            handoff.waitForProducers()
        }
        // DELETE without WHERE clears each table's pages at once (as DROP does); DROP TABLE also
        // kept a statement journal of the whole table in memory (temp_store = MEMORY).
        try db.execute(sql: "DELETE FROM rollup_day; DELETE FROM rollup_month")

        var keys = [[DimensionIDs]](repeating: [], count: slices)
        var comboIDs = [[Int64]](repeating: [], count: slices)
        var provisional = [[Int64: (kind: Int64, value: String)]](repeating: [:], count: slices)
        var records: Int64 = 0
        var written = 0
        while let parcel = try handoff.take() {
            if let fault, written == fault.writerFailsAfter { throw fault }
            written += 1
            let slice = parcel.slice
            keys[slice] += parcel.newKeys
            comboIDs[slice] += repeatElement(0, count: parcel.newKeys.count)
            for name in parcel.provisional { provisional[slice][name.id] = (name.kind, name.value) }
            records += parcel.records
            func comboID(_ key: Int32) throws -> Int64 {
                let known = comboIDs[slice][Int(key)]
                if known != 0 { return known }
                var stored = keys[slice][Int(key)]
                for index in 0..<DimensionIDs.rollupCount where stored[index] < 0 {
                    guard let name = provisional[slice][stored[index]] else {
                        throw StoreError.corrupt("rebuild: provisional dimension id \(stored[index]) without a name")
                    }
                    stored[index] = try dictionary.storedID(kind: name.kind, value: name.value, db)
                }
                let id = try combos.id(for: stored, db)
                comboIDs[slice][Int(key)] = id
                return id
            }
            try RollupBuilder.write(parcel.days, table: "rollup_day", period: "day", db, combo: comboID)
            try RollupBuilder.write(parcel.months, table: "rollup_month", period: "month", db, combo: comboID)
        }
        return records
    }

    private static func openReader(_ path: String) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(30)
        // A sequential scan gains nothing from a large page cache.
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA cache_size = -2048") }
        return try DatabaseQueue(path: path, configuration: configuration)
    }
}

/// One slice of the job table, read and summed on its own thread.
private struct SliceScan: @unchecked Sendable {
    let slice: Int
    let reader: DatabaseQueue
    let ids: ClosedRange<Int64>
    let dictionary: DimensionDictionary
    let plans: PlanCache
    let handoff: Handoff<ParallelRebuild.Parcel>
    let failsAfter: Int?

    func run() {
        do {
            try reader.read { db in try scan(db) }
            handoff.finish(nil)
        } catch {
            handoff.finish(error)
        }
    }

    private func scan(_ db: Database) throws {
        var dictionary = dictionary
        var plans = plans
        var builder = RollupBuilder()
        let statement = try db.makeStatement(sql: RollupBuilder.rebuildSelect(
            plans, where: "WHERE id >= ? AND id <= ? AND t0 IS NOT NULL"))
        try statement.setArguments([ids.lowerBound, ids.upperBound])
        var sentKeys = 0, sent = 0
        var sentRecords: Int64 = 0
        func send(_ rows: (days: [RollupBuilder.Row], months: [RollupBuilder.Row]), keys: [DimensionIDs],
                  _ dictionary: DimensionDictionary, read: Int64) throws {
            if sent == failsAfter { throw ParallelRebuild.Fault(scanFailsAfter: sent) }
            sent += 1
            let newKeys = Array(keys[sentKeys...])
            sentKeys = keys.count
            let derivesNames = newKeys.contains { key in (0..<DimensionIDs.rollupCount).contains { key[$0] < 0 } }
            try handoff.put(ParallelRebuild.Parcel(
                slice: slice, days: rows.days, months: rows.months, newKeys: newKeys,
                provisional: derivesNames ? dictionary.provisional : [], records: read - sentRecords))
            sentRecords = read
        }
        let read = try RollupBuilder.scan(statement, db, into: &builder, plans: &plans, dictionary: &dictionary,
                                          source: .provisional) { builder, dictionary, before, read in
            let finished = builder.drainCompletedRows(before: before)
            if !finished.days.isEmpty || !finished.months.isEmpty {
                try send(finished, keys: builder.keys, dictionary, read: read)
            }
        }
        try send(builder.drainAllRows(), keys: builder.keys, dictionary, read: read)
    }
}

/// Hands parcels from producer threads to one consumer, blocking both sides when there is
/// nothing to take or no room: the consumer is a database transaction, which GRDB runs
/// synchronously on its own thread, so it cannot await.
final class Handoff<Parcel>: @unchecked Sendable {
    private let condition = NSCondition()
    private var parcels: [Parcel] = []
    private var producers: Int
    private var failure: (any Error)?
    private var cancelled = false
    private let capacity: Int

    init(capacity: Int, producers: Int) {
        self.capacity = capacity
        self.producers = producers
    }

    /// Waits for room; throws once the consumer has given up.
    func put(_ parcel: Parcel) throws {
        condition.lock()
        defer { condition.unlock() }
        while parcels.count >= capacity, !cancelled { condition.wait() }
        if cancelled { throw CancellationError() }
        parcels.append(parcel)
        condition.broadcast()
    }

    /// The next parcel; nil when every producer has finished and all was taken; throws the
    /// first producer's error.
    func take() throws -> Parcel? {
        condition.lock()
        defer { condition.unlock() }
        while parcels.isEmpty, producers > 0, failure == nil { condition.wait() }
        if let failure { throw failure }
        guard !parcels.isEmpty else { return nil }
        let parcel = parcels.removeFirst()
        condition.broadcast()
        return parcel
    }

    /// A producer is done, or failed.
    func finish(_ error: (any Error)?) {
        condition.lock()
        producers -= 1
        if let error, failure == nil, !cancelled { failure = error }
        condition.broadcast()
        condition.unlock()
    }

    /// The consumer gives up: producers stop at their next `put`.
    func cancel() {
        condition.lock()
        cancelled = true
        parcels.removeAll()
        condition.broadcast()
        condition.unlock()
    }

    func waitForProducers() {
        condition.lock()
        while producers > 0 { condition.wait() }
        condition.unlock()
    }
}
