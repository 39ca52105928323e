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

    /// Provisional (negative) ids replaced by the ids the database gave their names.
    func remapped(_ stored: [Int64: Int64]) -> DimensionIDs {
        var result = self
        for index in 0..<Self.count where result[index] < 0 {
            if let real = stored[result[index]] { result[index] = real }
        }
        return result
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

    /// Forgets everything (before loading the stored values again).
    mutating func reset() {
        ids.removeAll()
        values = [0: ""]
        maxStoredID = 0
        forgetLastRecord()
    }

    /// Drops the cached ids of the previous record (after ids were renumbered).
    mutating func forgetLastRecord() {
        lastValues = [String](repeating: "", count: DimensionIDs.recordedCount)
        lastIDs = DimensionIDs()
    }

    /// The largest stored id known (names with larger ids were stored by another process since).
    private(set) var maxStoredID: Int64 = 0

    /// Adds one stored value.
    mutating func add(id: Int64, kind: Int64, value: String) {
        ids[Key(kind: kind, value: value)] = id
        values[id] = value
        maxStoredID = max(maxStoredID, id)
    }

    /// The id of `value`, inserting it on first sight (or, from `.provisional`, a negative id
    /// valid in this copy only). Empty and nil map to 0.
    mutating func id(_ dimension: ReportDimension, _ value: String?, _ source: DerivedIDSource) throws -> Int64 {
        guard let value, !value.isEmpty else { return 0 }
        let key = Key(kind: DimensionColumn.kind(dimension), value: value)
        if let id = ids[key] { return id }
        switch source {
        case .provisional:
            return provisionalID(dimension, value)
        case let .inserting(inserter):
            return try storedID(kind: key.kind, value: value, inserter)
        }
    }

    /// The stored id of a name known by its kind (one another copy of the dictionary gave a
    /// provisional id), inserting it on first sight.
    mutating func storedID(kind: Int64, value: String, _ inserter: any DimensionInserter) throws -> Int64 {
        if let id = ids[Key(kind: kind, value: value)], id > 0 { return id }
        let id = try inserter.insertDimension(kind: kind, value: value)
        add(id: id, kind: kind, value: value)
        return id
    }

    /// The stored id of a job's first host (0 for none): fact slots keep it for host rules.
    mutating func hostID(_ host: String, _ inserter: any DimensionInserter) throws -> Int64 {
        guard !host.isEmpty else { return 0 }
        return try storedID(kind: DimensionColumn.hostKind, value: host, inserter)
    }

    /// Provisional (negative) ids handed out so far, with their kind and value.
    /// In the order they were handed out, so stored ids follow first appearance as on SQLite.
    var provisional: [(id: Int64, kind: Int64, value: String)] {
        ids.compactMap { key, id in id < 0 ? (id, key.kind, key.value) : nil }.sorted { $0.id > $1.id }
    }

    /// Replaces provisional ids with the ids the database gave their values.
    mutating func commitProvisional(_ stored: [Int64: Int64]) {
        for (key, id) in ids where id < 0 {
            guard let real = stored[id] else { continue }
            values[id] = nil
            add(id: real, kind: key.kind, value: key.value)
        }
        forgetLastRecord()
    }

    /// The id of a known value without inserting; nil if never seen.
    func existingID(_ dimension: ReportDimension, _ value: String) -> Int64? {
        if value.isEmpty { return 0 }
        return ids[Key(kind: DimensionColumn.kind(dimension), value: value)]
    }

    func value(_ id: Int64) -> String { values[id] ?? "" }

    /// Every stored name of a dimension (what the records hold).
    func storedValues(_ dimension: ReportDimension) -> [String] {
        let kind = DimensionColumn.kind(dimension)
        return ids.filter { $0.key.kind == kind && $0.value > 0 }.map(\.key.value).sorted()
    }

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

    mutating func ids(for record: UsageRecord, _ source: DerivedIDSource) throws -> DimensionIDs {
        var result = DimensionIDs()
        for (index, entry) in DimensionColumn.recorded.enumerated() {
            let value = entry.dimension.value(of: record)
            if value == lastValues[index] {
                result[index] = lastIDs[index]
            } else {
                result[index] = try id(entry.dimension, value, source)
                lastValues[index] = value
                lastIDs[index] = result[index]
            }
        }
        return result
    }
}

/// Something that stores a dimension value and returns its id (a writer's open transaction).
protocol DimensionInserter {
    func insertDimension(kind: Int64, value: String) throws -> Int64
}

/// Where a reader or writer gets ids for names it has not seen: a writer inserts them, a reader
/// (or a writer that stores them later, in one round trip) makes provisional ones.
enum DerivedIDSource {
    case inserting(any DimensionInserter)
    case provisional
}
