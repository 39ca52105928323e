import Foundation
import GRDB
import GRDBSQLite
import TallyCore

/// The configuration a database's summaries were built with, as recorded in the database.
public struct AppliedConfiguration: Sendable, Hashable {
    public var fingerprint: String
    /// The config file's text, so later commands without `--config` apply the same rules.
    public var text: String?
    public var path: String?
    public var appliedAt: Int64
}

extension Duration {
    /// As a floating-point number of seconds (for figures people read).
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// What a rebuild did.
public struct RebuildStats: Sendable, Hashable {
    public var records: Int64
    public var dayRows: Int64
    public var monthRows: Int64
    public var seconds: Double
    public var previousFingerprint: String?
    public var fingerprint: String
}

extension SQLiteStore {
    public func appliedConfiguration() async throws -> AppliedConfiguration? {
        try await queue.read { db in try Self.applied(db) }
    }

    static func applied(_ db: Database) throws -> AppliedConfiguration? {
        guard let row = try Row.fetchOne(db, sql: "SELECT fingerprint, text, path, applied_at FROM applied_configuration") else {
            return nil
        }
        return AppliedConfiguration(fingerprint: row[0], text: row[1], path: row[2], appliedAt: row[3])
    }

    /// The configuration in use (with the database's user directory merged in).
    public func currentConfiguration() -> TallyConfiguration { configuration }

    /// Uses `configuration` from now on. When its fingerprint differs from the one the summaries
    /// were built with, rebuilds them from the raw records (and returns what that took).
    /// `text` is stored so later runs without a config file apply the same rules.
    @discardableResult
    public func apply(_ configuration: TallyConfiguration, text: String?) async throws -> RebuildStats? {
        let directory = try await userDirectory()
        let effective = configuration.merging(directory: directory)
        self.configuration = effective
        plans = PlanCache(normaliser: Normaliser(effective))
        let applied = try await appliedConfiguration()
        if applied?.fingerprint == effective.fingerprintText {
            if applied?.text != text || applied?.path != configuration.path {
                try await record(effective, text: text)
            }
            return nil
        }
        return try await rebuild(text: text)
    }

    /// Recomputes every summary from the raw records with the current configuration, in one
    /// transaction: readers see the old summaries until it commits.
    @discardableResult
    public func rebuild(text: String? = nil) async throws -> RebuildStats {
        let clock = ContinuousClock.now
        let previous = try await appliedConfiguration()
        let keptText = text ?? previous?.text
        let dictionary = dimensions
        let knownCombos = combos
        combos = ComboTable()
        let cache = PlanCache(normaliser: Normaliser(configuration))
        let current = configuration
        let path = path, parallelAbove = parallelRebuildAbove, fault = rebuildFault
        do {
            let (stats, updated, updatedCombos) = try await queue.write { db in
                var dictionary = dictionary
                var combos = knownCombos
                var plans = cache
                let records = try Self.rebuildRollups(db, dictionary: &dictionary, combos: &combos, plans: &plans,
                                                      path: path, parallelAbove: parallelAbove, fault: fault)
                try Self.record(current, text: keptText, db)
                let stats = RebuildStats(
                    records: records,
                    dayRows: try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM rollup_day") ?? 0,
                    monthRows: try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM rollup_month") ?? 0,
                    seconds: 0, previousFingerprint: previous?.fingerprint, fingerprint: current.fingerprintText)
                return (stats, dictionary, combos)
            }
            dimensions = updated
            combos = updatedCombos
            plans = cache
            summaryWrites += 1
            var timed = stats
            timed.seconds = (ContinuousClock.now - clock).seconds
            logger.debug("rebuilt summaries", metadata: ["records": "\(stats.records)", "fingerprint": "\(stats.fingerprint)"])
            return timed
        } catch {
            try await reloadDimensions()
            throw error
        }
    }

    private func record(_ configuration: TallyConfiguration, text: String?) async throws {
        try await queue.write { db in try Self.record(configuration, text: text, db) }
    }

    static func record(_ configuration: TallyConfiguration, text: String?, path: String? = nil, _ db: Database) throws {
        try db.execute(sql: """
            INSERT INTO applied_configuration (id, fingerprint, text, path, applied_at) VALUES (1, ?, ?, ?, ?)
            ON CONFLICT (id) DO UPDATE SET fingerprint = excluded.fingerprint, text = excluded.text,
                path = excluded.path, applied_at = excluded.applied_at
            """, arguments: [configuration.fingerprintText, text, configuration.path ?? path, Int64(Date().timeIntervalSince1970)])
    }

