/// The PostgreSQL schema: the SQLite schema's tables with PostgreSQL types, as numbered steps
/// recorded in `tally_schema` (applied under an advisory lock, so several servers may start at once).
enum PostgresSchema {
    static let migrations: [(version: Int, name: String, sql: String)] = [
        (1, "records, dimensions, rollups, ingest log, checkpoints, snapshots, configuration, users, tokens", """
        CREATE TABLE dim (
            id BIGSERIAL PRIMARY KEY,
            kind BIGINT NOT NULL,
            value TEXT NOT NULL,
            UNIQUE (kind, value)
        );
        CREATE TABLE source (
            id BIGSERIAL PRIMARY KEY,
            format TEXT NOT NULL,
            path TEXT NOT NULL,
            first_seen BIGINT NOT NULL,
            last_seen BIGINT NOT NULL,
            UNIQUE (format, path)
        );
        CREATE TABLE ingest_run (
            id BIGSERIAL PRIMARY KEY,
            source_id BIGINT NOT NULL REFERENCES source(id),
            started_at BIGINT NOT NULL,
            finished_at BIGINT,
            status TEXT NOT NULL,
            lines_read BIGINT NOT NULL DEFAULT 0,
            records BIGINT NOT NULL DEFAULT 0,
            inserted BIGINT NOT NULL DEFAULT 0,
            updated BIGINT NOT NULL DEFAULT 0,
            unchanged BIGINT NOT NULL DEFAULT 0,
            rejected BIGINT NOT NULL DEFAULT 0,
            skipped BIGINT NOT NULL DEFAULT 0
        );
        CREATE TABLE rejected_line (
            id BIGSERIAL PRIMARY KEY,
            run_id BIGINT NOT NULL REFERENCES ingest_run(id),
            source_id BIGINT NOT NULL REFERENCES source(id),
            line BIGINT NOT NULL,
            field TEXT,
            reason TEXT NOT NULL,
            excerpt TEXT NOT NULL
        );
        CREATE TABLE job (
            id BIGSERIAL PRIMARY KEY,
            natural_key TEXT NOT NULL UNIQUE,
            fingerprint BIGINT NOT NULL,
            format BIGINT NOT NULL,
            site BIGINT NOT NULL, cluster BIGINT NOT NULL, account BIGINT NOT NULL,
            grp BIGINT NOT NULL, usr BIGINT NOT NULL, partition BIGINT NOT NULL,
            qos BIGINT NOT NULL, state BIGINT NOT NULL, gpu_model BIGINT NOT NULL,
            job_id TEXT NOT NULL, local_job_id TEXT NOT NULL, name TEXT, raw_state TEXT NOT NULL,
            submit BIGINT, eligible BIGINT, start BIGINT, end_time BIGINT,
            wall BIGINT NOT NULL, cores BIGINT NOT NULL, gpus BIGINT NOT NULL,
            nodes BIGINT NOT NULL, node_list TEXT,
            mem_alloc BIGINT, mem_req BIGINT, mem_used BIGINT,
            cpu BIGINT, energy BIGINT, billing BIGINT,
            exit_code BIGINT, exit_signal BIGINT,
            source_id BIGINT NOT NULL, line BIGINT NOT NULL,
            t0 BIGINT, t1 BIGINT
        );
        CREATE INDEX job_t0 ON job (t0);
        CREATE TABLE meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL);
        \(rollupTable("rollup_day", period: "day"));
        \(rollupTable("rollup_month", period: "month"));
        CREATE TABLE checkpoint (
            format TEXT NOT NULL,
            path TEXT NOT NULL,
            device BIGINT NOT NULL,
            inode BIGINT NOT NULL,
            size BIGINT NOT NULL,
            mtime BIGINT NOT NULL,
            head_length BIGINT NOT NULL,
            head_hash BIGINT NOT NULL,
            "offset" BIGINT NOT NULL,
            line BIGINT NOT NULL,
            compressed BOOLEAN NOT NULL,
            resume_state BYTEA NOT NULL,
            updated_at BIGINT NOT NULL,
            PRIMARY KEY (format, path)
        );
        CREATE TABLE snapshot_time (
            site TEXT NOT NULL, cluster TEXT NOT NULL, format TEXT NOT NULL, taken_at BIGINT NOT NULL,
            PRIMARY KEY (site, cluster, format, taken_at)
        );
        CREATE TABLE applied_configuration (
            id BIGINT PRIMARY KEY CHECK (id = 1),
            fingerprint TEXT NOT NULL,
            text TEXT,
            path TEXT,
            applied_at BIGINT NOT NULL
        );
        CREATE TABLE user_directory (
            usr TEXT PRIMARY KEY,
            name TEXT, email TEXT, organisation TEXT,
            source TEXT NOT NULL
        );
        CREATE TABLE api_token (
            id BIGSERIAL PRIMARY KEY,
            name TEXT NOT NULL,
            hash TEXT NOT NULL UNIQUE,
            scopes TEXT NOT NULL,
            sites TEXT NOT NULL,
            created_at BIGINT NOT NULL
        )
        """),
        (2, "AUDITOR documents", Schema.auditorTable.replacingOccurrences(of: "INTEGER", with: "BIGINT")),
        (3, "shipping", Schema.shippingTables.replacingOccurrences(of: "INTEGER", with: "BIGINT")),
        (4, "APEL summaries", Schema.apelSummaryTable.replacingOccurrences(of: "INTEGER", with: "BIGINT")),
        (5, "allocations", AllocationColumns.tables.replacingOccurrences(of: "INTEGER", with: "BIGINT")),
        (6, "records per state", StateCounts.table.replacingOccurrences(of: "INTEGER", with: "BIGINT")),
        (7, "flagged lines", Schema.flaggedLineTable.replacingOccurrences(of: "INTEGER PRIMARY KEY", with: "BIGSERIAL PRIMARY KEY")
            .replacingOccurrences(of: "INTEGER", with: "BIGINT")),
        (8, "fractional cores and disk", """
            ALTER TABLE job ADD COLUMN IF NOT EXISTS milli_cores BIGINT;
            ALTER TABLE job ADD COLUMN IF NOT EXISTS disk BIGINT;
            ALTER TABLE rollup_day ADD COLUMN IF NOT EXISTS disk BIGINT NOT NULL DEFAULT 0;
            ALTER TABLE rollup_month ADD COLUMN IF NOT EXISTS disk BIGINT NOT NULL DEFAULT 0
            """),
        (9, "directory groups and PI", """
            ALTER TABLE user_directory ADD COLUMN IF NOT EXISTS groups TEXT;
            ALTER TABLE user_directory ADD COLUMN IF NOT EXISTS pi TEXT
            """),
    ]

    /// Room left in each page lets summary updates stay on their page (HOT updates), without a new
    /// index entry for every row a batch adds to.
    static func rollupTable(_ name: String, period: String) -> String {
        """
        CREATE TABLE \(name) (
            \(period) BIGINT NOT NULL,
            \(DimensionColumn.all.prefix(DimensionIDs.rollupCount).map { "\($0.column) BIGINT NOT NULL" }.joined(separator: ", ")),
            \(RollupColumns.amounts.map { "\($0) BIGINT NOT NULL" }.joined(separator: ", ")),
            PRIMARY KEY (\(period), \(RollupColumns.keys))
        ) WITH (fillfactor = 70)
        """
    }

    /// The advisory lock writers and migrations hold: one writer at a time keeps the
    /// read-compare-write of a batch consistent across processes.
    static let writerLock: Int64 = 0x7461_6C6C_79  // "tally"
}
