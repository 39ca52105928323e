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

    /// Uses `configuration` from now on. Reports apply it as they scan the facts, so nothing is
    /// recomputed: when its fingerprint differs from the one recorded, it is recorded and the
    /// stats say how many records it now applies to. `text` is stored so later runs without a
    /// config file apply the same rules.
    @discardableResult
    public func apply(_ configuration: TallyConfiguration, text: String?) async throws -> RebuildStats? {
        let clock = ContinuousClock.now
        let directory = try await userDirectory()
        let effective = configuration.merging(directory: directory)
        self.configuration = effective
        plans = PlanCache(normaliser: Normaliser(effective))
        let applied = try await appliedConfiguration()
        if applied?.fingerprint == effective.fingerprintText {
            if applied?.text != text || applied?.path != configuration.path {
                try await queue.write { db in try Self.record(effective, text: text, db) }
            }
            return nil
        }
        let records = try await queue.write { db in
            try Self.record(effective, text: text, db)
            try db.execute(sql: Schema.bumpGeneration)
            return try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM job WHERE t0 IS NOT NULL") ?? 0
        }
        summaryWrites += 1
        return RebuildStats(records: records, dayRows: 0, monthRows: 0, seconds: (ContinuousClock.now - clock).seconds,
                            previousFingerprint: applied?.fingerprint, fingerprint: effective.fingerprintText)
    }

    /// Fills the fact blocks again from the job table (a repair: writes keep them current) and
    /// records the configuration in use.
    @discardableResult
    public func rebuild(text: String? = nil) async throws -> RebuildStats {
        let clock = ContinuousClock.now
        let previous = try await appliedConfiguration()
        let keptText = text ?? previous?.text
        let current = configuration
        do {
            let (records, updated) = try await queue.write { db in
                try db.execute(sql: Schema.bumpGeneration)
                let records = try FactBlockTable.fill(db)
                try Self.record(current, text: keptText, db)
                var dictionary = DimensionDictionary()
                try dictionary.load(db)
                return (records, dictionary)
            }
            dimensions = updated
            summaryWrites += 1
            logger.debug("refilled fact blocks", metadata: ["records": "\(records)"])
            return RebuildStats(records: records, dayRows: 0, monthRows: 0,
                                seconds: (ContinuousClock.now - clock).seconds,
                                previousFingerprint: previous?.fingerprint, fingerprint: current.fingerprintText)
        } catch {
            try await reloadDimensions()
            throw error
        }
    }

    static func record(_ configuration: TallyConfiguration, text: String?, path: String? = nil, _ db: Database) throws {
        try db.execute(sql: """
            INSERT INTO applied_configuration (id, fingerprint, text, path, applied_at) VALUES (1, ?, ?, ?, ?)
            ON CONFLICT (id) DO UPDATE SET fingerprint = excluded.fingerprint, text = excluded.text,
                path = excluded.path, applied_at = excluded.applied_at
            """, arguments: [configuration.fingerprintText, text, configuration.path ?? path, Int64(Date().timeIntervalSince1970)])
    }

    // MARK: User directory

    public func userDirectory() async throws -> [UserEntry] {
        try await queue.read { db in
            try Row.fetchAll(db, sql: "SELECT usr, name, email, organisation, groups, pi FROM user_directory ORDER BY usr").map {
                UserEntry(user: $0[0], name: $0[1], email: $0[2], organisation: $0[3],
                          groups: UserEntry.groups(column: $0[4]), pi: $0[5])
            }
        }
    }

    /// Adds or replaces directory entries, then applies the configuration again (organisations
    /// may have changed, which rebuilds the summaries).
    public func importUsers(_ entries: [UserEntry], source: String, configuration base: TallyConfiguration,
                            text: String?) async throws -> RebuildStats? {
        try await queue.write { db in
            let statement = try db.cachedStatement(sql: """
                INSERT INTO user_directory (usr, name, email, organisation, groups, pi, source) VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (usr) DO UPDATE SET name = excluded.name, email = excluded.email,
                    organisation = excluded.organisation, groups = excluded.groups, pi = excluded.pi,
                    source = excluded.source
                """)
            for entry in entries {
                try statement.execute(arguments: [entry.user, entry.name, entry.email, entry.organisation, entry.groupsColumn,
                                                  entry.pi, source])
            }
        }
        return try await apply(base, text: text)
    }
}

extension SQLiteStore {
    /// Each combination of cluster, partition, QOS and GPU model in the records, with its core
    /// and GPU seconds: what `config check --db` tests the rules against.
    public func recordedSubjects() async throws -> [(subject: RuleSubject, coreSeconds: Int64, gpuSeconds: Int64)] {
        try await refreshDimensions()
        let dictionary = dimensions
        return try await queue.read { db in
            struct Key: Hashable { var cluster, partition, qos, gpuModel: Int64 }
            var sums: [Key: (core: Int64, gpu: Int64)] = [:]
            let states = StateCache(dictionary)
            let plain = Normaliser(.empty).plan(for: RuleSubject())
            try Self.forEachFact(db) { slot in
                let ids = FactSlot.ids(slot)
                let job = ChargedJob(facts: FactSlot.facts(slot, state: states.state(ids.state)), plan: plain)
                var core: Int64 = 0, gpu: Int64 = 0
                job.forEachShare(in: FactSlot.touched(slot)) { _, amounts in
                    core += amounts.coreSeconds
                    gpu += amounts.gpuSeconds
                }
                let key = Key(cluster: ids.cluster, partition: ids.partition, qos: ids.qos, gpuModel: ids.gpuModel)
                let sum = sums[key] ?? (0, 0)
                sums[key] = (sum.core + core, sum.gpu + gpu)
            }
            return sums.map { key, sum in
                (RuleSubject(cluster: dictionary.value(key.cluster), partition: dictionary.value(key.partition),
                             qos: dictionary.value(key.qos), gpuModel: dictionary.value(key.gpuModel)), sum.core, sum.gpu)
            }.sorted { ($0.subject.cluster, $0.subject.partition, $0.subject.qos, $0.subject.gpuModel)
                < ($1.subject.cluster, $1.subject.partition, $1.subject.qos, $1.subject.gpuModel) }
        }
    }
}
