import Foundation
import PostgresNIO
import TallyCore

extension PostgresStore {
    public func appliedConfiguration() async throws -> AppliedConfiguration? {
        for try await (fingerprint, text, path, appliedAt) in try await client.query(
            "SELECT fingerprint, text, path, applied_at FROM applied_configuration WHERE id = 1", logger: logger)
            .decode((String, String?, String?, Int64).self) {
            return AppliedConfiguration(fingerprint: fingerprint, text: text, path: path, appliedAt: appliedAt)
        }
        return nil
    }

    public func currentConfiguration() -> TallyConfiguration { configuration }

    @discardableResult
    public func apply(_ configuration: TallyConfiguration, text: String?) async throws -> RebuildStats? {
        let effective = configuration.merging(directory: try await userDirectory())
        self.configuration = effective
        plans = PlanCache(normaliser: Normaliser(effective))
        let applied = try await appliedConfiguration()
        if applied?.fingerprint == effective.fingerprintText {
            if applied?.text != text || applied?.path != configuration.path {
                try await client.withConnection { connection in
                    try await Self.record(effective, text: text, connection, logger: logger)
                }
            }
            return nil
        }
        return try await rebuild(text: text)
    }

    static func record(_ configuration: TallyConfiguration, text: String?, _ connection: PostgresConnection,
                       logger: Logger) async throws {
        try await connection.query("""
            INSERT INTO applied_configuration (id, fingerprint, text, path, applied_at)
            VALUES (1, \(configuration.fingerprintText), \(text), \(configuration.path), \(now))
            ON CONFLICT (id) DO UPDATE SET fingerprint = excluded.fingerprint, text = excluded.text,
                path = excluded.path, applied_at = excluded.applied_at
            """, logger: logger)
    }

    /// Recomputes every summary from the raw records with the current configuration, in one
    /// transaction (readers see the old summaries until it commits). Records are read through a
    /// server-side cursor, a slice at a time; days and months are written once the scan has moved
    /// two days past them, so memory stays bounded.
    @discardableResult
    public func rebuild(text: String?) async throws -> RebuildStats {
        let clock = ContinuousClock.now
        let previous = try await appliedConfiguration()
        let keptText = text ?? previous?.text
        try await refreshDimensions()
        let current = configuration, logger = logger
        let start = dimensions
        do {
            let (stats, dictionary) = try await client.withTransaction(logger: logger) { connection in
                var dictionary = start
                var plans = PlanCache(normaliser: Normaliser(current))
                try await connection.query("SELECT pg_advisory_xact_lock(\(PostgresSchema.writerLock))", logger: logger)
                try await connection.query("TRUNCATE rollup_day, rollup_month", logger: logger)
                try await connection.query(PostgresQuery(unsafeSQL: """
                    DECLARE rebuild_scan NO SCROLL CURSOR FOR
                    SELECT \(StoredQueries.factsColumns), node_list FROM job WHERE t0 IS NOT NULL
                    """), logger: logger)
                var builder = RollupBuilder()
                var mapping: [Int64: Int64] = [:]
                var records: Int64 = 0
                var openDay = Int64.min
                func flush(_ rows: (days: [RollupKey: UsageAmounts], months: [RollupKey: UsageAmounts])) async throws {
                    mapping.merge(try await Self.storeProvisional(&dictionary, connection, logger: logger)) { $1 }
                    try await PostgresRollups.upsert(rows.days, table: "rollup_day", period: "day", mapping: mapping,
                                                     connection: connection, logger: logger)
                    try await PostgresRollups.upsert(rows.months, table: "rollup_month", period: "month",
                                                     mapping: mapping, connection: connection, logger: logger)
                }
                while true {
                    let states = StateCache(dictionary)
                    var fetched = 0
                    for try await row in try await connection.query("FETCH 20000 FROM rebuild_scan", logger: logger) {
                        fetched += 1
                        let stored = PostgresStoredRow(row)
                        let (facts, ids) = try StoredQueries.facts(stored, states: states)
                        let host = plans.needsHosts
                            ? HostList.first(try stored.optionalText(StoredQueries.factsColumnCount)) : ""
                        try builder.add(facts, recorded: ids, host: host, sign: 1, plans: &plans,
                                        dictionary: &dictionary, source: .provisional)
                        if let first = facts.touchSpan?.lowerBound { openDay = max(openDay, UTCDay.of(first)) }
                        records += 1
                    }
                    if fetched == 0 { break }
                    try await flush(builder.drainCompleted(before: openDay - 2))
                }
                try await flush(builder.drainAll())
                try await connection.query("CLOSE rebuild_scan", logger: logger)
                try await Self.record(current, text: keptText, connection, logger: logger)
                try await PostgresRollups.bumpGeneration(connection, logger: logger)
                func count(_ table: String) async throws -> Int64 {
                    try await connection.query(PostgresQuery(unsafeSQL: "SELECT COUNT(*) FROM \(table)"), logger: logger)
                        .decode(Int64.self).first { _ in true } ?? 0
                }
                let stats = RebuildStats(records: records, dayRows: try await count("rollup_day"),
                                         monthRows: try await count("rollup_month"), seconds: 0,
                                         previousFingerprint: previous?.fingerprint, fingerprint: current.fingerprintText)
                return (stats, dictionary)
            }
            dimensions = dictionary
            plans = PlanCache(normaliser: Normaliser(current))
            var timed = stats
            timed.seconds = (ContinuousClock.now - clock).seconds
            logger.debug("rebuilt summaries", metadata: ["records": "\(stats.records)", "fingerprint": "\(stats.fingerprint)"])
            return timed
        } catch {
            try? await reloadDimensions()
            throw StoreError.writeFailed(reason: Self.describe(error))
        }
    }

