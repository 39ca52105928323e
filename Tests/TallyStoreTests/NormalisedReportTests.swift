import Foundation
import Testing
import TallyApp
import TallyCollectors
import TallyConfig
@testable import TallyCore
@testable import TallyStore

/// Configuration applied to stored records: hand-computed figures, aliases that merge rows in
/// reports only, rebuilds when the configuration changes.
@Suite struct NormalisedReportTests {
    static let header = "JobID|JobIDRaw|User|Group|Account|Partition|Cluster|NodeList|Submit|Start|End|ElapsedRaw|AllocTRES|State"

    static func line(_ id: Int, user: String = "alice", group: String = "chem", account: String = "proj",
                     partition: String = "standard", cluster: String = "c1", nodes: String = "c001", start: String, end: String, elapsed: Int64,
                     tres: String = "cpu=1,mem=1G,node=1") -> String {
        "\(id)|\(id)|\(user)|\(group)|\(account)|\(partition)|\(cluster)|\(nodes)|2024-06-30T00:00:00|\(start)|\(end)|\(elapsed)|\(tres)|COMPLETED"
    }

    static func apply(_ text: String, to store: any UsageStore) async throws -> RebuildStats? {
        try await store.apply(try ConfigLoader.parse(text).configuration, text: text)
    }

    @Test(arguments: Backend.all) func aliasMergesGroupsInReportsWhileRecordsKeepTheirNames(backend: Backend) async throws {
        let temporary = try await TemporaryStore(backend)
        let file = try temporary.write("jobs.txt", [
            Self.header,
            Self.line(1, group: "chem", start: "2024-07-02T10:00:00", end: "2024-07-02T11:00:00", elapsed: 3600),
            Self.line(2, group: "chem_old", start: "2024-07-02T10:00:00", end: "2024-07-02T12:00:00", elapsed: 7200),
        ].joined(separator: "\n") + "\n")
        try await temporary.ingest(file)
        let query = ReportQuery(period: .total, groupBy: [.group])
        #expect(try await temporary.store.report(query).rows.map(\.keys) == [["chem"], ["chem_old"]])

        let aliased = "[[alias]]\nkind = \"group\"\nfrom = \"chem_old\"\nto = \"chem\"\n"
        #expect(try await Self.apply(aliased, to: temporary.store)?.records == 2)
        let merged = try await temporary.store.report(query)
        #expect(merged.rows.map(\.keys) == [["chem"]])
        #expect(merged.rows.first?.amounts.coreSeconds == Int64(3 * 3600))
        #expect(merged.rows.first?.amounts.jobs == 2)
        // A filter names the merged group; raw slivers (a window cutting a day) agree with rollups.
        let cut = try await temporary.store.report(ReportQuery(
            window: utc("2024-07-02T10:30")..<utc("2024-07-02T11:30"), period: .total, groupBy: [.group],
            filters: [.group: ["chem"]]))
        #expect(cut.rows.map(\.keys) == [["chem"]])
        #expect(cut.rows.first?.amounts.coreSeconds == Int64(3600 + 1800))
        // Raw records still say what the scheduler said.
        #expect(Set(try await temporary.store.jobs(JobQuery()).compactMap(\.group)) == ["chem", "chem_old"])

        // Applying the same configuration again rebuilds nothing; removing the alias restores both rows.
        #expect(try await Self.apply(aliased, to: temporary.store) == nil)
        #expect(try await Self.apply("", to: temporary.store) != nil)
        #expect(try await temporary.store.report(query).rows.map(\.keys) == [["chem"], ["chem_old"]])
    }

    /// Plans are shared by jobs whose rule-relevant names agree; the site is part of what a
    /// plan's keys carry, so jobs of two sites under the same names must not share one.
    @Test(arguments: Backend.all) func sameNamesAtTwoSitesKeepTheirSitesInConfiguredReports(backend: Backend) async throws {
        let temporary = try await TemporaryStore(backend)
        for (site, id) in [("north", 1), ("south", 2)] {
            let file = try temporary.write("\(site).txt", [
                Self.header,
                Self.line(id, start: "2024-07-02T10:00:00", end: "2024-07-02T11:00:00", elapsed: 3600 * Int64(id)),
            ].joined(separator: "\n") + "\n")
            try await temporary.ingest(file, options: .init(site: site, timeZone: TimeZone(identifier: "UTC")!))
        }
        _ = try await Self.apply("[[alias]]\nkind = \"account\"\nfrom = \"proj\"\nto = \"project\"\n",
                                 to: temporary.store)
        let report = try await temporary.store.report(ReportQuery(period: .total, groupBy: [.site, .account]))
        #expect(report.rows.map(\.keys) == [["north", "project"], ["south", "project"]])
        #expect(report.rows.map(\.amounts.coreSeconds) == [3600, 7200])
    }

