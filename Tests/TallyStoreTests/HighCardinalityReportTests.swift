import Foundation
import GRDB
import Testing
import TallyApp
import TallyCollectors
import TallyConfig
@testable import TallyCore
@testable import TallyStore

/// Issue 17: on data where any user runs under any account, submit times are out of order and
/// jobs span days, every report equals a brute-force computation over the raw records, on each
/// backend and, on SQLite, from fact blocks and from rollups alike. The data reaches the store
/// as a real site's would: running jobs first, their final lines later, and the same file twice.
@Suite struct HighCardinalityReportTests {
    struct Dataset {
        let temporary: TemporaryStore
        let records: [UsageRecord]
    }

    /// The sacct field positions this test rewrites.
    private static let endField = 12, elapsedField = 13, elapsedRawField = 14, stateField = 25

    static func makeDataset(_ backend: Backend) async throws -> Dataset {
        let temporary = try await TemporaryStore(backend)
        var generator = SacctGenerator(seed: 17, start: utc("2024-01-01"), days: 45, users: 40, accounts: 15,
                                       expectedJobs: 3000, shape: .highCardinality)
        var bytes = Array((generator.header + "\n").utf8)
        for _ in 0..<3000 { generator.appendJob(to: &bytes) }
        let final = String(decoding: bytes, as: UTF8.self)
        // An earlier capture: one job in five still running, half way through its wall time.
        var earlier: [String] = []
        for (index, line) in final.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var fields = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            if index > 0, fields.count > stateField, !fields[0].contains("."), fields[stateField] == "COMPLETED",
               index % 5 == 0, let wall = Int64(fields[elapsedRawField]) {
                let half = wall / 2
                fields[endField] = "Unknown"
                fields[elapsedRawField] = "\(half)"
                fields[elapsedField] = String(format: "%02d:%02d:%02d", half / 3600, half / 60 % 60, half % 60)
                fields[stateField] = "RUNNING"
            }
            earlier.append(fields.joined(separator: "|"))
        }
        let earlierPath = try temporary.write("earlier.txt", earlier.joined(separator: "\n"))
        let finalPath = try temporary.write("final.txt", final)
        try await temporary.ingest(earlierPath, batchSize: 211)
        try await temporary.ingest(finalPath, batchSize: 257)
        // The same file again changes nothing.
        let again = try await temporary.ingest(finalPath, batchSize: 1000)
        #expect(again.totals.inserted == 0 && again.totals.updated == 0 && again.totals.unchanged > 2900)
        var collector = SacctCollector(file: finalPath, options: .init(timeZone: utcZone))
        var records: [UsageRecord] = []
        try await CollectorDriver.run(path: finalPath, collector: &collector) { records += $0.records }
        return Dataset(temporary: temporary, records: records)
    }

    /// Reproducible random report cases: periods, zones, windows, groupings and filters.
    static func randomCases(count: Int, seed: UInt64) -> [ReportPropertyTests.Case] {
        var state = seed | 1
        func next(_ bound: Int) -> Int {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Int(state % UInt64(bound))
        }
        let periods: [PeriodKind] = [.day, .week, .month, .quarter, .year, .total]
        let zones = ["UTC", "America/New_York", "Asia/Kolkata", "Australia/Adelaide", "Europe/Berlin", "Pacific/Chatham"]
        let dimensions: [ReportDimension] = [.account, .user, .partition, .qos, .state, .gpuModel, .group, .jobSize,
                                             .wallBucket]
        var cases: [ReportPropertyTests.Case] = []
        for _ in 0..<count {
            var by: [ReportDimension] = [dimensions[next(dimensions.count)]]
            if next(2) == 0 {
                let second = dimensions[next(dimensions.count)]
                if second != by[0] { by.append(second) }
            }
            var from: String?, to: String?
            if next(3) > 0 {
                let first = 1 + next(40)
                from = String(format: "2024-%02d-%02d", 1 + (first - 1) / 28, 1 + (first - 1) % 28)
                if next(2) == 0 { from! += String(format: "T%02d:%02d", next(24), next(60)) }
                let last = first + next(30)
                to = String(format: "2024-%02d-%02d", 1 + (last - 1) / 28, 1 + (last - 1) % 28)
            }
            var filters: [ReportDimension: Set<String>] = [:]
            switch next(4) {
            case 0: filters[.partition] = ["gpu", "short"]
            case 1: filters[.account] = ["acct\(next(15))", "acct\(next(15))"]
            case 2: filters[.state] = ["COMPLETED"]
            default: break
            }
            cases.append(ReportPropertyTests.Case(zone: zones[next(zones.count)], period: periods[next(periods.count)],
                                                  by: by, from: from, to: to, filters: filters))
        }
        return cases
    }

    static func check(_ store: any UsageStore, _ records: [UsageRecord], _ testCase: ReportPropertyTests.Case,
                      label: String) async throws {
        let zone = TimeZone(identifier: testCase.zone)!
        let calendar = PeriodCalendar(timeZone: zone)
        let window = testCase.from.map { from in calendar.parse(from)!..<calendar.parseEnd(testCase.to!)! }
        let report = try await store.report(ReportQuery(
            window: window, period: testCase.period, groupBy: testCase.by, filters: testCase.filters, timeZone: zone))
        let periods = calendar.periods(testCase.period, covering: report.window)
        let expected = bruteForce(records, periods: periods, by: testCase.by, filters: testCase.filters)
        var actual: [String: UsageAmounts] = [:]
        for row in report.rows {
            actual["\(row.period.label)#\(row.keys.joined(separator: "|"))", default: UsageAmounts()] += row.amounts
        }
        #expect(actual == expected, "\(label) \(testCase)")
    }

    /// `ReportPropertyTests.bruteForce`, with job size and wall buckets named from the record.
    static func bruteForce(_ records: [UsageRecord], periods: [Period], by: [ReportDimension],
                           filters: [ReportDimension: Set<String>]) -> [String: UsageAmounts] {
        let buckets = by.contains(.jobSize) || by.contains(.wallBucket)
        guard buckets else { return ReportPropertyTests.bruteForce(records, periods: periods, by: by, filters: filters) }
        // Group the records by their bucket names first, then add each group's brute force.
        var result: [String: UsageAmounts] = [:]
        var groups: [[String]: [UsageRecord]] = [:]
        for record in records {
            let names = by.map { dimension -> String in
                switch dimension {
                case .jobSize: JobBuckets.sizeLabel(JobBuckets.sizeIndex(cores: Int64(record.cores)))
                case .wallBucket: JobBuckets.wallLabel(JobBuckets.wallIndex(seconds: record.wallSeconds))
                default: ""
                }
            }
            groups[names, default: []].append(record)
        }
        let recorded = by.filter { $0 != .jobSize && $0 != .wallBucket }
        for (names, members) in groups {
            for (key, amounts) in ReportPropertyTests.bruteForce(members, periods: periods, by: recorded, filters: filters) {
                let parts = key.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)
                var values = parts[1].split(separator: "|", omittingEmptySubsequences: false).map(String.init)
                if recorded.isEmpty { values = [] }
                var keys: [String] = []
                var next = 0
                for (index, dimension) in by.enumerated() {
                    if dimension == .jobSize || dimension == .wallBucket {
                        keys.append(names[index])
                    } else {
                        keys.append(values[next])
                        next += 1
                    }
                }
                result["\(parts[0])#\(keys.joined(separator: "|"))", default: UsageAmounts()] += amounts
            }
        }
        return result
    }

    @Test(arguments: Backend.all) func everyReportEqualsBruteForce(backend: Backend) async throws {
        let dataset = try await Self.makeDataset(backend)
        #expect(dataset.records.count > 2900)
        let cases = Self.randomCases(count: 40, seed: 2024)
        for testCase in cases { try await Self.check(dataset.temporary.store, dataset.records, testCase, label: "\(backend)") }
    }

    /// With rules that depend on names, hosts and time (the benchmark's site configuration and a
    /// host rule), SQLite's fact scans and PostgreSQL's rollups, built by separate code at
    /// separate times, give the same rows.
    @Test(.enabled(if: Backend.all.contains(.postgres), "needs the PostgreSQL test server"))
    func configuredFactScansEqualPostgresRollups() async throws {
        let dataset = try await Self.makeDataset(.sqlite)
        let other = try await Self.makeDataset(.postgres)
        let store = dataset.temporary.store
        let configuration = Self.siteConfiguration + """

            [[benchmark]]
            host = "n1*"
            score = 20.0
            """
        for target in [store, other.temporary.store] {
            _ = try await target.apply(try ConfigLoader.parse(configuration).configuration, text: configuration)
        }
        let cases = Self.randomCases(count: 12, seed: 99).map { testCase -> ReportPropertyTests.Case in
            var copy = testCase
            copy.by = [[.gpuClass], [.organisation, .account], [.account], [.user, .gpuClass]][abs(testCase.by.count + testCase.zone.count) % 4]
            return copy
        }
        for testCase in cases {
            let zone = TimeZone(identifier: testCase.zone)!
            let calendar = PeriodCalendar(timeZone: zone)
            let window = testCase.from.map { from in calendar.parse(from)!..<calendar.parseEnd(testCase.to!)! }
            let query = ReportQuery(window: window, period: testCase.period, groupBy: testCase.by,
                                    filters: testCase.filters, timeZone: zone)
            let facts = try await store.report(query)
            let rollups = try await other.temporary.store.report(query)
            #expect(facts.rows == rollups.rows, "\(testCase)")
            #expect(facts.total.chargeMilli > 0 || facts.rows.isEmpty, "\(testCase)")
        }
    }

    /// A file from before fact blocks gets them filled from `job` when it is opened, and answers
    /// as before.
    @Test func openingAnOlderFileFillsTheFactBlocks() async throws {
        let dataset = try await Self.makeDataset(.sqlite)
        let store = try #require(dataset.temporary.store as? SQLiteStore)
        let query = ReportQuery(period: .week, groupBy: [.user, .partition], timeZone: TimeZone(identifier: "Europe/Berlin")!)
        let before = try await store.report(query)
        let queue = try DatabaseQueue(path: dataset.temporary.path)
        let blocks = try await queue.read { try Data.fetchAll($0, sql: "SELECT data FROM fact_block ORDER BY block") }
        try await queue.write { db in
            try db.execute(sql: "DROP TABLE fact_block; DELETE FROM grdb_migrations WHERE identifier LIKE 'v12:%'")
        }
        try queue.close()
        let reopened = try SQLiteStore(path: dataset.temporary.path)
        #expect(try await reopened.report(query).rows == before.rows)
        let refilled = try DatabaseQueue(path: dataset.temporary.path)
        #expect(try await refilled.read { try Data.fetchAll($0, sql: "SELECT data FROM fact_block ORDER BY block") } == blocks)
    }

    static let siteConfiguration = """
        [[benchmark]]
        score = 10.0
        valid_until = 2024-01-20
        [[benchmark]]
        score = 14.5
        valid_from = 2024-01-20
        [[gpu_class]]
        models = ["a100*"]
        class = "A100"
        factor = 4.0
        [[charge_rate]]
        partition = "gpu"
        core_hour = 1.0
        gpu_hour = 2.0
        [[charge_rate]]
        partition = "cpu"
        core_hour = 1.0
        minimum = 0.1
        [[alias]]
        kind = "account"
        from = "acct1"
        to = "acct0"
        [[user]]
        user = "user3"
        organisation = "Physics"
        """
}
