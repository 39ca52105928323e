import GRDB
import TallyCore

/// The SQLite schema, as a list of named migrations (GRDB's `DatabaseMigrator`).
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: records, dimensions, rollups, ingest log") { db in
            // Repeated names (users, accounts, …) are stored once and referred to by id; 0 = none.
            try db.execute(sql: """
                CREATE TABLE dim (
                    id INTEGER PRIMARY KEY,
                    kind INTEGER NOT NULL,
                    value TEXT NOT NULL,
                    UNIQUE (kind, value)
                );
                CREATE TABLE source (
                    id INTEGER PRIMARY KEY,
                    format TEXT NOT NULL,
                    path TEXT NOT NULL,
                    first_seen INTEGER NOT NULL,
                    last_seen INTEGER NOT NULL,
                    UNIQUE (format, path)
                );
                CREATE TABLE ingest_run (
                    id INTEGER PRIMARY KEY,
                    source_id INTEGER NOT NULL REFERENCES source(id),
                    started_at INTEGER NOT NULL,
                    finished_at INTEGER,
                    status TEXT NOT NULL,
                    lines_read INTEGER NOT NULL DEFAULT 0,
                    records INTEGER NOT NULL DEFAULT 0,
                    inserted INTEGER NOT NULL DEFAULT 0,
                    updated INTEGER NOT NULL DEFAULT 0,
                    unchanged INTEGER NOT NULL DEFAULT 0,
                    rejected INTEGER NOT NULL DEFAULT 0,
                    skipped INTEGER NOT NULL DEFAULT 0
                );
                CREATE TABLE rejected_line (
                    id INTEGER PRIMARY KEY,
                    run_id INTEGER NOT NULL REFERENCES ingest_run(id),
                    source_id INTEGER NOT NULL REFERENCES source(id),
                    line INTEGER NOT NULL,
                    field TEXT,
                    reason TEXT NOT NULL,
                    excerpt TEXT NOT NULL
                );
                -- One row per job run, unique by natural key. Keys embed the scheduler's job number, so
                -- new jobs land at the right edge of the key index (cheap even for millions of rows).
                -- t0/t1 bound the time a record touches (usage and the instant it is counted at);
                -- reports find records by t0.
                CREATE TABLE job (
                    id INTEGER PRIMARY KEY,
                    natural_key TEXT NOT NULL UNIQUE,
                    fingerprint INTEGER NOT NULL,
                    format INTEGER NOT NULL,
                    site INTEGER NOT NULL, cluster INTEGER NOT NULL, account INTEGER NOT NULL,
                    grp INTEGER NOT NULL, usr INTEGER NOT NULL, partition INTEGER NOT NULL,
                    qos INTEGER NOT NULL, state INTEGER NOT NULL, gpu_model INTEGER NOT NULL,
                    job_id TEXT NOT NULL, local_job_id TEXT NOT NULL, name TEXT, raw_state TEXT NOT NULL,
                    submit INTEGER, eligible INTEGER, start INTEGER, end_time INTEGER,
                    wall INTEGER NOT NULL, cores INTEGER NOT NULL, gpus INTEGER NOT NULL,
                    nodes INTEGER NOT NULL, node_list TEXT,
                    mem_alloc INTEGER, mem_req INTEGER, mem_used INTEGER,
                    cpu INTEGER, energy INTEGER, billing INTEGER,
                    exit_code INTEGER, exit_signal INTEGER,
                    source_id INTEGER NOT NULL, line INTEGER NOT NULL,
                    t0 INTEGER, t1 INTEGER
                );
                CREATE INDEX job_t0 ON job (t0);
                CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
                """)
            // Usage per UTC day and per UTC calendar month (month = year * 12 + month - 1) and
            // combination of dimensions, kept current on every write. Reports by month, quarter
            // or year read the monthly table: a thirtieth of the rows.
            try db.execute(sql: rollupTable("rollup_day", period: "day"))
            try db.execute(sql: rollupTable("rollup_month", period: "month"))
        }
        migrator.registerMigration("v2: checkpoints") { db in
            // Where each input file was read up to, and how to recognise it again.
            try db.execute(sql: """
                CREATE TABLE checkpoint (
                    format TEXT NOT NULL,
                    path TEXT NOT NULL,
                    device INTEGER NOT NULL,
                    inode INTEGER NOT NULL,
                    size INTEGER NOT NULL,
                    mtime INTEGER NOT NULL,
                    head_length INTEGER NOT NULL,
                    head_hash INTEGER NOT NULL,
                    offset INTEGER NOT NULL,
                    line INTEGER NOT NULL,
                    compressed INTEGER NOT NULL,
                    resume_state BLOB NOT NULL,
                    updated_at INTEGER NOT NULL,
                    PRIMARY KEY (format, path)
                )
                """)
        }
        migrator.registerMigration("v3: snapshot times") { db in
            // When each snapshot of a platform without job logs was taken: gaps between them are
            // periods whose usage rests on missing data.
            try db.execute(sql: """
                CREATE TABLE snapshot_time (
                    site TEXT NOT NULL, cluster TEXT NOT NULL, format TEXT NOT NULL, taken_at INTEGER NOT NULL,
                    PRIMARY KEY (site, cluster, format, taken_at)
                ) WITHOUT ROWID
                """)
        }
        migrator.registerMigration("v4: normalised rollups, configuration, user directory") { db in
            // Summaries are derived data: rebuilt from the records with the configuration that
            // applies (the store does it when it sees no configuration recorded).
            try db.execute(sql: "DROP TABLE rollup_day; DROP TABLE rollup_month")
            try db.execute(sql: rollupTable("rollup_day", period: "day"))
            try db.execute(sql: rollupTable("rollup_month", period: "month"))
            try db.execute(sql: """
                CREATE TABLE applied_configuration (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    fingerprint TEXT NOT NULL,
                    text TEXT,
                    path TEXT,
                    applied_at INTEGER NOT NULL
                );
                CREATE TABLE user_directory (
                    usr TEXT PRIMARY KEY,
                    name TEXT, email TEXT, organisation TEXT,
                    source TEXT NOT NULL
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v5: API tokens") { db in
            // Only a SHA-256 of each secret is stored: the secret is shown once, at creation.
            try db.execute(sql: """
                CREATE TABLE api_token (
                    id INTEGER PRIMARY KEY,
                    name TEXT NOT NULL,
                    hash TEXT NOT NULL UNIQUE,
                    scopes TEXT NOT NULL,
                    sites TEXT NOT NULL,
                    created_at INTEGER NOT NULL
                )
                """)
        }
        migrator.registerMigration("v6: AUDITOR documents") { db in
            try db.execute(sql: Schema.auditorTable)
        }
        migrator.registerMigration("v7: shipping") { db in
            try db.execute(sql: Schema.shippingTables)
        }
        migrator.registerMigration("v8: APEL summaries") { db in
            try db.execute(sql: Schema.apelSummaryTable)
        }
        migrator.registerMigration("v9: allocations") { db in
            try db.execute(sql: AllocationColumns.tables)
        }
        migrator.registerMigration("v10: records per state") { db in
            try db.execute(sql: StateCounts.table)
        }
        migrator.registerMigration("v11: rollups keyed by dimension combination") { db in
            // See RollupBlob. The summaries are rebuilt when the store opens, with the
            // configuration recorded (its text is kept).
            try db.execute(sql: "DROP TABLE rollup_day; DROP TABLE rollup_month")
            try db.execute(sql: Schema.comboTable)
            try db.execute(sql: rollupTable("rollup_day", period: "day"))
            try db.execute(sql: rollupTable("rollup_month", period: "month"))
            try db.execute(sql: "UPDATE applied_configuration SET fingerprint = ?", arguments: [Schema.rebuildMarker])
        }
        migrator.registerMigration("v12: fact blocks") { db in
            // Every job's report facts packed by id (see FactSlot): reports scan these.
            try db.execute(sql: FactBlockTable.create)
            try FactBlockTable.fill(db)
        }
        migrator.registerMigration("v13: reports from fact blocks alone") { db in
            // Summaries by combination of names grew past the number of jobs on real data
            // (issue 17); every report now scans the fact blocks, which also keep each job's
            // first host for host rules: filled again.
            try db.execute(sql: "DROP TABLE rollup_day; DROP TABLE rollup_month; DROP TABLE combo")
            try FactBlockTable.fill(db)
        }
        migrator.registerMigration("v14: flagged lines") { db in
            try db.execute(sql: Schema.flaggedLineTable)
        }
        migrator.registerMigration("v15: fractional cores and disk") { db in
            // Kubernetes milli-cores charged exactly, and local disk (GB-hours); the fact slots
            // hold both, so they are filled again.
            try db.execute(sql: "ALTER TABLE job ADD COLUMN milli_cores INTEGER; ALTER TABLE job ADD COLUMN disk INTEGER")
            try FactBlockTable.fill(db)
        }
        migrator.registerMigration("v16: directory groups and PI") { db in
            try db.execute(sql: "ALTER TABLE user_directory ADD COLUMN groups TEXT; ALTER TABLE user_directory ADD COLUMN pi TEXT")
        }
        return migrator
    }

    /// Records kept with a flag (a repair the format allows, or figures that disagree): same
    /// columns as `rejected_line`, but the record behind each row is stored and charged.
    static let flaggedLineTable = """
        CREATE TABLE flagged_line (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES ingest_run(id),
            source_id INTEGER NOT NULL REFERENCES source(id),
            line INTEGER NOT NULL,
            field TEXT,
            reason TEXT NOT NULL,
            excerpt TEXT NOT NULL
        )
        """

    /// Recorded in place of a configuration fingerprint when a migration emptied the summaries
    /// (v11); the store records the empty configuration in its place when it opens.
    static let rebuildMarker = "summaries to rebuild"

    /// Counts writes that change records or summaries, so that two read transactions can tell
    /// whether they saw the same data (a report scanned on two connections at once).
    static let bumpGeneration = """
        INSERT INTO meta (key, value) VALUES ('generation', 1) ON CONFLICT (key) DO UPDATE SET value = value + 1
        """

    static func generation(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'generation'") ?? 0
    }

    /// APEL summary rows received as such, keyed as APEL keys them ('' and 0 stand for absent).
    static let apelSummaryTable = """
        CREATE TABLE apel_summary (
            site TEXT NOT NULL, year INTEGER NOT NULL, month INTEGER NOT NULL,
            global_user TEXT NOT NULL, vo TEXT NOT NULL, vo_group TEXT NOT NULL, vo_role TEXT NOT NULL,
            submit_host TEXT NOT NULL, infrastructure TEXT NOT NULL,
            service_level_type TEXT NOT NULL, service_level TEXT NOT NULL,
            node_count INTEGER NOT NULL, processors INTEGER NOT NULL,
            earliest_end INTEGER NOT NULL, latest_end INTEGER NOT NULL,
            wall INTEGER NOT NULL, cpu INTEGER NOT NULL, jobs INTEGER NOT NULL,
            PRIMARY KEY (site, year, month, global_user, vo, vo_group, vo_role, submit_host, infrastructure,
                         service_level_type, service_level, node_count, processors)
        )
        """

    /// Site signing keys (Ed25519, base64) and the batches already received, by id.
    static let shippingTables = """
        CREATE TABLE site_key (
            site TEXT NOT NULL,
            public_key TEXT NOT NULL,
            registered_at INTEGER NOT NULL,
            PRIMARY KEY (site, public_key)
        );
        CREATE TABLE received_batch (
            id TEXT PRIMARY KEY,
            site TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            outcome TEXT NOT NULL,
            received_at INTEGER NOT NULL
        )
        """

    /// Records sent through the AUDITOR-compatible endpoints, as sent (the usage they carry is in `job`).
    static let auditorTable = """
        CREATE TABLE auditor_record (
            record_id TEXT PRIMARY KEY,
            document TEXT NOT NULL,
            start_time INTEGER NOT NULL,
            stop_time INTEGER
        );
        CREATE INDEX auditor_record_stop ON auditor_record (stop_time);
        CREATE INDEX auditor_record_start ON auditor_record (start_time)
        """
}

/// Column lists of the rollup tables, in the order readers and writers bind them.
enum RollupColumns {
    static let keys = DimensionColumn.all.prefix(DimensionIDs.rollupCount).map(\.column).joined(separator: ", ")
    static let amounts = ["jobs", "wall", "core", "cpu", "gpu", "mem", "core_cpu", "wait", "started", "job_cores",
                          "job_gpus", "bench", "core_bench", "gpu_norm", "charge", "disk"]

    static func values(_ amounts: UsageAmounts) -> [Int64] {
        [amounts.jobs, amounts.wallSeconds, amounts.coreSeconds, amounts.cpuSeconds, amounts.gpuSeconds,
         amounts.memoryMiBSeconds, amounts.coreSecondsWithCPU, amounts.waitSeconds, amounts.startedJobs,
         amounts.jobCores, amounts.jobGPUs, amounts.benchmarkMilli, amounts.coreSecondsBenchmarked,
         amounts.gpuWeightedMilli, amounts.chargeMilli, amounts.diskMiBSeconds]
    }

    static func amounts(_ value: (Int32) -> Int64, from first: Int32) -> UsageAmounts {
        var result = UsageAmounts()
        result.jobs = value(first); result.wallSeconds = value(first + 1); result.coreSeconds = value(first + 2)
        result.cpuSeconds = value(first + 3); result.gpuSeconds = value(first + 4)
        result.memoryMiBSeconds = value(first + 5); result.coreSecondsWithCPU = value(first + 6)
        result.waitSeconds = value(first + 7); result.startedJobs = value(first + 8); result.jobCores = value(first + 9)
        result.jobGPUs = value(first + 10); result.benchmarkMilli = value(first + 11)
        result.coreSecondsBenchmarked = value(first + 12); result.gpuWeightedMilli = value(first + 13)
        result.chargeMilli = value(first + 14); result.diskMiBSeconds = value(first + 15)
        return result
    }
}

/// The dimension columns of `job` and the rollups, in one fixed order.
enum DimensionColumn {
    static let all: [(dimension: ReportDimension, column: String)] = [
        (.site, "site"), (.cluster, "cluster"), (.account, "account"), (.group, "grp"), (.user, "usr"),
        (.partition, "partition"), (.qos, "qos"), (.state, "state"), (.gpuModel, "gpu_model"),
        (.gpuClass, "gpu_class"), (.organisation, "org"), (.jobSize, "job_size"), (.wallBucket, "wall_bucket"),
    ]

    /// The columns a job row has.
    static let recorded = Array(all.prefix(DimensionIDs.recordedCount))

    static func column(_ dimension: ReportDimension) -> String {
        all.first { $0.dimension == dimension }!.column
    }

    static func index(_ dimension: ReportDimension) -> Int {
        all.firstIndex { $0.dimension == dimension }!
    }

    /// The `dim.kind` code of a dimension.
    static func kind(_ dimension: ReportDimension) -> Int64 { Int64(index(dimension) + 1) }

    /// The `dim.kind` code of hosts (a job's first node; not a report dimension).
    static let hostKind: Int64 = 100
}

import TallyCore
