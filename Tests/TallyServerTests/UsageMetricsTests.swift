import Foundation
import Testing
import TallyApp
import TallyCollectors
import TallyConfig
import TallyCore
import TallyServer
import TallyStore
import TallyTestSupport

/// Prometheus text as `series → value`, `series` being the name and labels exactly as written.
private func samples(_ text: String) -> [String: Double] {
    var result: [String: Double] = [:]
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
        result[String(line[..<space])] = value
    }
    return result
}

private func metricName(_ series: String) -> String {
    String(series.prefix { $0 != "{" })
}

/// The value of `label` in a series like `name{a="x",b="y"}`.
private func label(_ series: String, _ name: String) -> String? {
    guard let range = series.range(of: "\(name)=\"") else { return nil }
    return String(series[range.upperBound...].prefix { $0 != "\"" })
}

@Suite(.serialized) struct UsageMetricsTests {
    static let config = """
        [[charge_rate]]
        name = "all"
        core_hour = 1.0
        gpu_hour = 2.0
        """

    /// A server with two clusters (the Slurm sandbox's, with accounts chem and physics, and one
    /// posted job of account proj on c1), a charge rate and an allocation; top N of 1.
    static func server(_ backend: Backend) async throws -> RunningServer {
        let server = try await RunningServer.start(backend, metricsTop: 1)
        _ = try await server.store.apply(try ConfigLoader.parse(config).configuration, text: config)
        let path = Fixtures.path("slurm-sandbox/sacct-duplicates.txt")
        _ = try await IngestPipeline(store: server.store).ingest(
            path: path, collector: SacctCollector(file: path, options: .init(timeZone: TimeZone(identifier: "UTC")!)))
        let writer = try await server.token(scopes: ["write"], sites: ["siteA"])
        #expect(try await server.call(.POST, "/api/v1/records", token: writer, body: "[\(recordJSON(1))]").status == 200)
        // Half as much again as chem has used: at the rate so far it runs out well before its end.
        let start = Int64(try #require(ISO8601DateFormatter().date(from: "2026-01-01T00:00:00Z")).timeIntervalSince1970)
        let used = try await server.store.report(ReportQuery(period: .total, filters: [.account: ["chem"]]))
            .rows.reduce(0) { $0 + $1.amounts.coreSeconds }
        _ = try await server.store.saveAllocation(
            Allocation(name: "chem-2026", owner: "chem", unit: .coreHours, amountMilli: used * 1500 / 3600,
                       start: start, end: start + 20 * 365 * 86_400), replacing: false)
        return server
    }

    @Test(arguments: Backend.all) func usageSeriesAreBoundedAndAddUpToTheReport(backend: Backend) async throws {
        let server = try await Self.server(backend)
        let token = try await server.token(scopes: ["read"])
        // The scrape's clock lies between these two readings; a loaded machine may take seconds between them.
        let sentAt = Date().timeIntervalSince1970
        let reply = try await server.call(.GET, "/api/v1/metrics", token: token)
        let answeredAt = Date().timeIntervalSince1970
        #expect(reply.status == 200)
        let values = samples(reply.body)
        let report = try await server.store.report(ReportQuery(period: .total, groupBy: [.cluster, .account]))
        #expect(Set(report.rows.compactMap(\.keys.first)) == ["probe", "c1"])

        for metric in [("tally_usage_core_hours_total", Metric.coreHours), ("tally_usage_jobs_total", .jobs),
                       ("tally_usage_gpu_hours_total", .gpuHours), ("tally_usage_su_total", .serviceUnits)] {
            let series = values.filter { metricName($0.key) == metric.0 }
            for cluster in ["probe", "c1"] {
                let rows = report.rows.filter { $0.keys.first == cluster }
                let expected = rows.reduce(0.0) { $0 + (metric.1.value($1.amounts, unit: .hours) ?? 0) }
                let mine = series.filter { label($0.key, "cluster") == cluster }
                #expect(abs(mine.values.reduce(0, +) - expected) < 1e-6, "\(metric.0) \(cluster)")
            }
        }
        // Top 1 per cluster: probe's bigger account and the rest as "other"; c1 has only proj.
        let core = values.filter { metricName($0.key) == "tally_usage_core_hours_total" }
        let probe = report.rows.filter { $0.keys.first == "probe" }.sorted { $0.amounts.coreSeconds > $1.amounts.coreSeconds }
        #expect(Set(core.keys.filter { label($0, "cluster") == "probe" }.compactMap { label($0, "account") })
                == [probe[0].keys[1], "other"])
        #expect(core.keys.filter { label($0, "cluster") == "c1" }.compactMap { label($0, "account") } == ["proj"])

        // What the figures rest on.
        let status = try await server.store.status()
        #expect(values["tally_records"] == Double(status.records))
        #expect(values["tally_source_records_read_total{format=\"slurm\"}"] ?? 0 > 0)
        #expect(values["tally_source_rejected_total{format=\"slurm\"}"] == 0)
        #expect(values.keys.contains { $0.hasPrefix("tally_coverage_gap_days{site=") && label($0, "cluster") == "probe" })
        #expect(values["tally_newest_record_end_timestamp_seconds"] == status.coverage.map { Double($0.upperBound) })
        // Ages count from the scrape's own clock, though the figures they rest on are cached.
        let newest = Double(try #require(status.coverage?.upperBound))
        let newestAge = try #require(values["tally_newest_record_age_seconds"])
        #expect(newestAge >= sentAt - newest - 1 && newestAge <= answeredAt - newest + 1)
        let lastRead = try #require(values["tally_source_last_read_timestamp_seconds{format=\"slurm\"}"])
        let lastReadAge = try #require(values["tally_source_last_read_age_seconds{format=\"slurm\"}"])
        #expect(lastReadAge >= sentAt - lastRead - 1 && lastReadAge <= answeredAt - lastRead + 1)
        #expect(values.keys.contains { metricName($0) == "tally_data_age_seconds" && label($0, "cluster") == "probe" })

        // The allocation as alloc show computes it.
        let now = Int64(Date().timeIntervalSince1970)
        let (burn, _) = try await PolicyEngine(store: server.store, configuration: server.store.currentConfiguration())
            .burnDown("chem-2026", at: now)
        let allocation = "{allocation=\"chem-2026\",owner=\"account chem\",unit=\"core_hours\"}"
        #expect(values["tally_allocation_amount" + allocation] == burn.allocation.amount)
        // The scrape ran a moment before `burn`: the projection moves by about as much.
        let exhaustion = try #require(burn.projectedExhaustion)
        let exported = try #require(values["tally_allocation_projected_exhaustion_timestamp_seconds" + allocation])
        #expect(abs(exported - Double(exhaustion)) < 3600)
        #expect(abs((values["tally_allocation_remaining" + allocation] ?? .nan) - burn.remaining) < 1e-6)
        #expect(abs((values["tally_allocation_burn_rate_per_day" + allocation] ?? .nan) - burn.burnRatePerDay) < 1e-3)

        // An account-scoped token sees no metrics: they cover every account.
        let scoped = try await server.token(scopes: ["read", "account=chem"])
        #expect(try await server.call(.GET, "/api/v1/metrics", token: scoped).status == 403)
    }

    /// The example Grafana dashboard asks only for what Tally exports: every metric in its
    /// Prometheus queries is in /api/v1/metrics, every label it groups or names by is on that
    /// metric, and every JSON API URL answers.
    @Test func grafanaDashboardNamesOnlyExportedMetrics() async throws {
        let server = try await Self.server(.sqlite)
        let reader = try await server.token(scopes: ["read"])
        // Twice, so the request counters include a finished /api/v1/metrics request.
        _ = try await server.call(.GET, "/api/v1/metrics", token: reader)
        let body = try await server.call(.GET, "/api/v1/metrics", token: reader).body
        var labelsByMetric: [String: Set<String>] = [:]
        for series in samples(body).keys {
            let name = metricName(series)
            var labels = labelsByMetric[name] ?? []
            let inner = series.dropFirst(name.count).trimmingCharacters(in: CharacterSet(charactersIn: "{}"))
            for pair in inner.split(separator: ",") { labels.insert(String(pair.prefix { $0 != "=" })) }
            labelsByMetric[name] = labels
        }

        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("examples/grafana/tally-usage.json")
        let dashboard = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any])
        let panels = try #require(dashboard["panels"] as? [[String: Any]])
        var expressions: [(expr: String, legend: String)] = []
        var urls: [String] = []
        for panel in panels {
            for target in panel["targets"] as? [[String: Any]] ?? [] {
                if let expr = target["expr"] as? String { expressions.append((expr, target["legendFormat"] as? String ?? "")) }
                if let url = target["url"] as? String { urls.append(url) }
            }
        }
        let variables = ((dashboard["templating"] as? [String: Any])?["list"] as? [[String: Any]] ?? [])
        for variable in variables {
            if let definition = variable["definition"] as? String { expressions.append((definition, "")) }
        }
        #expect(expressions.count >= 15)
        #expect(urls.count >= 2)

