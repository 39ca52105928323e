import Foundation
import Testing
@testable import TallyCollectors
@testable import TallyCore

@Suite struct SacctMalformedInputTests {
    static let header = "JobID|JobIDRaw|JobName|User|Account|Partition|Cluster|Submit|Start|End|ElapsedRaw|AllocTRES|State|ExitCode"
    static func line(_ id: Int, start: String = "2024-03-01T10:00:00", end: String = "2024-03-01T11:00:00",
                     elapsed: String = "3600", name: String = "job") -> String {
        "\(id)|\(id)|\(name)|alice|proj|cpu|c1|2024-03-01T09:00:00|\(start)|\(end)|\(elapsed)|cpu=4,mem=1G,node=1|COMPLETED|0:0"
    }

    @Test func badLinesAreRejectedWithFileLineAndFieldAndGoodOnesKept() async throws {
        var bytes = Array((Self.header + "\r\n").utf8)
        bytes += Array((Self.line(1) + "\r\n").utf8)                                      // line 2: good
        bytes += Array("2|2|short|alice\r\n".utf8)                                         // line 3: too few fields
        bytes += Array((Self.line(3, start: "2024-03-01T1O:00:00") + "\r\n").utf8)        // line 4: bad time
        bytes += Array((Self.line(4, start: "2024-03-01T12:00:00") + "\r\n").utf8)        // line 5: end < start
        bytes += [0xff, 0xfe, 0x00, 0x7c, 0x80, 0x0d, 0x0a]                                // line 6: garbage bytes
        bytes += Array((Self.line(5, elapsed: "many") + "\r\n").utf8)                     // line 7: bad integer
        bytes += Array((Self.line(6) + "\r\n").utf8)                                      // line 8: good
        let result = try await collectSacct(bytes: bytes)
        #expect(result.records.map(\.jobID) == ["1", "6"])
        #expect(result.records.first?.end == utc("2024-03-01T11:00:00"))  // CR stripped
        #expect(result.records.first?.exitCode == 0)
        let lines = result.rejections.map(\.position.line).sorted()
        #expect(lines == [3, 4, 5, 6, 7])
        let byLine = Dictionary(uniqueKeysWithValues: result.rejections.map { ($0.position.line, $0) })
        #expect(byLine[3]?.reason == "too few fields: 4 of 14")
        #expect(byLine[4]?.field == "Start")
        #expect(byLine[4]?.reason.contains("not a timestamp") == true)
        #expect(byLine[5]?.field == "End")
        #expect(byLine[7]?.field == "ElapsedRaw")
        #expect(result.rejections.allSatisfy { $0.position.file.hasSuffix(".txt") })
        #expect(result.linesRead == 8)
        #expect(byLine[4]?.description.contains(":4: field Start: not a timestamp") == true)
    }

    @Test func emptyFileYieldsNothingAndNoError() async throws {
        let result = try await collectSacct(text: "")
        #expect(result.records.isEmpty)
        #expect(result.rejections.isEmpty)
        #expect(result.linesRead == 0)
    }

    @Test func headerOnlyAndBlankLines() async throws {
        let result = try await collectSacct(text: Self.header + "\n\n   \n")
        #expect(result.records.isEmpty)
        #expect(result.skipped[.blank] == 2)
    }

    @Test func noHeaderAndNoFieldsIsUnusable() async throws {
        await #expect(throws: UnusableInput.self) {
            _ = try await collectSacct(text: Self.line(1) + "\n")
        }
        var fields = SacctCollector.Options(timeZone: TimeZone(identifier: "UTC")!)
        fields.fields = Self.header.split(separator: "|").map(String.init)
        let result = try await collectSacct(text: Self.line(1) + "\n", options: fields)
        #expect(result.records.count == 1)
    }

    @Test func fieldListWithoutJobIDIsUnusable() async throws {
        await #expect(throws: UnusableInput.self) {
            _ = try await collectSacct(text: "User|Account\nalice|proj\n")
        }
    }

    @Test func recordBrokenAcrossLinesIsRejoined() async throws {
        let text = Self.header + "\n" + Self.line(1, name: "first\nsecond") + "\n" + Self.line(2) + "\n"
        let result = try await collectSacct(text: text)
        #expect(result.rejections.isEmpty)
        #expect(result.records.map(\.jobID) == ["1", "2"])
        #expect(result.records.first?.name == "first\nsecond")
        #expect(result.records.first?.origin.line == 2)
    }

    @Test func truncatedLastLineIsRejected() async throws {
        let text = Self.header + "\n" + Self.line(1) + "\n" + String(Self.line(2).prefix(40))
        let result = try await collectSacct(text: text)
        #expect(result.records.map(\.jobID) == ["1"])
        #expect(result.rejections.map(\.position.line) == [3])
    }

    @Test func duplicateHeadersFromConcatenatedOutputAreSkipped() async throws {
        let text = [Self.header, Self.line(1), Self.header, Self.line(2)].joined(separator: "\n")
        let result = try await collectSacct(text: text)
        #expect(result.records.count == 2)
        #expect(result.skipped[.header] == 2)
    }

    @Test func runningJobThenItsFinalLine() async throws {
        let running = Self.line(7, end: "Unknown", elapsed: "1800").replacingOccurrences(of: "COMPLETED", with: "RUNNING")
        let result = try await collectSacct(text: Self.header + "\n" + running + "\n")
        let record = try #require(result.records.first)
        #expect(record.state == .running)
        #expect(record.end == nil)
        #expect(record.usage.usageInterval == utc("2024-03-01T10:00:00")..<utc("2024-03-01T10:30:00"))
    }
}