    @Test(arguments: Backend.all) func benchmarkChangeIsSplitAtItsInstantInEveryReportPath(backend: Backend) async throws {
        let temporary = try await TemporaryStore(backend)
        // 4 cores from 10:00 to 14:00 UTC; the new score applies from 12:00.
        let file = try temporary.write("jobs.txt", [
            Self.header,
            Self.line(1, start: "2024-07-01T10:00:00", end: "2024-07-01T14:00:00", elapsed: 4 * 3600, tres: "cpu=4,mem=4G,node=1"),
        ].joined(separator: "\n") + "\n")
        try await temporary.ingest(file)
        _ = try await Self.apply("""
            [[benchmark]]
            score = 10
            valid_until = 2024-07-01T12:00:00Z
            [[benchmark]]
            score = 14.5
            valid_from = 2024-07-01T12:00:00Z
            """, to: temporary.store)
        // Whole day (from rollups): 4 × (2 × 10 + 2 × 14.5) = 196 HS23-hours.
        let day = try await temporary.store.report(ReportQuery(window: utc("2024-07-01")..<utc("2024-07-02"), period: .total))
        #expect(day.total.benchmarkMilli == 196 * 1000 * 3600)
        #expect(day.metrics.contains(.benchmarkHours))
        // Hours cutting the day (raw slivers): 11:00–13:00 is 4 × (10 + 14.5) = 98.
        let cut = try await temporary.store.report(ReportQuery(window: utc("2024-07-01T11:00")..<utc("2024-07-01T13:00"), period: .total))
        #expect(cut.total.benchmarkMilli == 98 * 1000 * 3600)
        // In a zone where the instant is mid-day too (New York, 08:00 local): same split.
        let newYork = TimeZone(identifier: "America/New_York")!
        let local = try await temporary.store.report(ReportQuery(period: .day, timeZone: newYork))
        #expect(local.total.benchmarkMilli == 196 * 1000 * 3600)
        #expect(day.table(unit: .hours).columns.contains("hs23_hours"))
    }

    @Test(arguments: Backend.all) func gpuPartitionJobChargesFortyTwoServiceUnits(backend: Backend) async throws {
        let temporary = try await TemporaryStore(backend)
        let file = try temporary.write("jobs.txt", [
            Self.header,
            Self.line(1, partition: "gpu", cluster: "rivanna", nodes: "udc-an[07-08]", start: "2024-07-02T09:00:00", end: "2024-07-02T12:00:00",
                      elapsed: 3 * 3600, tres: "cpu=10,mem=40G,node=1,gres/gpu:a100=2,gres/gpu=2"),
            Self.line(2, partition: "dev", cluster: "rivanna", start: "2024-07-02T09:00:00", end: "2024-07-02T12:00:00", elapsed: 3 * 3600,
                      tres: "cpu=8,mem=8G,node=1"),
        ].joined(separator: "\n") + "\n")
        try await temporary.ingest(file)
        _ = try await Self.apply(try String(contentsOfFile: Fixtures.example("tally.toml"), encoding: .utf8)
            .replacingOccurrences(of: "gpu_class_hour = { A100 = 3.0 }\n", with: ""), to: temporary.store)
        let report = try await temporary.store.report(ReportQuery(period: .total, groupBy: [.partition, .gpuClass]))
        let gpu = try #require(report.rows.first { $0.keys == ["gpu", "A100"] })
        #expect(gpu.amounts.chargeMilli == 42 * 1000 * 3600)
        // The A100 nodes' CPUs score 17 (host rule): 10 cores × 3 h × 17.
        #expect(gpu.amounts.benchmarkMilli == 510 * 1000 * 3600)
        #expect(gpu.amounts.gpuWeightedMilli == 2 * 3 * 4000 * 3600)
        let dev = try #require(report.rows.first { $0.keys == ["dev", ""] })
        #expect(dev.amounts.chargeMilli == 0)
        #expect(dev.amounts.coreSeconds == 8 * 3 * 3600)
        // Size and wall-time buckets, sorted by size rather than by name.
        let buckets = try await temporary.store.report(ReportQuery(period: .total, groupBy: [.jobSize, .wallBucket]))
        #expect(buckets.rows.map(\.keys) == [["5-8", "1-5h"], ["9-16", "1-5h"]])
        #expect(buckets.rows.map(\.amounts.jobCores) == [8, 10])
        // Utilisation against the configured gpu partition over the whole day.
        let utilisation = try await temporary.store.report(ReportQuery(
            window: utc("2024-07-02")..<utc("2024-07-03"), period: .total, groupBy: [.partition], filters: [.partition: ["gpu"]]))
        let row = try #require(utilisation.rows.first)
        #expect(row.capacity?.coreSeconds == Int64(1280 * 86_400))
        #expect(row.capacity?.gpuSeconds == Int64(104 * 86_400))
        #expect(Metric.gpuUtilisation.value(row.amounts, unit: .hours, capacity: row.capacity) == 6.0 / (104 * 24) * 100)
    }
}

@Suite struct ConfigurationConsistencyTests {
    @Test(arguments: Backend.all) func aWriterWithAStaleConfigurationRefusesToWriteSummaries(backend: Backend) async throws {
        let temporary = try await TemporaryStore(backend)
        // A second process (another store on the same file) applies another configuration.
        let other = try await temporary.openAgain()
        _ = try await NormalisedReportTests.apply("[[charge_rate]]\ncore_hour = 1\n", to: other)
        let file = try temporary.write("jobs.txt", [
            NormalisedReportTests.header,
            NormalisedReportTests.line(1, start: "2024-07-02T10:00:00", end: "2024-07-02T11:00:00", elapsed: 3600),
        ].joined(separator: "\n") + "\n")
        if backend == .sqlite {
            // SQLite writes raw facts only (nothing in them depends on the configuration), and
            // the process that applied the new rules reports with them.
            try await temporary.ingest(file)
            #expect(try await other.report(ReportQuery(period: .total)).total.chargeMilli == 1000 * 3600)
            #expect(try await temporary.store.report(ReportQuery(period: .total)).total.chargeMilli == 0)
            return
        }
        await #expect(throws: StoreError.self) { try await temporary.ingest(file) }
        #expect(try await temporary.store.status().records == 0)
        // Applying the same configuration makes writing possible again, with its rules.
        _ = try await NormalisedReportTests.apply("[[charge_rate]]\ncore_hour = 1\n", to: temporary.store)
        try await temporary.ingest(file)
        #expect(try await temporary.store.report(ReportQuery(period: .total)).total.chargeMilli == 1000 * 3600)
    }
}
