import Foundation
import Testing
import TallyCore

/// `--config`, `config check`, `rebuild`, `users import` and `jobs --explain` through the real binary.
@Suite(.serialized) struct ConfigCommandLineTests {
    @Test func configuredReportsRebuildOnceAndExplainEachFigure() throws {
        let temporary = try TemporaryStore()
        let db = temporary.directory.appendingPathComponent("cli.db").path
        let sacct = try temporary.write("jobs.txt", [
            NormalisedReportTests.header,
            NormalisedReportTests.line(41, user: "jsmith2", partition: "gpu", cluster: "rivanna", nodes: "udc-an07",
                                       start: "2024-07-02T09:00:00", end: "2024-07-02T12:00:00", elapsed: 3 * 3600,
                                       tres: "cpu=10,mem=40G,node=1,gres/gpu:v100=2,gres/gpu=2"),
            NormalisedReportTests.line(42, user: "rkumar", partition: "standard", cluster: "rivanna",
                                       start: "2024-07-02T09:00:00", end: "2024-07-02T10:00:00", elapsed: 3600,
                                       tres: "cpu=4,mem=8G,node=1"),
        ].joined(separator: "\n") + "\n")
        let config = Fixtures.example("tally.toml")
        #expect(try TallyProcess.run(["ingest", "slurm", "--db", db, "--timezone", "UTC", sacct]).status == 0)

        let first = try TallyProcess.run(["report", "--db", db, "--config", config, "--period", "total", "--by", "user",
                                          "--format", "csv", "--metrics", "jobs,core_hours,hs23_hours,gpu_norm_hours,su"])
        #expect(first.status == 0)
        #expect(first.stderr.contains("note: configuration changed"))
        // jsmith2 is aliased to jsmith (Jane Smith); V100 factor 2; gpu rate 1 × 10 × 3 + 2 × 2 × 3 = 42 SU;
        // udc-an nodes score 17: 30 core-hours × 17 = 510. rkumar: 4 core-hours after the refresh (14.5) = 58; 4 SU.
        #expect(first.stdout == """
            period,user,name,jobs,core_hours,hs23_hours,gpu_norm_hours,su
            2024-07-02..2024-07-03,jsmith,Jane Smith,1,30.00,510.000,12.000,42.000
            2024-07-02..2024-07-03,rkumar,Ravi Kumar,1,4.00,58.000,0.000,4.000

            """)

        // Later commands without --config use the configuration stored in the database: no rebuild.
        let second = try TallyProcess.run(["report", "--db", db, "--period", "total", "--by", "organisation",
                                           "--format", "csv", "--metrics", "su"])
        #expect(!second.stderr.contains("configuration changed"))
        #expect(second.stdout.contains("Physics,42.000"))
        #expect(second.stdout.contains("Biology,4.000"))

        let explain = try TallyProcess.run(["jobs", "--db", db, "--explain", "41"])
        #expect(explain.status == 0)
        #expect(explain.stdout.contains("alias (line"))
        #expect(explain.stdout.contains("jsmith2 → jsmith"))
        #expect(explain.stdout.contains("= 510.000 HS23-hours"))
        #expect(explain.stdout.contains("v100 → V100, factor 2.000"))
        #expect(explain.stdout.contains("= 42.000 SU"))
        // The raw record keeps the scheduler's name.
        let raw = try TallyProcess.run(["jobs", "--db", db, "--job", "41", "--format", "csv"])
        #expect(raw.stdout.contains(",jsmith2,"))

        let users = try temporary.write("users.csv", "user,name,organisation\nrkumar,Ravi Kumar,Chemistry\n")
        let imported = try TallyProcess.run(["users", "import", "--db", db, users])
        #expect(imported.status == 0)
        // The config file's [[user]] entry for rkumar wins over the import: organisation stays Biology.
        let afterImport = try TallyProcess.run(["report", "--db", db, "--period", "total", "--by", "organisation",
                                                "--format", "csv", "--metrics", "su"])
        #expect(afterImport.stdout.contains("Biology,4.000"))

        let status = try TallyProcess.run(["status", "--db", db])
        #expect(status.stdout.contains("summaries built with configuration 281a59c6ad8b4873 (\(config))"))

        let rebuild = try TallyProcess.run(["rebuild", "--db", db])
        #expect(rebuild.status == 0)
        #expect(rebuild.stdout.contains("rebuilt summaries from 2 records"))

        let check = try TallyProcess.run(["config", "check", config, "--db", db])
        #expect(check.status == 0)
        #expect(check.stdout.contains("OK"))
        let bad = try temporary.write("bad.toml", "[[charge_rate]]\npartiton = \"gpu\"\n")
        let failed = try TallyProcess.run(["config", "check", bad])
        #expect(failed.status == 1)
        #expect(failed.stdout.contains("bad.toml:2: error: [[charge_rate]]: unknown key 'partiton'"))
        // A report given a broken config refuses rather than guessing.
        let refused = try TallyProcess.run(["report", "--db", db, "--config", bad])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("unknown key 'partiton'"))
    }
}