        let identifier = try Regex("[a-z_][a-z0-9_]*")
        let grouping = try Regex(#"by \(([a-z_, ]+)\)"#)
        let selectors = try Regex(#"\{([a-z_]+)="#)
        let legends = try Regex(#"\{\{([a-z_]+)\}\}"#)
        for (expr, legend) in expressions {
            let names = expr.matches(of: identifier).map { String(expr[$0.range]) }
                .filter { $0.hasPrefix("tally_") || $0.hasPrefix("hb_") }
            #expect(!names.isEmpty, "\(expr) names no metric")
            for name in names {
                #expect(labelsByMetric[name] != nil, "\(expr): \(name) is not exported")
            }
            var used: Set<String> = []
            for match in expr.matches(of: grouping) {
                for part in String(expr[match.range]).dropFirst(4).dropLast().split(separator: ",") {
                    used.insert(part.trimmingCharacters(in: .whitespaces))
                }
            }
            for match in expr.matches(of: selectors) {
                used.insert(String(expr[match.range]).trimmingCharacters(in: CharacterSet(charactersIn: "{=")))
            }
            for match in legend.matches(of: legends) {
                used.insert(String(legend[match.range]).trimmingCharacters(in: CharacterSet(charactersIn: "{}")))
            }
            if let definition = expr.firstMatch(of: try Regex(#"label_values\([a-z_]+, ([a-z_]+)\)"#)) {
                used.insert(String(expr[definition.range]).split(separator: " ").last!.trimmingCharacters(in: .punctuationCharacters))
            }
            for labelName in used {
                #expect(names.contains { labelsByMetric[$0]?.contains(labelName) == true }, "\(expr): no metric has label \(labelName)")
            }
        }
        for url in urls {
            let reply = try await server.call(.GET, url, token: reader)
            #expect(reply.status == 200, "\(url)")
            #expect(reply.json != nil, "\(url) is not JSON")
        }
    }
}