    /// Empties the summaries and adds every record again, in storage order (ingest order, close to
    /// time order), writing days and months once the scan has moved two days past them: memory
    /// stays bounded and rows mostly append in key order. A record older than that (a job that
    /// was pending long, or ingested late) still lands exactly: writes add onto existing rows.
    ///
    /// A file of at least `parallelAbove` jobs is read by two threads (`ParallelRebuild`).
    static func rebuildRollups(_ db: Database, dictionary: inout DimensionDictionary, combos: inout ComboTable,
                               plans: inout PlanCache, path: String? = nil,
                               parallelAbove: Int64 = 50_000, fault: ParallelRebuild.Fault? = nil) throws -> Int64 {
        // Counting the write first also takes the write lock: a parallel rebuild's scans then
        // see this transaction's snapshot.
        try db.execute(sql: Schema.bumpGeneration)
        if let path, !path.isEmpty, path != ":memory:" {
            let bounds = try Row.fetchOne(db, sql: "SELECT MIN(id), MAX(id) FROM job")
            if let low = bounds?[0] as Int64?, let high = bounds?[1] as Int64?, high - low + 1 >= parallelAbove {
                return try ParallelRebuild(path: path, ids: low...high, fault: fault)
                    .run(db, dictionary: &dictionary, combos: &combos, plans: plans)
            }
        }
        // DELETE without WHERE clears each table's pages at once (as DROP does); DROP TABLE also
        // kept a statement journal of the whole table in memory (temp_store = MEMORY): 150 MB
        // per million jobs.
        try db.execute(sql: "DELETE FROM rollup_day; DELETE FROM rollup_month")
        var builder = RollupBuilder()
        let statement = try db.makeStatement(sql: RollupBuilder.rebuildSelect(plans, where: "NOT INDEXED WHERE t0 IS NOT NULL"))
        let count = try RollupBuilder.scan(statement, db, into: &builder, plans: &plans, dictionary: &dictionary,
                                           source: .inserting(db)) { builder, _, before, _ in
            try builder.flushCompleted(before: before, combos: &combos, db)
        }
        try builder.flush(db, combos: &combos)
        return count
    }

    // MARK: User directory

    public func userDirectory() async throws -> [UserEntry] {
        try await queue.read { db in
            try Row.fetchAll(db, sql: "SELECT usr, name, email, organisation FROM user_directory ORDER BY usr").map {
                UserEntry(user: $0[0], name: $0[1], email: $0[2], organisation: $0[3])
            }
        }
    }

    /// Adds or replaces directory entries, then applies the configuration again (organisations
    /// may have changed, which rebuilds the summaries).
    public func importUsers(_ entries: [UserEntry], source: String, configuration base: TallyConfiguration,
                            text: String?) async throws -> RebuildStats? {
        try await queue.write { db in
            let statement = try db.cachedStatement(sql: """
                INSERT INTO user_directory (usr, name, email, organisation, source) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (usr) DO UPDATE SET name = excluded.name, email = excluded.email,
                    organisation = excluded.organisation, source = excluded.source
                """)
            for entry in entries {
                try statement.execute(arguments: [entry.user, entry.name, entry.email, entry.organisation, source])
            }
        }
        return try await apply(base, text: text)
    }
}

extension SQLiteStore {
    /// Each combination of cluster, partition, QOS and GPU model in the records, with its core
    /// and GPU seconds: what `config check --db` tests the rules against.
    public func recordedSubjects() async throws -> [(subject: RuleSubject, coreSeconds: Int64, gpuSeconds: Int64)] {
        let dictionary = dimensions
        return try await queue.read { db in
            try Row.fetchAll(db, sql: """
                SELECT c.cluster, c.partition, c.qos, c.gpu_model, SUM(\(RollupBlob.column("core"))), SUM(\(RollupBlob.column("gpu")))
                FROM rollup_month r JOIN combo c ON c.id = r.combo
                GROUP BY c.cluster, c.partition, c.qos, c.gpu_model
                """).map { row in
                let subject = RuleSubject(cluster: dictionary.value(row[0]), partition: dictionary.value(row[1]),
                                          qos: dictionary.value(row[2]), gpuModel: dictionary.value(row[3]))
                return (subject, row[4], row[5])
            }
        }
    }
}
