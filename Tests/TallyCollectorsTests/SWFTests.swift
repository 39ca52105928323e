import Foundation
import Testing
@testable import TallyCollectors
@testable import TallyCore

func collectSWF(path: String, options: SWFCollector.Options = .init()) async throws -> Collected {
    try await collect(path: path, SWFCollector(file: path, options: options), batchSize: 1000)
}

@Suite struct SWFCollectorTests {
    static let trace = """
        ; Version: 2.2
        ; Computer: Test machine
        ; UnixStartTime: 1296571124
        ; TimeZoneString: Europe/Paris
        ; Partition: 1 batch
        ; Queue: 2 long
        ;
            1      0     12   3600   64  3400.5   1024   64   7200   2048  1  3   1  -1  2   1  -1  -1
            2     30     -1     -1   -1     -1     -1    8   7200     -1  5  3   1  -1  2   1  -1  -1
            3     60      0      0    4     -1     -1    4    600     -1  0  4   2  -1  2   1  -1  -1
            4     90
            5    120      5    100   -1     -1     -1   16     -1     -1  1  4   2  -1  2   1  -1  -1
            6    150      5    100    x     -1     -1   16     -1     -1  1  4   2  -1  2   1  -1  -1

        """

    @Test func headerTimesProcessorsAndUnknowns() async throws {
        let path = try temporaryFile(Array(Self.trace.utf8), suffix: ".swf")
        let result = try await collectSWF(path: path, options: .init(site: "archive", cluster: "test"))
        #expect(result.records.map(\.jobID) == ["1", "2", "3", "5"])
        #expect(result.rejections.map(\.position.line) == [11, 13])
        #expect(result.rejections.first?.reason == "too few fields: 2 of 18")
        #expect(result.rejections.last?.field == "Allocated Processors")
        let first = try #require(result.record("1"))
        #expect(first.submit == 1_296_571_124)
        #expect(first.start == 1_296_571_136)
        #expect(first.end == 1_296_574_736)
        #expect(first.wallSeconds == 3600)
        #expect(first.cores == 64)
        #expect(first.cpuSeconds == 217_632)  // 3400.5 s per processor × 64
        #expect(first.memoryUsedPeak == Int64(64 * 1024 * 1024))
        #expect(first.partition == "batch")
        #expect(first.qos == "long")
        #expect(first.user == "3")
        #expect(first.state == .completed)
        #expect(first.naturalKey == "archive/swf/test/1")
        // Cancelled before it ran: counted, no usage, requested processors kept.
        let cancelled = try #require(result.record("2"))
        #expect(cancelled.start == nil)
        #expect(cancelled.wallSeconds == 0)
        #expect(cancelled.cores == 8)
        #expect(cancelled.state == .cancelled)
        // Unknown allocation falls back to the request.
        #expect(result.record("5")?.cores == 16)
        #expect(result.record("3")?.state == .failed)
    }

    @Test func startEpochIsRequiredWithoutHeader() async throws {
        let line = "1 0 0 10 1 -1 -1 1 -1 -1 1 1 1 -1 -1 -1 -1 -1\n"
        let path = try temporaryFile(Array(line.utf8), suffix: ".swf")
        await #expect(throws: UnusableInput.self) { _ = try await collectSWF(path: path) }
        let given = try await collectSWF(path: path, options: .init(startEpoch: 1_000_000))
        #expect(given.records.first?.start == 1_000_000)
    }

    @Test func gzipInputAndConcatenatedMembers() async throws {
        let member = try gzipped(Self.trace)
        let path = try temporaryFile(member + member, suffix: ".swf.gz")
        let result = try await collectSWF(path: path)
        // The second member repeats the same jobs: read in full, keyed identically.
        #expect(result.records.count == 8)
        #expect(Set(result.records.map(\.naturalKey)).count == 4)
        #expect(result.records.first?.cluster == URL(fileURLWithPath: path).lastPathComponent
            .replacingOccurrences(of: ".swf.gz", with: ""))
    }

    @Test func truncatedGzipKeepsWhatCameBeforeAndFails() async throws {
        var text = "; UnixStartTime: 1000\n"
        for job in 1...20_000 { text += "\(job) \(job * 10) 0 100 2 -1 -1 2 -1 -1 1 1 1 -1 1 1 -1 -1\n" }
        let whole = try gzipped(text)
        let path = try temporaryFile(Array(whole.prefix(whole.count / 2)), suffix: ".gz")
        var collector = SWFCollector(file: path, options: .init())
        var kept = 0
        await #expect(throws: InputError.self) {
            try await CollectorDriver.run(path: path, collector: &collector) { kept += $0.records.count }
        }
        #expect(kept > 1000)
        #expect(kept < 20_000)
    }
}

/// Real traces: job counts and core-seconds against a computation done here, from the text that
/// `gzip -dc` gives, with the same rules stated plainly (procs = allocated, else requested;
/// core-seconds = procs × run time where run time is known).
@Suite struct SWFTraceTests {
    static func independentTotals(_ path: String) throws -> (jobs: Int, coreSeconds: Int64, malformed: Int) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-dc", path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        var jobs = 0, malformed = 0
        var core: Int64 = 0
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            if line.hasPrefix(";") || line.allSatisfy({ $0 == " " }) { continue }
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).prefix(18).compactMap { Double($0) }
            guard fields.count == 18, fields.allSatisfy({ $0 >= 0 || $0 == -1 }) else { malformed += 1; continue }
            jobs += 1
            let procs = fields[4] >= 0 ? fields[4] : (fields[7] >= 0 ? fields[7] : 0)
            if fields[3] >= 0 { core += Int64(procs) * Int64(fields[3].rounded()) }
        }
        return (jobs, core, malformed)
    }

    @Test(arguments: ["LLNL-Atlas-2006-2.1-cln.swf.gz", "NASA-iPSC-1993-3.1-cln.swf.gz", "wagap-2013.swf.gz",
                      "KTH-SP2-1996-2.1-cln.swf.gz"])
    func traceTotals(name: String) async throws {
        let path = Fixtures.shared.appendingPathComponent("data/traces/\(name)").path
        let expected = try Self.independentTotals(path)
        let result = try await collectSWF(path: path)
        #expect(result.records.count == expected.jobs)
        #expect(result.rejections.count == expected.malformed)
        let core = result.records.reduce(Int64(0)) { $0 + Int64($1.cores) * $1.wallSeconds }
        #expect(core == expected.coreSeconds)
    }
}
