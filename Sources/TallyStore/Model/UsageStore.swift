import TallyCore

/// A place usage records live: the seam between ingest, reports and the server. SQLite (embedded)
/// and PostgreSQL (central) implement it, and one test suite runs against both.
public protocol UsageStore: Actor {
    /// Where the store is, for messages (never a password).
    nonisolated var location: String { get }
    /// Records per write that suit the backend (a network round trip costs more than a file's).
    nonisolated var preferredBatchSize: Int { get }
    /// Registers one pass over one input and returns its handle.
    func beginIngest(format: SourceFormat, path: String) async throws -> IngestRun
    /// Upserts a batch's records, keeps its rejected lines, and updates rollups, atomically.
    func write(_ batch: CollectedBatch, in run: IngestRun) async throws -> BatchOutcome
    /// Closes the pass with its totals.
    func finishIngest(_ run: IngestRun, totals: IngestTotals, status: IngestRun.Status) async throws
    func report(_ query: ReportQuery) async throws -> Report
    func jobs(_ query: JobQuery) async throws -> [UsageRecord]
    /// What the store holds; the span of usage (a scan of the job table) only when asked.
    func status(includingCoverage: Bool) async throws -> StoreStatus
    /// The checkpoint of an input file, if it was read before.
    func checkpoint(format: String, path: String) async throws -> Checkpoint?
    func saveCheckpoint(_ checkpoint: Checkpoint) async throws

    /// Takes out what reading `path` (of `format`, else any) added: the records whose current
    /// version it wrote, its rejected and flagged lines, runs and checkpoint.
    func removeSource(path: String, format: String?) async throws -> SourceRemoval

    // Records
    /// One page of records with their row ids (the cursor of the next page is the last id).
    func jobPage(_ query: JobQuery) async throws -> [(record: UsageRecord, id: Int64)]
    /// Streams matching records without holding them all.
    func forEachJob(_ query: JobQuery, _ body: @escaping @Sendable (UsageRecord) throws -> Void) async throws
    /// Streams what policy passes need of each matching record (who, when, how big), in start order.
    func forEachRun(_ query: JobQuery, _ body: @escaping @Sendable (RunFacts) throws -> Void) async throws
    /// Changes whenever summaries may have changed, whoever wrote (for caches of answers).
    func summaryGeneration() async throws -> String

    // Configuration
    func appliedConfiguration() async throws -> AppliedConfiguration?
    /// The configuration in use (with the database's user directory merged in).
    func currentConfiguration() -> TallyConfiguration
    /// Uses `configuration` from now on, rebuilding summaries when its fingerprint differs from
    /// the one they were built with.
    @discardableResult
    func apply(_ configuration: TallyConfiguration, text: String?) async throws -> RebuildStats?
    @discardableResult
    func rebuild(text: String?) async throws -> RebuildStats
    func userDirectory() async throws -> [UserEntry]
    func importUsers(_ entries: [UserEntry], source: String, configuration base: TallyConfiguration,
                     text: String?) async throws -> RebuildStats?
    func recordedSubjects() async throws -> [(subject: RuleSubject, coreSeconds: Int64, gpuSeconds: Int64)]

    // Coverage
    func coverage() async throws -> [ClusterCoverage]
    func recordSnapshots(site: String, cluster: String, format: SourceFormat, times: [Int64]) async throws
    func snapshotCoverage(interval: Int64?, gcThreshold: Int64?) async throws -> [SnapshotCoverage]

    // AUDITOR-compatible records
    /// Stores or replaces a document.
    func saveAuditorDocument(_ document: AuditorDocument) async throws
    /// Streams matching documents in the query's order until `body` returns false.
    func forEachAuditorDocument(_ query: AuditorDocumentQuery, _ body: (AuditorDocument) throws -> Bool) async throws

    // Shipping: site signing keys and batches already received
    func registerSiteKey(site: String, publicKey: String) async throws
    /// Public keys (base64 Ed25519) registered for `site`.
    func siteKeys(site: String) async throws -> [String]
    func receivedBatch(id: String) async throws -> ReceivedBatch?
    func recordReceivedBatch(_ batch: ReceivedBatch) async throws

    // APEL summaries received from APEL clients (they carry no jobs)
    /// Stores summary rows; a row with a known key replaces it (as APEL's server does).
    func saveAPELSummaries(_ rows: [APELSummaryRecord]) async throws
    /// Stored summary rows of a month (year × 12 + month − 1).
    func apelSummaries(month: Int64) async throws -> [APELSummaryRecord]

    // Allocations (tally alloc)
    /// Stores an allocation; without `replacing`, an existing one of that name is kept and false returned.
    func saveAllocation(_ allocation: Allocation, replacing: Bool) async throws -> Bool
    func allocations() async throws -> [Allocation]
    func addAllocationCharge(_ charge: AllocationCharge) async throws
    func allocationCharges(allocation: String) async throws -> [AllocationCharge]

    // API tokens
    func createToken(name: String, hash: String, scopes: [String], sites: [String]) async throws -> StoredToken
    func token(hash: String) async throws -> StoredToken?
    func tokens() async throws -> [StoredToken]
}

extension UsageStore {
    public func auditorDocument(recordID: String) async throws -> AuditorDocument? {
        var query = AuditorDocumentQuery()
        query.recordID = recordID
        var found: AuditorDocument?
        try await forEachAuditorDocument(query) { found = $0; return false }
        return found
    }

