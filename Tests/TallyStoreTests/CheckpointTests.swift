import Foundation
import Testing
import TallyApp
import TallyCollectors
@testable import TallyCore
@testable import TallyStore

@Suite struct CheckpointTests {
    static let header = "JobID|JobIDRaw|User|Account|Cluster|Submit|Start|End|ElapsedRaw|AllocTRES|State"
    static func line(_ id: Int) -> String {
        "\(id)|\(id)|alice|proj|c1|2024-03-01T09:00:00|2024-03-01T10:00:00|2024-03-01T11:00:00|3600|cpu=2|COMPLETED"
    }

    func ingestDirectory(_ temporary: TemporaryStore, _ directory: URL) async throws -> [IngestPipeline.FileResult] {
        let ingest = CheckpointedIngest(pipeline: IngestPipeline(store: temporary.store))
        var results: [IngestPipeline.FileResult] = []
        for file in try InputFiles.expand([directory.path]) {
            let collector = SacctCollector(file: file, options: .init(timeZone: utcZone))
            results.append(try await ingest.ingest(path: file, collector: collector))
        }
        return results
    }

    @Test(arguments: Backend.all) func appendRotateAndTruncateNeverDoubleCountOrLose(backend: Backend) async throws {
        let temporary = try await TemporaryStore(backend)
        let directory = temporary.directory.appendingPathComponent("spool")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let first = directory.appendingPathComponent("a.txt"), second = directory.appendingPathComponent("b.txt")
        try Data(([Self.header] + (1...3).map(Self.line)).joined(separator: "\n").appending("\n").utf8).write(to: first)
        try Data(([Self.header] + (10...12).map(Self.line)).joined(separator: "\n").appending("\n").utf8).write(to: second)

        let initial = try await ingestDirectory(temporary, directory)
        #expect(initial.map(\.totals.inserted) == [3, 3])

        // Nothing changed: both skipped, nothing read.
        let again = try await ingestDirectory(temporary, directory)
        #expect(again.map(\.totals.linesRead) == [0, 0])
        #expect(again.allSatisfy { $0.note?.contains("skipped") == true })

        // Appended lines: only they are read, with the header remembered from the first read.
        let handle = try FileHandle(forWritingTo: first)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data((Self.line(4) + "\n" + Self.line(5) + "\n").utf8))
        try handle.close()
        let grown = try await ingestDirectory(temporary, directory)
        #expect(grown[0].totals.linesRead == 2)
        #expect(grown[0].totals.inserted == 2)
        #expect(grown[0].rejections.isEmpty)
        #expect(try await temporary.store.jobs(JobQuery(jobID: "5")).first?.origin.line == 6)

        // Rotated: b.txt replaced by a new file starting with other jobs (and one old one).
        try FileManager.default.removeItem(at: second)
        try Data(([Self.header, Self.line(12), Self.line(13)]).joined(separator: "\n").appending("\n").utf8).write(to: second)
        let rotated = try await ingestDirectory(temporary, directory)
        #expect(rotated[1].totals.linesRead == 3)
        #expect(rotated[1].totals.inserted == 1)
        #expect(rotated[1].totals.unchanged == 1)

        // Truncated in place: read again from the start; nothing doubles.
        try Data(([Self.header, Self.line(1)]).joined(separator: "\n").appending("\n").utf8).write(to: first)
        let truncated = try await ingestDirectory(temporary, directory)
        #expect(truncated[0].totals.unchanged == 1)
        #expect(truncated[0].totals.inserted == 0)

        let status = try await temporary.store.status()
        #expect(status.records == 9)  // jobs 1–5, 10–13
        let report = try await temporary.store.report(ReportQuery(period: .total))
        #expect(report.total.coreSeconds == 9 * 2 * 3600)
    }

    @Test(arguments: Backend.all) func compressedFilesAreSkippedOrReadAgainWhole(backend: Backend) async throws {
        let temporary = try await TemporaryStore(backend)
        let directory = temporary.directory.appendingPathComponent("gz")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("sacct.txt.gz")
        let text = ([Self.header] + (1...4).map(Self.line)).joined(separator: "\n") + "\n"
        try Data(try gzipped(text)).write(to: path)
        #expect(try await ingestDirectory(temporary, directory)[0].totals.inserted == 4)
        #expect(try await ingestDirectory(temporary, directory)[0].totals.linesRead == 0)
        try Data(try gzipped(text + Self.line(5) + "\n")).write(to: path)
        let changed = try await ingestDirectory(temporary, directory)[0]
        #expect(changed.totals.linesRead == 6)
        #expect(changed.totals.inserted == 1)
    }
}

@Suite struct CoverageTests {
    @Test(arguments: Backend.all) func daysWithoutDataAreGaps(backend: Backend) async throws {
        let temporary = try await TemporaryStore(backend)
        let header = "JobID|User|Cluster|Start|End|ElapsedRaw|AllocTRES|State"
        let lines = [
            "1|a|c1|2024-03-01T10:00:00|2024-03-01T11:00:00|3600|cpu=1|COMPLETED",
            "2|a|c1|2024-03-02T23:00:00|2024-03-03T01:00:00|7200|cpu=1|COMPLETED",  // spans two days
            "3|a|c1|2024-03-07T10:00:00|2024-03-07T11:00:00|3600|cpu=1|COMPLETED",
            "4|a|c2|2024-03-05T10:00:00|2024-03-05T11:00:00|3600|cpu=1|COMPLETED",
        ]
        let path = try temporary.write("gaps.txt", ([header] + lines).joined(separator: "\n") + "\n")
        try await temporary.ingest(path)
        let coverage = try await temporary.store.coverage()
        #expect(coverage.map(\.cluster) == ["c1", "c2"])
        let c1 = coverage[0]
        #expect(c1.daysWithData == 4)
        #expect(c1.gaps == [UTCDay.of(utc("2024-03-04"))...UTCDay.of(utc("2024-03-06"))])
        #expect(c1.gapDays == 3)
        #expect(coverage[1].gaps.isEmpty)
    }
}
