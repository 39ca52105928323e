import Foundation
@_exported import TallyTestSupport
import TallyCollectors
import TallyCore

struct Collected {
    var records: [UsageRecord] = []
    var rejections: [Rejection] = []
    var flags: [Rejection] = []
    var skipped: [SkipReason: Int] = [:]
    var linesRead = 0

    func record(_ jobID: String) -> UsageRecord? { records.first { $0.jobID == jobID } }
}

/// Runs a real file through the streaming reader and a collector, in small batches.
func collect<C: LineCollector>(path: String, _ collector: C, batchSize: Int = 3) async throws -> Collected {
    var collector = collector
    var result = Collected()
    try await CollectorDriver.run(path: path, collector: &collector, batchSize: batchSize) { batch in
        result.records += batch.records
        result.rejections += batch.rejections
        result.flags += batch.flags
        result.linesRead += batch.linesRead
        for (key, value) in batch.skipped { result.skipped[key, default: 0] += value }
    }
    return result
}

func collectSacct(path: String, options: SacctCollector.Options = .init(timeZone: TimeZone(identifier: "UTC")!),
                  batchSize: Int = 3) async throws -> Collected {
    try await collect(path: path, SacctCollector(file: path, options: options), batchSize: batchSize)
}

func temporaryFile(_ bytes: [UInt8], suffix: String) throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("tally-\(UUID().uuidString)\(suffix)")
    try Data(bytes).write(to: url)
    return url.path
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
