import Foundation
import Testing
@testable import TallyCollectors
@testable import TallyCore

func collectSGE(path: String) async throws -> Collected {
    try await collect(path: path, SGECollector(file: path, options: .init(cluster: "grid")), batchSize: 7)
}

@Suite struct SGECollectorTests {
    /// formats-and-policies §5.1, plus a slave task, a colon in category, Univa ms and a failure.
    static let accounting = """
        all.q:node01:physics:alice:md_run:5123:sge:0:1709283540:1709287200:1709296200:0:0:9000:33800.120000:120.450000:1556480.000000:0:0:0:0:12345:0:0:0.000000:0:0:0:0:54321:1234:NONE:defaultdepartment:smp:4:0:33920.570000:61234.567890:12.345678:-U physics -l h_vmem=4G -pe smp 4:0.000000:NONE:2147483648.000000:0:0
        all.q:node02:physics:alice:md_run:5123:sge:0:1709283540:1709287200:1709296200:0:0:9000:100.0:1.0:1000.0:0:0:0:0:1:0:0:0.0:0:0:0:0:1:1:NONE:defaultdepartment:mpi:8:0:101.0:1.0:0.1:-pe mpi 8:0.0:1.node02:1000.0:0:0
        gpu.q:node03:bio:bob:train:5124:proj:0:1709283540000:1709287200000:1709290800000:0:0:3600:10.0:1.0:2048.0:0:0:0:0:1:0:0:0.0:0:0:0:0:1:1:NONE:defaultdepartment:NONE:2:3:11.0:1.0:0.1:-l h_rt=3:00:00,gpu=2 -q gpu.q:0.0:NONE:1000.0:0:0
        all.q:node04:bio:bob:retry:5125:sge:0:1709283540:0:0:100:0:0:0.0:0.0:0.0:0:0:0:0:0:0:0:0.0:0:0:0:0:0:0:NONE:defaultdepartment:NONE:1:0:0.0:0.0:0.0:NONE:0.0:NONE:0.0:0:0
        all.q:node04:bio:bob:killed:5126:sge:0:1709283540:1709287200:1709287260:0:137:60:1.0:0.0:10.0:0:0:0:0:0:0:0:0.0:0:0:0:0:0:0:NONE:defaultdepartment:NONE:1:0:1.0:0.0:0.0:NONE:0.0:NONE:0.0:0:0
        all.q:node04:bio:bob:short:5127
        # a comment

        """

    @Test func recordsTasksAndRepairs() async throws {
        let result = try await collectSGE(path: try temporaryFile(Array(Self.accounting.utf8), suffix: ""))
        #expect(result.records.map(\.jobID) == ["5123", "5124.3", "5125", "5126"])
        #expect(result.skipped[.parallelTask] == 1)
        #expect(result.rejections.map(\.position.line) == [6])
        let md = try #require(result.record("5123"))
        #expect(md.cores == 4)
        #expect(md.wallSeconds == 9000)
        #expect(Int64(md.cores) * md.wallSeconds == 36_000)
        #expect(md.cpuSeconds == 33_921)
        #expect(md.memoryUsedPeak == Int64(1_556_480 * 1024))
        #expect(md.partition == "all.q")
        #expect(md.account == nil)  // "sge" is the default, not an account
        let gpu = try #require(result.record("5124.3"))
        #expect(gpu.start == 1_709_287_200)  // Univa milliseconds
        #expect(gpu.wallSeconds == 3600)
        #expect(gpu.gpus == 2)  // from "-l h_rt=3:00:00,gpu=2": the colons stayed in category
        #expect(gpu.account == "proj")
        let retry = try #require(result.record("5125"))
        #expect(retry.start == nil)
        #expect(retry.state == .failed)
        let killed = try #require(result.record("5126"))
        #expect(killed.exitSignal == 9)
        #expect(killed.state == .cancelled)
    }

