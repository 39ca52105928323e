import Foundation
import Testing
import TallyApp
import TallyConfig
@testable import TallyCore
@testable import TallyStore

/// With dated benchmarks, rates and a dated alias, reports from rollups plus raw slivers equal
/// arithmetic done record by record, in any zone and window.
@Suite struct NormalisedPropertyTests {
    static let scoreChange = utc("2024-01-20T13:37")
    static let aliasFrom = utc("2024-02-01")
    static let config = """
        [[benchmark]]
        score = 10
        valid_until = 2024-01-20T13:37:00Z
        [[benchmark]]
        score = 14.5
        valid_from = 2024-01-20T13:37:00Z
        [[charge_rate]]
        partition = "gpu"
        core_hour = 1
        gpu_hour = 2
        [[charge_rate]]
        partition = "cpu"
        core_hour = 0.5
        [[alias]]
        kind = "account"
        from = "acct1"
        to = "acct0"
        valid_from = 2024-02-01
        """

    /// Independent arithmetic: overlaps with the pieces between rule changes, scores and rates by hand.
    static func expected(_ records: [UsageRecord], periods: [Period], filter: String?) -> [String: [Int64]] {
        var result: [String: [Int64]] = [:]
        let cuts = [Int64.min, scoreChange, aliasFrom, Int64.max]
        for record in records {
            func account(at instant: Int64) -> String {
                let name = record.account ?? ""
                return name == "acct1" && instant >= aliasFrom ? "acct0" : name
            }
            let countAt: Int64? = record.state == .pending || record.state == .running ? nil
                : record.end ?? record.start.map { $0 + record.wallSeconds } ?? record.submit
            for period in periods {
                if let countAt, countAt >= period.start, countAt < period.end, filter.map({ $0 == account(at: countAt) }) ?? true {
                    result["\(period.label)#\(account(at: countAt))", default: [0, 0, 0, 0]][0] += 1
                }
                guard let start = record.start, record.wallSeconds > 0 else { continue }
                for index in 0..<(cuts.count - 1) {
                    let low = max(start, period.start, cuts[index])
                    let high = min(start + record.wallSeconds, period.end, cuts[index + 1])
                    guard high > low else { continue }
                    let name = account(at: low)
                    if let filter, filter != name { continue }
                    let coreSeconds = (high - low) * Int64(record.cores)
                    let gpuSeconds = (high - low) * Int64(record.gpus)
                    let score: Int64 = low >= scoreChange ? 14_500 : 10_000
                    let charge: Int64 = switch record.partition {
                    case "gpu": coreSeconds * 1000 + gpuSeconds * 2000
                    case "cpu": coreSeconds * 500
                    default: 0
                    }
                    var cell = result["\(period.label)#\(name)", default: [0, 0, 0, 0]]
                    cell[1] += coreSeconds
                    cell[2] += coreSeconds * score
                    cell[3] += charge
                    result["\(period.label)#\(name)"] = cell
                }
            }
        }
        return result.filter { $0.value != [0, 0, 0, 0] }
    }

    @Test(arguments: Backend.all) func normalisedReportsEqualRecordByRecordArithmetic(backend: Backend) async throws {
        let dataset = try await ReportPropertyTests.makeDataset(backend)
        let store = dataset.temporary.store
        #expect(try await store.apply(try ConfigLoader.parse(Self.config).configuration, text: Self.config) != nil)
        let cases: [(zone: String, period: PeriodKind, from: String?, to: String?, filter: String?)] = [
            ("UTC", .month, nil, nil, nil),
            ("Asia/Kolkata", .day, nil, nil, nil),
            ("America/New_York", .day, "2024-01-18T07:30", "2024-02-03T13:15", nil),
            ("Europe/Berlin", .week, "2024-01-10", "2024-02-20", "acct0"),
            ("UTC", .total, "2024-01-20T13:00", "2024-01-20T14:00", nil),
        ]
        for testCase in cases {
            let zone = TimeZone(identifier: testCase.zone)!
            let calendar = PeriodCalendar(timeZone: zone)
            let window = testCase.from.map { calendar.parse($0)!..<calendar.parseEnd(testCase.to!)! }
            let report = try await store.report(ReportQuery(
                window: window, period: testCase.period, groupBy: [.account],
                filters: testCase.filter.map { [.account: [$0]] } ?? [:], timeZone: zone))
            let expected = Self.expected(dataset.records, periods: calendar.periods(testCase.period, covering: report.window),
                                         filter: testCase.filter)
            var actual: [String: [Int64]] = [:]
            for row in report.rows {
                let amounts = row.amounts
                actual["\(row.period.label)#\(row.keys[0])"] = [amounts.jobs, amounts.coreSeconds, amounts.benchmarkMilli,
                                                                 amounts.chargeMilli]
            }
            #expect(actual.count == expected.count, "\(testCase)")
            for (key, value) in expected {
                #expect(actual[key] == value, "\(testCase): \(key)")
            }
            #expect(!actual.keys.contains { $0.hasSuffix("#acct1") && testCase.from == nil && testCase.period == .total })
        }
    }
}
