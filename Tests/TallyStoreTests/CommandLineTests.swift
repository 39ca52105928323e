import Foundation
import Testing

@Suite(.serialized) struct CommandLineTests {
    @Test func ingestReportJobsStatusEndToEnd() throws {
        let temporary = try TemporaryStore()
        let db = temporary.directory.appendingPathComponent("cli.db").path
        let sacct = Fixtures.path("slurm-sandbox/sacct-duplicates.txt")
        let ingest = try TallyProcess.run(["ingest", "slurm", "--db", db, "--timezone", "UTC", sacct])
        #expect(ingest.status == 0)
        #expect(ingest.stderr.contains("28 jobs (28 new, 0 updated, 0 unchanged), 0 rejected"))

        let json = try TallyProcess.run(["report", "--db", db, "--period", "total", "--by", "account,user",
                                         "--unit", "seconds", "--format", "json"])
        #expect(json.status == 0)
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        let carol = try #require(rows.first { $0["user"] as? String == "carol" })
        #expect((carol["core_seconds"] as? NSNumber)?.int64Value == 82)
        #expect(json.stderr.contains("28 jobs ended"))

        let csv = try TallyProcess.run(["report", "--db", db, "--period", "day", "--by", "gpu-model", "--format", "csv"])
        #expect(csv.stdout.hasPrefix("period,gpu-model,jobs,wall_hours,core_hours,cpu_hours,gpu_hours,mem_gb_hours,efficiency,avg_wait_hours,avg_cores"))

        let table = try TallyProcess.run(["report", "--db", db, "--by", "account"])
        #expect(table.stdout.contains("total"))
        #expect(table.stdout.contains("28 jobs ended in"))

        let jobs = try TallyProcess.run(["jobs", "--db", db, "--where", "user=alice", "--where", "state=completed",
                                         "--format", "csv"])
        #expect(jobs.status == 0)
        #expect(jobs.stdout.split(separator: "\n").count == 1 + 8)

        let status = try TallyProcess.run(["status", "--db", db])
        #expect(status.stdout.contains("records: 28"))
        #expect(status.stdout.contains("sacct-duplicates.txt"))

        // The database path can come from the environment.
        let fromEnvironment = try TallyProcess.run(["status"], environment: ["TALLY_DB": db])
        #expect(fromEnvironment.stdout.contains("records: 28"))
    }

    @Test func unusableInputExitsNonZeroWithAClearMessage() throws {
        let temporary = try TemporaryStore()
        let db = temporary.directory.appendingPathComponent("cli.db").path
        let missing = try TallyProcess.run(["ingest", "slurm", "--db", db, "/nonexistent/sacct.txt"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("cannot open /nonexistent/sacct.txt"))

        let noHeader = try temporary.write("noheader.txt", "1|1|alice\n")
        let headerless = try TallyProcess.run(["ingest", "slurm", "--db", db, noHeader])
        #expect(headerless.status != 0)
        #expect(headerless.stderr.contains("noheader.txt:1: no sacct header line"))

        let badZone = try TallyProcess.run(["report", "--db", db, "--timezone", "Mars/Olympus"])
        #expect(badZone.status != 0)
        #expect(badZone.stderr.contains("unknown time zone"))
    }

    @Test func rejectedLinesAreSummarisedAndStrictStops() throws {
        let temporary = try TemporaryStore()
        let db = temporary.directory.appendingPathComponent("cli.db").path
        let header = "JobID|User|Account|Start|End|ElapsedRaw|AllocTRES|State"
        let file = try temporary.write("mixed.txt", [
            header,
            "1|alice|a|2024-03-01T10:00:00|2024-03-01T11:00:00|3600|cpu=2|COMPLETED",
            "2|alice|a|2024-03-01T10:00:00|yesterday|3600|cpu=2|COMPLETED",
            "3|alice|a|2024-03-01T10:00:00|2024-03-01T11:00:00|3600|cpu=2|COMPLETED",
        ].joined(separator: "\n") + "\n")
        let lenient = try TallyProcess.run(["ingest", "slurm", "--db", db, "--timezone", "UTC", file])
        #expect(lenient.status == 0)
        #expect(lenient.stderr.contains("2 jobs (2 new, 0 updated, 0 unchanged), 1 rejected"))
        #expect(lenient.stderr.contains("mixed.txt:3: field End: not a timestamp: 'yesterday'"))

        let strictDB = temporary.directory.appendingPathComponent("strict.db").path
        let strict = try TallyProcess.run(["ingest", "slurm", "--strict", "--db", strictDB, "--timezone", "UTC", file])
        #expect(strict.status != 0)
        #expect(strict.stderr.contains("--strict"))
        // Lines before the first bad one are kept; nothing after it is read.
        let status = try TallyProcess.run(["status", "--db", strictDB])
        #expect(status.stdout.contains("records: 1"))
    }
}

@Suite struct ReadCommandTests {
    @Test func readingCommandsDoNotCreateADatabase() throws {
        let temporary = try TemporaryStore()
        let missing = temporary.directory.appendingPathComponent("typo.db").path
        for command in [["report"], ["jobs"], ["status"], ["coverage"]] {
            let result = try TallyProcess.run(command + ["--db", missing])
            #expect(result.status != 0, "\(command)")
            #expect(result.stderr.contains("no such database"), "\(command)")
        }
        #expect(!FileManager.default.fileExists(atPath: missing))
    }

    @Test func versionNamesTheReleaseAndCommit() throws {
        let result = try TallyProcess.run(["--version"])
        #expect(result.status == 0)
        let line = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        // "tally 0.9.0 (commit 1a2b3c4d5e6f)", "-modified" for a dirty tree, "unknown" outside git.
        let pattern = /tally \d+\.\d+\.\d+ \(commit ([0-9a-f]{7,40}(-modified)?|unknown)\)/
        #expect(line.wholeMatch(of: pattern) != nil, "\(line)")
    }

    @Test func completionScriptsForEveryShell() throws {
        for shell in ["bash", "zsh", "fish"] {
            let result = try TallyProcess.run(["completion", shell])
            #expect(result.status == 0, "\(shell)")
            // Every shell's script knows the subcommands and a nested option.
            for word in ["ingest", "report", "fairshare", "period"] {
                #expect(result.stdout.contains(word), "\(shell) lacks \(word)")
            }
        }
        #expect(try TallyProcess.run(["completion", "bash"]).stdout.contains("-F _tally tally"))
        #expect(try TallyProcess.run(["completion", "zsh"]).stdout.hasPrefix("#compdef tally"))
        #expect(try TallyProcess.run(["completion", "fish"]).stdout.contains("complete -c 'tally'"))
        let unknown = try TallyProcess.run(["completion", "tcsh"])
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("tcsh"))
    }
}
