import Foundation
import Testing
@testable import TallyCore

@Suite struct RecordModelTests {
    func make(start: Int64?, end: Int64?, wall: Int64 = 0, cores: Int = 1) throws(RecordError) -> UsageRecord {
        try UsageRecord(site: "s", cluster: "c", source: .slurm, jobID: "1", localJobID: "1", naturalKey: "k",
                        user: "u", group: nil, account: "a", partition: nil, qos: nil, submit: start,
                        start: start, end: end, wallSeconds: wall, cores: cores, state: .completed,
                        origin: SourcePosition(file: "f", line: 1))
    }

    @Test func invalidRecordsCannotExist() throws {
        #expect(throws: RecordError.endBeforeStart(start: 10, end: 5)) { try make(start: 10, end: 5) }
        #expect(throws: RecordError.negative("cores")) { try make(start: 0, end: 5, cores: -1) }
        #expect(throws: RecordError.usageWithoutStart) { try make(start: nil, end: 5, wall: 5) }
        #expect(throws: RecordError.implausible("cores", 20_000_000)) { try make(start: 0, end: 5, cores: 20_000_000) }
        let record = try make(start: 0, end: 5, wall: 5)
        #expect(record.usage.usageInterval == 0..<5)
    }

    @Test func slurmStateNames() {
        #expect(JobState(slurmName: "CANCELLED by 1003") == .cancelled)
        #expect(JobState(slurmName: "OUT_OF_MEMORY") == .outOfMemory)
        #expect(JobState(slurmName: "CD") == .completed)
        #expect(JobState(slurmName: "FOO") == .unknown)
        #expect(JobState.running.finality < JobState.completed.finality)
        #expect(JobState.pending.finality < JobState.running.finality)
    }

    @Test func dimensionNames() {
        #expect(ReportDimension(argument: "gpu_model") == .gpuModel)
        #expect(ReportDimension(argument: "VO") == .account)
        #expect(ReportDimension(argument: "nonsense") == nil)
    }
}

@Suite struct OutputTests {
    let table = Table(columns: ["name", "hours"],
                      rows: [[.text("a,b \"quoted\""), .decimal(1.5, places: 2)], [.text("plain\n"), .empty]],
                      numericColumns: [1])

    @Test func csvQuotesWhatNeedsIt() {
        #expect(table.renderCSV() == "name,hours\n\"a,b \"\"quoted\"\"\",1.50\n\"plain\n\",\n")
    }

    /// The byte-level CSV writer prints every cell as `csvField(plain)` does.
    @Test func csvBytesEqualEachCellsPlainText() {
        var state: UInt64 = 12345
        func next() -> UInt64 { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state }
        var rows: [[Table.Cell]] = []
        for _ in 0..<2000 {
            let integer = Int64(bitPattern: next()) >> Int64(next() % 63)
            let decimal = Double(Int64(bitPattern: next()) >> Int64(next() % 63)) / Double(1 + next() % 10_000)
            rows.append([.integer(integer), .decimal(decimal, places: Int(next() % 4)), .decimal(-0.0001, places: 2),
                         .decimal(.infinity, places: 1), .text(next() % 2 == 0 ? "x,\"y\"" : "plain"), .empty,
                         .integer(Int64.min), .decimal(1e30, places: 2)])
        }
        let table = Table(columns: ["a", "b,c"], rows: rows)
        var expected = "a,\"b,c\"\n"
        for row in rows { expected += row.map { TableWriter.csvField($0.plain) }.joined(separator: ",") + "\n" }
        #expect(table.render(.csv) == expected)
    }

    @Test func jsonIsAnArrayOfObjects() throws {
        let data = Data(table.renderJSON().utf8)
        let parsed = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        #expect(parsed.count == 2)
        #expect(parsed[0]["name"] as? String == "a,b \"quoted\"")
        #expect(parsed[0]["hours"] as? Double == 1.5)
        #expect(parsed[1]["hours"] is NSNull)
    }

    @Test func fixedPointFormatting() {
        #expect(fixedPoint(1.5, places: 2) == "1.50")
        #expect(fixedPoint(0.005, places: 2) == "0.01")
        #expect(fixedPoint(-2.25, places: 1) == "-2.3")
        #expect(fixedPoint(-0.001, places: 2) == "0.00")
        #expect(fixedPoint(12_345.678, places: 0) == "12346")
        #expect(fixedPoint(0.07, places: 3) == "0.070")
        #expect(fixedPoint(Double.nan, places: 2) == "nan")
    }

    @Test func textTableAlignsNumbersRight() {
        let lines = table.renderText().split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[0].hasPrefix("name"))
        #expect(lines[2].hasSuffix(" 1.50"))
    }
}
