import Foundation
@_exported import TallyTestSupport
import TallyCollectors
import TallyCore

struct Collected {
    var records: [UsageRecord] = []
    var rejections: [Rejection] = []
    var skipped: [SkipReason: Int] = [:]
    var linesRead = 0

    func record(_ jobID: String) -> UsageRecord? { records.first { $0.jobID == jobID } }
}

/// Runs a real file through the streaming reader and the sacct collector.
func collectSacct(path: String, options: SacctCollector.Options = .init(timeZone: TimeZone(identifier: "UTC")!),
                  batchSize: Int = 3) async throws -> Collected {
    var collector = SacctCollector(file: path, options: options)
    var result = Collected()
    try await CollectorDriver.run(path: path, collector: &collector, batchSize: batchSize) { batch in
        result.records += batch.records
        result.rejections += batch.rejections
        result.linesRead += batch.linesRead
        for (key, value) in batch.skipped { result.skipped[key, default: 0] += value }
    }
    return result
}

/// Writes `text` to a temporary file and collects it.
func collectSacct(text: String, options: SacctCollector.Options = .init(timeZone: TimeZone(identifier: "UTC")!))
    async throws -> Collected {
    try await collectSacct(bytes: Array(text.utf8), options: options)
}

func collectSacct(bytes: [UInt8], options: SacctCollector.Options = .init(timeZone: TimeZone(identifier: "UTC")!))
    async throws -> Collected {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("tally-\(UUID().uuidString).txt")
    try Data(bytes).write(to: url)
    defer { try? FileManager.default.removeItem(at: url) }
    return try await collectSacct(path: url.path, options: options)
}

let utcOptions = SacctCollector.Options(timeZone: TimeZone(identifier: "UTC")!)

func utc(_ text: String) -> Int64 {
    PeriodCalendar(timeZone: TimeZone(identifier: "UTC")!).parse(text)!
}