/// formats-and-policies §1.6, the reference's own worked example (27 fields, no header).
@Suite struct SacctReferenceExampleTests {
    static let fields = "JobID,JobIDRaw,JobName,User,Group,Account,Partition,QOS,Cluster,Submit,Eligible,Start,End,Elapsed,ElapsedRaw,CPUTimeRAW,TotalCPU,NCPUS,NNodes,NodeList,AllocTRES,ReqTRES,TRESUsageInTot,MaxRSS,ReqMem,State,ExitCode"
    static let text = """
        4242|4242|train|alice|physics|proj1|gpu|normal|mycluster|2024-03-01T09:59:00|2024-03-01T09:59:00|2024-03-01T10:00:00|2024-03-01T12:30:00|02:30:00|9000|72000|17:02:12|8|1|gpu01|billing=12,cpu=8,gres/gpu:a100=2,gres/gpu=2,mem=32G,node=1|billing=12,cpu=8,gres/gpu=2,mem=32G,node=1|||32G|COMPLETED|0:0
        4242.batch|4242.batch|batch|||proj1|||mycluster|2024-03-01T10:00:00|2024-03-01T10:00:00|2024-03-01T10:00:00|2024-03-01T12:30:00|02:30:00|9000|72000|00:01.500|8|1|gpu01|cpu=8,gres/gpu:a100=2,gres/gpu=2,mem=32G,node=1||cpu=00:00:01,energy=0,fs/disk=2M,mem=12M,pages=0,vmem=250M|12M||COMPLETED|0:0
        4242.extern|4242.extern|extern|||proj1|||mycluster|2024-03-01T10:00:00|2024-03-01T10:00:00|2024-03-01T10:00:00|2024-03-01T12:30:00|02:30:00|9000|72000|00:00.002|8|1|gpu01|cpu=8,gres/gpu:a100=2,gres/gpu=2,mem=32G,node=1||cpu=00:00:00,energy=0,fs/disk=0,mem=0,pages=0,vmem=0|0||COMPLETED|0:0
        4242.0|4242.0|python|||proj1|||mycluster|2024-03-01T10:00:05|2024-03-01T10:00:05|2024-03-01T10:00:05|2024-03-01T12:29:50|02:29:45|8985|71880|17:02:11|8|1|gpu01|cpu=8,gres/gpu:a100=2,gres/gpu=2,mem=32G,node=1||cpu=17:02:11,energy=0,fs/disk=5000M,mem=1520M,pages=0,vmem=2G|1520M||COMPLETED|0:0
        5000_7|5007|sweep|bob|bio|proj2|cpu|normal|mycluster|2024-03-01T08:00:00|2024-03-01T08:00:00|2024-03-01T08:10:00|2024-03-01T08:40:00|00:30:00|1800|1800|00:29:41|1|1|cpu12|billing=1,cpu=1,mem=4000M,node=1|billing=1,cpu=1,mem=4000M,node=1|||4000M|COMPLETED|0:0
        5000_[8-20]|5000|sweep|bob|bio|proj2|cpu|normal|mycluster|2024-03-01T08:00:00|2024-03-01T08:00:00|Unknown|Unknown|00:00:00|0|0|00:00:00|0|1|None assigned||billing=1,cpu=1,mem=4000M,node=1|||4000M|PENDING|0:0
        6001|6001|sim|carol|chem|proj3|cpu|long|mycluster|2024-03-01T07:00:00|2024-03-01T07:00:00|2024-03-01T07:05:00|2024-03-01T09:05:00|02:00:00|7200|230400|2-10:12:01|32|1|cpu03|billing=32,cpu=32,mem=120G,node=1|billing=32,cpu=32,mem=120G,node=1|||120G|CANCELLED by 1001|0:15

        """

    @Test func workedExampleFigures() async throws {
        var options = SacctCollector.Options(timeZone: TimeZone(identifier: "UTC")!)
        options.fields = Self.fields.split(separator: ",").map(String.init)
        let result = try await collectSacct(text: Self.text, options: options)
        #expect(result.rejections.isEmpty)
        #expect(result.records.map(\.jobID) == ["4242", "5000_7", "6001"])
        #expect(result.skipped[.stepFolded] == 3)
        #expect(result.skipped[.pendingArrayRemainder] == 1)
        let train = try #require(result.record("4242"))
        // 12 billing × 9,000 s = 30 SU; GPU hours = 2 × 2.5 = 5; 4 rows but one job's wall.
        #expect((train.billing ?? 0) * train.wallSeconds == 30 * 3600)
        #expect(train.gpus * Int(train.wallSeconds) == 5 * 3600)
        #expect(train.gpuModel == "a100")
        #expect(train.cpuSeconds == 61_332)
        #expect(Int64(train.cores) * train.wallSeconds == 72_000)
        #expect(train.memoryUsedPeak == 1520 << 20)  // the largest step MaxRSS, not a sum
        #expect(train.memoryAllocated == 32 << 30)
        let sweep = try #require(result.record("5000_7"))
        #expect(sweep.localJobID == "5007")
        let sim = try #require(result.record("6001"))
        #expect(sim.state == .cancelled)
        #expect(sim.exitSignal == 15)
        #expect(sim.memoryRequested == 120 << 30)
    }
}
