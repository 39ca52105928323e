import Foundation
import Testing
@testable import TallyStore

/// Inputs that used to be silent no-ops: a queue or directory tree read as nothing, a file of
/// the wrong format read as zero records with exit 0; and taking out a mistaken read.
@Suite(.serialized) struct IngestInputTests {
    @Test func aFileOfAnotherFormatFailsLoudly() throws {
        let temporary = try TemporaryStore()
        let db = temporary.directory.appendingPathComponent("cli.db").path
        let readme = try temporary.write("README.md", "# Tally\n\nAccounting for shared research computing.\n\n* one\n* two\n")
        let wrong = try TallyProcess.run(["ingest", "swf", "--db", db, readme])
        #expect(wrong.status != 0)
        #expect(wrong.stderr.contains("no records read: all"), "\(wrong.stderr)")
        #expect(wrong.stderr.contains("is this swf input?"), "\(wrong.stderr)")
        let empty = temporary.directory.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let nothing = try TallyProcess.run(["ingest", "auto", "--db", db, empty.path])
        #expect(nothing.status != 0)
        #expect(nothing.stderr.contains("no input files"), "\(nothing.stderr)")
    }

    @Test func directoryTreesAreReadWithTheirSubdirectories() throws {
        let temporary = try TemporaryStore()
        let db = temporary.directory.appendingPathComponent("cli.db").path
        let tree = temporary.directory.appendingPathComponent("accounting/2016/03")
        try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Fixtures.path("pbs/apel-test-torque-accounting.log"),
                                         toPath: tree.appendingPathComponent("20160327").path)
        let result = try TallyProcess.run(["ingest", "auto", "--db", db, "--timezone", "UTC",
                                           temporary.directory.appendingPathComponent("accounting").path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("20160327: pbs"), "\(result.stderr)")
        #expect(try TallyProcess.run(["status", "--db", db]).stdout.contains("records: 7"))
    }

    /// `tally export apel --out` writes SSM's queue layout (`DIR/<8 hex>/<14 hex>`); a central
    /// Tally reads such a queue back by its root.
    @Test func anAPELQueueIsReadFromItsRoot() async throws {
        let original = try await APELExportTests.store(jobs: 300)
        let queue = original.directory.appendingPathComponent("outgoing").path
        let exported = try TallyProcess.run(["export", "apel", "--db", original.path, "--kind", "job",
                                             "--month", "2024-01", "--out", queue])
        #expect(exported.status == 0, "\(exported.stderr)")
        let central = original.directory.appendingPathComponent("central.db").path
        let ingested = try TallyProcess.run(["ingest", "apel", "--db", central, queue])
        #expect(ingested.status == 0, "\(ingested.stderr)")
        let status = try TallyProcess.run(["status", "--db", central])
        #expect(!status.stdout.contains("records: 0"), "\(status.stdout)")
        #expect(status.stdout.contains("records: "), "\(status.stdout)")
    }

    /// A mistaken read (the wrong file, or the right one with the wrong cluster) is taken out
    /// with its rejects, and the file can be read again from its start.
    @Test func aMistakenReadIsTakenOutWithItsRejects() throws {
        let temporary = try TemporaryStore()
        let db = temporary.directory.appendingPathComponent("cli.db").path
        let good = Fixtures.path("slurm-sandbox/sacct-duplicates.txt")
        #expect(try TallyProcess.run(["ingest", "slurm", "--db", db, "--timezone", "UTC", good]).status == 0)
        let mixed = try temporary.write("mixed.txt", [
            "JobID|User|Account|Start|End|ElapsedRaw|AllocTRES|State",
            "901|mallory|x|2024-03-01T10:00:00|2024-03-01T11:00:00|3600|cpu=2|COMPLETED",
            "902|mallory|x|2024-03-01T10:00:00|yesterday|3600|cpu=2|COMPLETED",
        ].joined(separator: "\n") + "\n")
        #expect(try TallyProcess.run(["ingest", "slurm", "--db", db, "--timezone", "UTC", mixed]).status == 0)
        let listed = try TallyProcess.run(["source", "list", "--db", db])
        #expect(listed.stdout.contains("mixed.txt"), "\(listed.stdout)")
        let removed = try TallyProcess.run(["source", "remove", "--db", db, mixed])
        #expect(removed.status == 0, "\(removed.stderr)")
        #expect(removed.stdout.contains("1 records, 1 rejected and 0 flagged lines"), "\(removed.stdout)")
        let status = try TallyProcess.run(["status", "--db", db])
        #expect(status.stdout.contains("records: 28"), "\(status.stdout)")
        #expect(status.stdout.contains("rejected lines: 0"), "\(status.stdout)")
        #expect(!status.stdout.contains("mixed.txt"))
        let report = try TallyProcess.run(["report", "--db", db, "--period", "total", "--by", "user", "--format", "csv"])
        #expect(!report.stdout.contains("mallory"))
        let unknown = try TallyProcess.run(["source", "remove", "--db", db, mixed])
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("no input"))
        // Read again from its start: the checkpoint went with it.
        let again = try TallyProcess.run(["ingest", "slurm", "--db", db, "--timezone", "UTC", mixed])
        #expect(again.stderr.contains("1 jobs (1 new"), "\(again.stderr)")
    }
}