    /// Every real fixture: jobs and core-seconds against a plain computation here (master records,
    /// ru_wallclock × slots as qacct and APEL charge it; Univa writes ru_wallclock with decimals).
    @Test(arguments: ["apel-test-sge-accounting.log", "garvan-br70-sge-accounting.part1.log",
                      "xdmod-shredder-sge-accounting.log", "xdmod-shredder-uge-accounting.log"])
    func fixtureTotals(name: String) async throws {
        let path = Fixtures.path("sge/\(name)")
        var jobs = 0
        var core: Int64 = 0
        for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") {
            let f = line.split(separator: ":", omittingEmptySubsequences: false)
            guard f.count >= 43 else { continue }
            let taskID = f.count == 45 || f.count == 43 ? f[41] : "NONE"  // longer lines: checked below
            guard taskID == "NONE" else { continue }
            jobs += 1
            func seconds(_ s: Substring) -> Int64 { let v = Int64(s)!; return v > 100_000_000_000 ? v / 1000 : v }
            let start = seconds(f[9]), end = seconds(f[10])
            if start > 0, end > 0 { core += Int64(Double(f[13])!.rounded()) * Int64(f[34])! }
        }
        let result = try await collectSGE(path: path)
        #expect(result.rejections.isEmpty)
        #expect(result.records.count == jobs)
        #expect(result.records.reduce(Int64(0)) { $0 + Int64($1.cores) * $1.wallSeconds } == core)
    }

    /// §5.1's example line, then the same job with its end before its start (clock skew): kept
    /// with the run taken as start + ru_wallclock, and flagged; a ru_wallclock far from
    /// end − start is charged and flagged.
    @Test func wallclockIsChargedAndSkewIsSalvaged() async throws {
        let example = "all.q:node01:physics:alice:md_run:5123:sge:0:1709283540:1709287200:1709296200:0:0:9000:33800.120000:120.450000:1556480.000000:0:0:0:0:12345:0:0:0.000000:0:0:0:0:54321:1234:NONE:defaultdepartment:smp:4:0:33920.570000:61234.567890:12.345678:-U physics -l h_vmem=4G -pe smp 4:0.000000:NONE:2147483648.000000:0:0"
        let skewed = example.replacingOccurrences(of: ":5123:", with: ":5124:")
            .replacingOccurrences(of: ":1709296200:", with: ":1709280000:")
        let short = example.replacingOccurrences(of: ":5123:", with: ":5125:").replacingOccurrences(of: ":9000:", with: ":6000:")
        let path = try temporaryFile(Array([example, skewed, short].joined(separator: "\n").utf8), suffix: ".log")
        let result = try await collectSGE(path: path)
        #expect(result.rejections.isEmpty)
        #expect(result.record("5123")?.wallSeconds == 9000)
        #expect(result.record("5123").map { Int64($0.cores) * $0.wallSeconds } == 36_000)
        let skew = try #require(result.record("5124"))
        #expect(skew.wallSeconds == 9000 && skew.end == 1_709_287_200 + 9000)
        #expect(result.record("5125")?.wallSeconds == 6000)
        #expect(result.flags.map(\.position.line) == [2, 3])
        #expect(result.flags.map(\.field) == ["end_time", "ru_wallclock"])
    }

    @Test func longerLinesAreReadByTheirShape() {
        // Univa's extra fields after #45 versus a ':' inside category.
        var univa = [Substring](repeating: "0", count: 74)
        univa[39] = "-l gpu=1"; univa[41] = "NONE"
        #expect(SGECollector.placeCategory(univa)?[39] == "-l gpu=1")
        var colon = [Substring](repeating: "0", count: 47)
        colon[39] = "-l h_rt=3"; colon[40] = "00"; colon[41] = "00 -q x"; colon[43] = "NONE"
        #expect(SGECollector.placeCategory(colon)?[39] == "-l h_rt=3:00:00 -q x")
    }
}
