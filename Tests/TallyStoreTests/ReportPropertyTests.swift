import Foundation
import Testing
import TallyApp
import TallyCollectors
@testable import TallyCore
@testable import TallyStore

/// Reports answered from daily rollups plus raw splits must equal a brute-force computation over
/// every record, for any zone, period and window.
@Suite struct ReportPropertyTests {
    struct Case: Sendable, CustomStringConvertible {
        var zone: String
        var period: PeriodKind
        var by: [ReportDimension]
        var from: String?
        var to: String?
        var filters: [ReportDimension: Set<String>] = [:]
        var description: String { "\(zone) \(period) \(by.map(\.rawValue)) \(from ?? "-")..\(to ?? "-")" }
    }

    static let cases: [Case] = [
        Case(zone: "UTC", period: .month, by: [.account], from: nil, to: nil),
        Case(zone: "UTC", period: .day, by: [.user], from: "2024-01-10", to: "2024-01-20"),
        Case(zone: "Asia/Kolkata", period: .week, by: [.user], from: "2024-01-01", to: "2024-02-29"),
        Case(zone: "America/New_York", period: .day, by: [.partition, .gpuModel], from: "2024-01-03T07:30", to: "2024-01-09T13:15"),
        Case(zone: "Europe/Berlin", period: .quarter, by: [.state], from: "2023-12-15", to: "2024-03-31"),
        Case(zone: "UTC", period: .total, by: [.cluster, .qos], from: "2024-01-05T12:00:01", to: "2024-02-01"),
        // Sixty local days: many raw slivers, answered by one sweep over the table.
        Case(zone: "Asia/Kolkata", period: .day, by: [.account], from: nil, to: nil),
        Case(zone: "Pacific/Chatham", period: .week, by: [.gpuModel], from: "2024-01-02T03:04:05", to: "2024-02-20T01:00"),
        Case(zone: "Australia/Adelaide", period: .month, by: [.user], from: "2024-01-01", to: "2024-03-31",
             filters: [.partition: ["gpu"], .state: ["COMPLETED", "TIMEOUT"]]),
    ]

    struct Dataset {
        let temporary: TemporaryStore
        let records: [UsageRecord]
    }

    static func makeDataset(_ backend: Backend) async throws -> Dataset {
        let temporary = try await TemporaryStore(backend)
        var generator = SacctGenerator(seed: 7, start: utc("2024-01-01"), days: 60, users: 12, accounts: 4, expectedJobs: 1500)
        var bytes = Array((generator.header + "\n").utf8)
        for _ in 0..<1500 { generator.appendJob(to: &bytes) }
        let path = try temporary.write("generated.txt", String(decoding: bytes, as: UTF8.self))
        try await temporary.ingest(path, batchSize: 97)
        var collector = SacctCollector(file: path, options: .init(timeZone: utcZone))
        var records: [UsageRecord] = []
        try await CollectorDriver.run(path: path, collector: &collector) { records += $0.records }
        // Array task ids repeat in generated data only when the raw id repeats: keys are unique.
        return Dataset(temporary: temporary, records: records)
    }

    /// Independent arithmetic: overlap of [start, start + wall) with each period, CPU by cumulative floor.
    static func bruteForce(_ records: [UsageRecord], periods: [Period], by: [ReportDimension],
                           filters: [ReportDimension: Set<String>]) -> [String: UsageAmounts] {
        var result: [String: UsageAmounts] = [:]
        for record in records {
            let passes = filters.allSatisfy { dimension, values in
                let normalised = dimension == .state ? Set(values.map { JobState(slurmName: $0).rawValue }) : values
                return normalised.contains(dimension.value(of: record))
            }
            guard passes else { continue }
            let keys = by.map { $0.value(of: record) }.joined(separator: "|")
            var countAt: Int64? = nil
            if record.state != .pending, record.state != .running {  // counted once ended
                countAt = record.end ?? record.start.map { $0 + record.wallSeconds } ?? record.submit
            }
            for period in periods {
                var amounts = UsageAmounts()
                if let countAt, countAt >= period.start, countAt < period.end {
                    amounts.jobs = 1
                    amounts.jobCores = Int64(record.cores)
                    amounts.jobGPUs = Int64(record.gpus)
                    if let start = record.start, let from = record.eligible ?? record.submit, start >= from {
                        amounts.waitSeconds = start - from
                        amounts.startedJobs = 1
                    }
                }
                if let start = record.start, record.wallSeconds > 0 {
                    let end = start + record.wallSeconds
                    let low = max(start, period.start), high = min(end, period.end)
                    if high > low {
                        let seconds = high - low
                        amounts.wallSeconds = seconds
                        amounts.coreSeconds = seconds * Int64(record.cores)
                        amounts.gpuSeconds = seconds * Int64(record.gpus)
                        // Without a configuration every GPU class weighs 1 (thousandths).
                        amounts.gpuWeightedMilli = amounts.gpuSeconds * 1000
                        amounts.memoryMiBSeconds = seconds * ((record.memoryAllocated ?? 0) >> 20)
                        if let cpu = record.cpuSeconds {
                            amounts.cpuSeconds = cpu * (high - start) / record.wallSeconds - cpu * (low - start) / record.wallSeconds
                            amounts.coreSecondsWithCPU = amounts.coreSeconds
                        }
                    }
                }
                if !amounts.isZero { result["\(period.label)#\(keys)", default: UsageAmounts()] += amounts }
            }
        }
        return result
    }

    @Test(arguments: Backend.all) func hybridReportsEqualBruteForce(backend: Backend) async throws {
        let dataset = try await Self.makeDataset(backend)
        #expect(dataset.records.count > 1400)
        for testCase in Self.cases {
            let zone = TimeZone(identifier: testCase.zone)!
            let calendar = PeriodCalendar(timeZone: zone)
            let window = testCase.from.map { from in calendar.parse(from)!..<calendar.parseEnd(testCase.to!)! }
            let report = try await dataset.temporary.store.report(ReportQuery(
                window: window, period: testCase.period, groupBy: testCase.by, filters: testCase.filters, timeZone: zone))
            let periods = calendar.periods(testCase.period, covering: report.window)
            let expected = Self.bruteForce(dataset.records, periods: periods, by: testCase.by, filters: testCase.filters)
            var actual: [String: UsageAmounts] = [:]
            for row in report.rows {
                actual["\(row.period.label)#\(row.keys.joined(separator: "|"))", default: UsageAmounts()] += row.amounts
            }
            #expect(actual.count == expected.count, "\(testCase)")
            for (key, value) in expected {
                #expect(actual[key] == value, "\(testCase): \(key)")
            }
            var sum = UsageAmounts()
            for row in report.rows { sum += row.amounts }
            #expect(sum == report.total)
        }
    }
}