    // MARK: User directory

    public func userDirectory() async throws -> [UserEntry] {
        var entries: [UserEntry] = []
        for try await (user, name, email, organisation, groups, pi) in try await client.query(
            "SELECT usr, name, email, organisation, groups, pi FROM user_directory ORDER BY usr", logger: logger)
            .decode((String, String?, String?, String?, String?, String?).self) {
            entries.append(UserEntry(user: user, name: name, email: email, organisation: organisation,
                                     groups: UserEntry.groups(column: groups), pi: pi))
        }
        return entries
    }

    public func importUsers(_ entries: [UserEntry], source: String, configuration base: TallyConfiguration,
                            text: String?) async throws -> RebuildStats? {
        // Directories are small (one row per person): a statement each, in one transaction.
        try await client.withTransaction(logger: logger) { connection in
            for entry in entries {
                try await connection.query("""
                    INSERT INTO user_directory (usr, name, email, organisation, groups, pi, source)
                    VALUES (\(entry.user), \(entry.name), \(entry.email), \(entry.organisation), \(entry.groupsColumn),
                            \(entry.pi), \(source))
                    ON CONFLICT (usr) DO UPDATE SET name = excluded.name, email = excluded.email,
                        organisation = excluded.organisation, groups = excluded.groups, pi = excluded.pi,
                        source = excluded.source
                    """, logger: logger)
            }
        }
        return try await apply(base, text: text)
    }

    public func recordedSubjects() async throws -> [(subject: RuleSubject, coreSeconds: Int64, gpuSeconds: Int64)] {
        try await refreshDimensions()
        var result: [(subject: RuleSubject, coreSeconds: Int64, gpuSeconds: Int64)] = []
        for try await (cluster, partition, qos, model, core, gpu) in try await client.query("""
            SELECT cluster, partition, qos, gpu_model, SUM(core)::bigint, SUM(gpu)::bigint FROM rollup_month
            GROUP BY cluster, partition, qos, gpu_model
            """, logger: logger).decode((Int64, Int64, Int64, Int64, Int64, Int64).self) {
            let subject = RuleSubject(cluster: dimensions.value(cluster), partition: dimensions.value(partition),
                                      qos: dimensions.value(qos), gpuModel: dimensions.value(model))
            result.append((subject, core, gpu))
        }
        return result
    }

    // MARK: API tokens

    public func createToken(name: String, hash: String, scopes: [String], sites: [String]) async throws -> StoredToken {
        let now = Self.now
        let id = try await client.query("""
            INSERT INTO api_token (name, hash, scopes, sites, created_at)
            VALUES (\(name), \(hash), \(scopes.joined(separator: ",")), \(sites.joined(separator: ",")), \(now))
            RETURNING id
            """, logger: logger).decode(Int64.self).first { _ in true }!
        return StoredToken(id: id, name: name, scopes: scopes, sites: sites, createdAt: now)
    }

    public func token(hash: String) async throws -> StoredToken? {
        try await tokens(where: hash).first
    }

    public func tokens() async throws -> [StoredToken] {
        try await tokens(where: nil)
    }

    private func tokens(where hash: String?) async throws -> [StoredToken] {
        func list(_ text: String) -> [String] { text.split(separator: ",").map(String.init) }
        var result: [StoredToken] = []
        let rows = try await client.query("""
            SELECT id, name, scopes, sites, created_at FROM api_token
            WHERE \(hash)::text IS NULL OR hash = \(hash) ORDER BY id
            """, logger: logger)
        for try await (id, name, scopes, sites, createdAt) in rows.decode((Int64, String, String, String, Int64).self) {
            result.append(StoredToken(id: id, name: name, scopes: list(scopes), sites: list(sites), createdAt: createdAt))
        }
        return result
    }
}
