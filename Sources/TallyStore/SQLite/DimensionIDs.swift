import GRDB
import TallyCore

/// The dimension ids of one record or rollup row, in `DimensionColumn.all` order: the nine a
/// record stores, then the four reports derive (GPU class, organisation, job size, wall bucket).
struct DimensionIDs: Hashable, Sendable {
    var site: Int64 = 0, cluster: Int64 = 0, account: Int64 = 0, group: Int64 = 0, user: Int64 = 0
    var partition: Int64 = 0, qos: Int64 = 0, state: Int64 = 0, gpuModel: Int64 = 0
    var gpuClass: Int64 = 0, organisation: Int64 = 0, jobSize: Int64 = 0, wallBucket: Int64 = 0

    subscript(index: Int) -> Int64 {
        get {
            switch index {
            case 0: site
            case 1: cluster
            case 2: account
            case 3: group
            case 4: user
            case 5: partition
            case 6: qos
            case 7: state
            case 8: gpuModel
            case 9: gpuClass
            case 10: organisation
            case 11: jobSize
            default: wallBucket
            }
        }
        set {
            switch index {
            case 0: site = newValue
            case 1: cluster = newValue
            case 2: account = newValue
            case 3: group = newValue
            case 4: user = newValue
            case 5: partition = newValue
            case 6: qos = newValue
            case 7: state = newValue
            case 8: gpuModel = newValue
            case 9: gpuClass = newValue
            case 10: organisation = newValue
            case 11: jobSize = newValue
            default: wallBucket = newValue
            }
        }
    }

    /// Column order, compared field by field (the subscript's switch is slow in sorts of millions).
    func precedes(_ other: DimensionIDs) -> Bool {
        let left = (site, cluster, account, group, user, partition)
        let right = (other.site, other.cluster, other.account, other.group, other.user, other.partition)
        if left != right { return left < right }
        let leftRest = (qos, state, gpuModel, gpuClass, organisation, jobSize)
        let rightRest = (other.qos, other.state, other.gpuModel, other.gpuClass, other.organisation, other.jobSize)
        if leftRest != rightRest { return leftRest < rightRest }
        return wallBucket < other.wallBucket
    }

    /// One mixed word instead of thirteen separate combines: these keys are hashed several
    /// times per job.
    func hash(into hasher: inout Hasher) {
        @inline(__always) func mix(_ mixed: UInt64, _ value: Int64) -> UInt64 {
            let product = (mixed ^ UInt64(bitPattern: value)) &* 0x0000_0100_0000_01B3
            return product ^ (product >> 29)
        }
        var mixed: UInt64 = 0x9E37_79B9_7F4A_7C15
        mixed = mix(mix(mix(mix(mixed, site), cluster), account), group)
        mixed = mix(mix(mix(mix(mixed, user), partition), qos), state)
        mixed = mix(mix(mix(mix(mix(mixed, gpuModel), gpuClass), organisation), jobSize), wallBucket)
        hasher.combine(mixed)
    }

    /// All keys a report can group by.
    static let count = 13
    /// The keys of a rollup row: job size and wall bucket multiply rows (nearly one per job),
    /// so reports by them read raw records instead.
    static let rollupCount = 11
    /// The keys a job row stores.
    static let recordedCount = 9
}

/// Maps dimension values to small integer ids and back, cached in memory.
struct DimensionDictionary: Sendable {
    private struct Key: Hashable, Sendable { var kind: Int64; var value: String }
    private var ids: [Key: Int64] = [:]
    private var values: [Int64: String] = [0: ""]
    /// The previous record's values and ids: consecutive jobs mostly share site, cluster, QOS…
    private var lastValues = [String](repeating: "", count: DimensionIDs.recordedCount)
    private var lastIDs = DimensionIDs()

    /// Loads every known value (dimensions are small: users, accounts, partitions…).
    mutating func load(_ db: Database) throws {
        ids.removeAll()
        values = [0: ""]
        lastValues = [String](repeating: "", count: DimensionIDs.recordedCount)
        lastIDs = DimensionIDs()
        let rows = try Row.fetchCursor(db, sql: "SELECT id, kind, value FROM dim")
        while let row = try rows.next() {
            let id: Int64 = row[0]
            let value: String = row[2]
            ids[Key(kind: row[1], value: value)] = id
            values[id] = value
        }
    }

    /// The id of `value`, inserting it on first sight. Empty and nil map to 0.
    mutating func id(_ dimension: ReportDimension, _ value: String?, _ db: Database) throws -> Int64 {
        guard let value, !value.isEmpty else { return 0 }
        let key = Key(kind: DimensionColumn.kind(dimension), value: value)
        if let id = ids[key] { return id }
        try db.execute(sql: "INSERT INTO dim (kind, value) VALUES (?, ?) ON CONFLICT DO NOTHING",
                       arguments: [key.kind, value])
        let id = try Int64.fetchOne(db, sql: "SELECT id FROM dim WHERE kind = ? AND value = ?",
                                    arguments: [key.kind, value])!
        ids[key] = id
        values[id] = value
        return id
    }

    /// The id of a known value without inserting; nil if never seen.
    func existingID(_ dimension: ReportDimension, _ value: String) -> Int64? {
        if value.isEmpty { return 0 }
        return ids[Key(kind: DimensionColumn.kind(dimension), value: value)]
    }

    func value(_ id: Int64) -> String { values[id] ?? "" }

    /// For readers, who cannot insert: the id of a known value, else a negative id valid in
    /// this copy only (a name the stored summaries have never seen).
    mutating func provisionalID(_ dimension: ReportDimension, _ value: String) -> Int64 {
        if let id = existingID(dimension, value) { return id }
        let key = Key(kind: DimensionColumn.kind(dimension), value: value)
        let id = -Int64(values.count)
        ids[key] = id
        values[id] = value
        return id
    }

    mutating func ids(for record: UsageRecord, _ db: Database) throws -> DimensionIDs {
        var result = DimensionIDs()
        for (index, entry) in DimensionColumn.recorded.enumerated() {
            let value = entry.dimension.value(of: record)
            if value == lastValues[index] {
                result[index] = lastIDs[index]
            } else {
                result[index] = try id(entry.dimension, value, db)
                lastValues[index] = value
                lastIDs[index] = result[index]
            }
        }
        return result
    }
}