    public func snapshotCoverage() async throws -> [SnapshotCoverage] {
        try await snapshotCoverage(interval: nil, gcThreshold: nil)
    }

    @discardableResult
    public func rebuild() async throws -> RebuildStats { try await rebuild(text: nil) }

    public func status() async throws -> StoreStatus { try await status(includingCoverage: true) }
}

/// A shipped batch the server has stored: resending it answers the same outcome and changes nothing.
public struct ReceivedBatch: Sendable, Hashable {
    public var id: String
    public var site: String
    public var contentHash: String
    /// The answer given when it was stored (JSON).
    public var outcome: String
    public var receivedAt: Int64

    public init(id: String, site: String, contentHash: String, outcome: String, receivedAt: Int64) {
        self.id = id; self.site = site; self.contentHash = contentHash; self.outcome = outcome
        self.receivedAt = receivedAt
    }
}

public struct IngestRun: Sendable, Hashable {
    public enum Status: String, Sendable { case running, finished, failed }
    public let id: Int64
    public let sourceID: Int64
    public let path: String
}

/// What happened to each record of a batch.
public struct BatchOutcome: Sendable, Hashable {
    /// New natural keys.
    public var inserted = 0
    /// Known keys whose content changed (a running job that finished, a corrected line).
    public var updated = 0
    /// Known keys with identical content, or an older state than the one stored.
    public var unchanged = 0

    public init() {}
}

/// Running totals of one ingest pass.
public struct IngestTotals: Sendable, Hashable, Codable {
    public var linesRead = 0
    public var records = 0
    public var inserted = 0
    public var updated = 0
    public var unchanged = 0
    public var rejected = 0
    /// Records kept with a flag (`CollectedBatch.flags`): counted in `records` too.
    public var flagged = 0
    public var skipped = 0

    public init() {}

    public mutating func add(_ batch: CollectedBatch, _ outcome: BatchOutcome) {
        linesRead += batch.linesRead
        records += batch.records.count
        inserted += outcome.inserted
        updated += outcome.updated
        unchanged += outcome.unchanged
        rejected += batch.rejections.count
        flagged += batch.flags.count
        skipped += batch.skipped.values.reduce(0, +)
    }

    public static func += (lhs: inout IngestTotals, rhs: IngestTotals) {
        lhs.linesRead += rhs.linesRead; lhs.records += rhs.records; lhs.inserted += rhs.inserted
        lhs.updated += rhs.updated; lhs.unchanged += rhs.unchanged; lhs.rejected += rhs.rejected
        lhs.flagged += rhs.flagged; lhs.skipped += rhs.skipped
    }
}

/// Which raw records to list.
public struct JobQuery: Sendable, Hashable {
    public var window: Range<Int64>?
    public var filters: [ReportDimension: Set<String>]
    public var jobID: String?
    public var limit: Int?
    /// Keyset paging: only records stored after this row id, in id order.
    public var afterID: Int64?

    public init(window: Range<Int64>? = nil, filters: [ReportDimension: Set<String>] = [:], jobID: String? = nil,
                limit: Int? = nil, afterID: Int64? = nil) {
        self.window = window; self.filters = filters; self.jobID = jobID; self.limit = limit; self.afterID = afterID
    }
}

/// What the store holds and how it got there.
public struct StoreStatus: Sendable, Hashable {
    public struct Source: Sendable, Hashable {
        public var format: String
        public var path: String
        public var firstSeen: Int64
        public var lastSeen: Int64
        public var runs: Int64
        public var totals: IngestTotals
    }

    public var records: Int64
    /// Most common first, ties by name.
    public var recordsByState: [(state: String, count: Int64)]
    public var sources: [Source]
    /// Earliest start and latest end of any usage held.
    public var coverage: Range<Int64>?
    public var rejectedLines: Int64
    public var recentRejections: [Rejection]
    /// Records kept with a flag (repaired or doubtful), and the latest of them.
    public var flaggedLines: Int64 = 0
    public var recentFlags: [Rejection] = []

    public static func == (lhs: StoreStatus, rhs: StoreStatus) -> Bool {
        lhs.records == rhs.records && lhs.sources == rhs.sources && lhs.coverage == rhs.coverage
            && lhs.rejectedLines == rhs.rejectedLines && lhs.recentRejections == rhs.recentRejections
            && lhs.flaggedLines == rhs.flaggedLines && lhs.recentFlags == rhs.recentFlags
            && lhs.recordsByState.map(\.state) == rhs.recordsByState.map(\.state)
            && lhs.recordsByState.map(\.count) == rhs.recordsByState.map(\.count)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(records); hasher.combine(rejectedLines)
    }
}

/// Who ran what, when: the part of a record that fair-share, priorities, quotas and preemption read.
public struct RunFacts: Sendable, Hashable {
    public var jobID: String
    public var account: String?
    public var user: String?
    public var facts: UsageFacts
    /// Slurm's billing weight, when the record has one.
    public var billing: Int64?

    public init(jobID: String, account: String?, user: String?, facts: UsageFacts, billing: Int64?) {
        self.jobID = jobID; self.account = account; self.user = user; self.facts = facts; self.billing = billing
    }
}
