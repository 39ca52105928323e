import TallyCore
import TallyStore

/// The names a filter can pick from, read from the data itself (one total report over a few
/// low-cardinality keys), remembered per data generation and account limit.
actor FilterChoices {
    /// Keys offered as pick lists; others (users, nodes) stay free text.
    static let dimensions: [ReportDimension] = [.cluster, .partition, .account, .qos]
    /// A list longer than this is no longer a pick list: the free-text filter covers it.
    static let longest = 300

    private let store: any UsageStore
    private var remembered: [String: (generation: String, choices: [(ReportDimension, [String])])] = [:]

    init(store: any UsageStore) { self.store = store }

    func choices(for principal: Principal) async throws -> [(ReportDimension, [String])] {
        let generation = try await store.summaryGeneration()
        if let entry = remembered[principal.cacheScope], entry.generation == generation { return entry.choices }
        let report = try await store.report(ReportQuery(period: .total, groupBy: Self.dimensions, filters: principal.limit([:])))
        var names = Array(repeating: Set<String>(), count: Self.dimensions.count)
        for row in report.rows {
            for (index, key) in row.keys.enumerated() where !key.isEmpty { names[index].insert(key) }
        }
        let choices = zip(Self.dimensions, names).compactMap { dimension, values in
            values.count <= Self.longest && !values.isEmpty ? (dimension, values.sorted()) : nil
        }
        remembered[principal.cacheScope] = (generation, choices)
        return choices
    }

    /// `in-account=a&in-account=b`: what the pick lists chose, added to the other filters (both hold).
    static func apply(_ values: (String) -> [String], to filters: inout [ReportDimension: Set<String>]) {
        for dimension in dimensions {
            let picked = Set(values("in-" + dimension.rawValue).filter { !$0.isEmpty })
            guard !picked.isEmpty else { continue }
            filters[dimension] = filters[dimension].map { $0.intersection(picked) } ?? picked
        }
    }
}
