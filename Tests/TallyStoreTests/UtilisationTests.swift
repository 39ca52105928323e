import Foundation
import Testing
import TallyConfig
@testable import TallyCore
@testable import TallyStore

/// Utilisation is per cluster capacity: c1 has 10 cores configured, c2 none. A row (or total)
/// whose usage may come from c2 has no utilisation, instead of c2's usage divided by c1's cores.
@Suite struct UtilisationTests {
    @Test(arguments: Backend.all) func utilisationIsPerClusterAndBlankWithoutCapacity(backend: Backend) async throws {
        let temporary = try await TemporaryStore(backend)
        let text = "[[resource]]\ncluster = \"c1\"\ncores = 10\n"
        _ = try await temporary.store.apply(try ConfigLoader.parse(text).configuration, text: text)
        let header = "JobID|JobIDRaw|User|Account|Partition|Cluster|Submit|Start|End|ElapsedRaw|AllocTRES|State"
        func line(_ id: Int, cluster: String, cores: Int) -> String {
            "\(id)|\(id)|alice|proj|cpu|\(cluster)|2024-03-01T00:00:00|2024-03-01T00:00:00|2024-03-02T00:00:00|86400|cpu=\(cores)|COMPLETED"
        }
        let file = try temporary.write("two.txt", [header, line(1, cluster: "c1", cores: 5), line(2, cluster: "c2", cores: 300)]
            .joined(separator: "\n") + "\n")
        try await temporary.ingest(file)
        let day = utc("2024-03-01")..<utc("2024-03-02")
        let byCluster = try await temporary.store.report(ReportQuery(window: day, period: .total, groupBy: [.cluster]))
        #expect(byCluster.metrics.contains(.coreUtilisation))
        let utilisation = Dictionary(uniqueKeysWithValues: byCluster.rows.map {
            ($0.keys[0], Metric.coreUtilisation.value($0.amounts, unit: .hours, capacity: $0.capacity))
        })
        #expect(utilisation["c1"]! == 50)        // 5 of 10 cores all day
        #expect(utilisation["c2"]! == nil)       // no capacity known: blank, not 3000 %
        #expect(Metric.coreUtilisation.value(byCluster.total, unit: .hours, capacity: byCluster.totalCapacity) == nil)
        #expect(byCluster.notes.contains { $0.contains("no [[resource]] capacity for cluster c2") })
        // Scoped to c1 by a filter, rows and total have c1's capacity.
        let c1 = try await temporary.store.report(ReportQuery(window: day, period: .total, groupBy: [.account],
                                                              filters: [.cluster: ["c1"]]))
        #expect(c1.rows.map { Metric.coreUtilisation.value($0.amounts, unit: .hours, capacity: $0.capacity) } == [50])
        #expect(Metric.coreUtilisation.value(c1.total, unit: .hours, capacity: c1.totalCapacity) == 50)
        // Not scoped: the account's usage spans c1 and c2, so it has no utilisation.
        let mixed = try await temporary.store.report(ReportQuery(window: day, period: .total, groupBy: [.account]))
        #expect(mixed.rows.map { Metric.coreUtilisation.value($0.amounts, unit: .hours, capacity: $0.capacity) } == [nil])
    }
}
