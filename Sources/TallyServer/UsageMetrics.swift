import Foundation
import Prometheus
import TallyApp
import TallyCore
import TallyStore

/// Usage figures for a Grafana panel, in Prometheus text, drawn from the store at scrape time
/// into a fresh registry, so a name that drops out of the top N leaves the output too.
///
/// Cardinality is bounded by design: per cluster the `top` accounts by core hours, the rest
/// summed as `account="other"`; sources per format, not per file; one series per site and
/// cluster, and per allocation (allocations are few and created by hand).
struct UsageMetrics: Sendable {
    static let otherAccounts = "other"

    let store: any UsageStore
    let top: Int

    /// What moves only when the data changes, rendered once per data generation, and the
    /// times the clock-dependent ages are counted from.
    struct Snapshot: Sendable {
        var text: [UInt8]
        var sourcesLastRead: [(format: String, at: Int64)] = []
        var newestEnd: Int64?
        var clustersLastDay: [(site: String, cluster: String, day: Int64)] = []
    }

    /// Everything, as one scrape shows it.
    func render(now: Int64) async throws -> [UInt8] {
        let snapshot = try await snapshot()
        return snapshot.text + ages(snapshot, now: now) + (try await allocations(now: now))
    }

    func snapshot() async throws -> Snapshot {
        let registry = PrometheusCollectorRegistry()
        let configuration = await store.currentConfiguration()
        var snapshot = Snapshot(text: [])
        try await usage(into: registry, charging: !configuration.chargeRates.isEmpty)
        try await records(into: registry, snapshot: &snapshot)
        try await coverage(into: registry, snapshot: &snapshot)
        snapshot.text = registry.emitToBuffer()
        return snapshot
    }

    /// Seconds since each source was read, since the newest usage, since each cluster's newest day.
    func ages(_ snapshot: Snapshot, now: Int64) -> [UInt8] {
        let registry = PrometheusCollectorRegistry()
        for (format, at) in snapshot.sourcesLastRead {
            registry.makeGauge(name: "tally_source_last_read_age_seconds", labels: [("format", format)],
                               help: "Seconds since a source of this format was last read.")
                .set(Double(max(0, now - at)))
        }
        if let newest = snapshot.newestEnd {
            registry.makeGauge(name: "tally_newest_record_age_seconds",
                               help: "Seconds since the latest end of any usage held.").set(Double(max(0, now - newest)))
        }
        for (site, cluster, day) in snapshot.clustersLastDay {
            registry.makeGauge(name: "tally_data_age_seconds", labels: [("site", site), ("cluster", cluster)],
                               help: "Seconds since the end of the newest UTC day with usage (0 while that day is today).")
                .set(Double(max(0, now - (day + 1) * 86_400)))
        }
        return registry.emitToBuffer()
    }

    /// Where each allocation stands at `now` (burn rates and projections move with the clock).
    func allocations(now: Int64) async throws -> [UInt8] {
        let registry = PrometheusCollectorRegistry()
        try await allocations(into: registry, configuration: await store.currentConfiguration(), now: now)
        return registry.emitToBuffer()
    }

    /// All-time totals per cluster and account: counters, so `increase(…[30d])` is the usage of
    /// the last 30 days as far as the scrapes saw it.
    private func usage(into registry: PrometheusCollectorRegistry, charging: Bool) async throws {
        let report = try await store.report(ReportQuery(period: .total, groupBy: [.cluster, .account]))
        for (cluster, accounts) in Self.topAccounts(report.rows, top: top) {
            for (account, amounts) in accounts {
                let labels = [("cluster", cluster), ("account", account)]
                func counter(_ name: String, _ help: String, _ metric: Metric) {
                    let value = metric.value(amounts, unit: .hours) ?? 0
                    registry.makeCounter(name: name, labels: labels, help: help).increment(by: value)
                }
                counter("tally_usage_jobs_total", "Jobs ended, per cluster and account (top N, the rest as other).", .jobs)
                counter("tally_usage_core_hours_total", "Core hours (cores x wall), per cluster and account.", .coreHours)
                counter("tally_usage_gpu_hours_total", "GPU hours, per cluster and account.", .gpuHours)
                counter("tally_usage_mem_gb_hours_total", "Memory GB hours allocated, per cluster and account.", .memoryGBHours)
                if charging {
                    counter("tally_usage_su_total", "Service units charged by the configured rates, per cluster and account.",
                            .serviceUnits)
                }
            }
        }
    }

    /// Per cluster, the `top` accounts by core seconds (ties by name) and the rest summed as "other".
    static func topAccounts(_ rows: [ReportRow], top: Int) -> [(cluster: String, accounts: [(String, UsageAmounts)])] {
        var byCluster: [String: [(String, UsageAmounts)]] = [:]
        for row in rows {
            let cluster = row.keys.first ?? "", account = row.keys.dropFirst().first ?? ""
            byCluster[cluster, default: []].append((account, row.amounts))
        }
        return byCluster.keys.sorted().map { cluster in
            let ranked = byCluster[cluster]!.sorted {
                $0.1.coreSeconds != $1.1.coreSeconds ? $0.1.coreSeconds > $1.1.coreSeconds : $0.0 < $1.0
            }
            var kept = Array(ranked.prefix(top))
            let rest = ranked.dropFirst(top)
            if !rest.isEmpty {
                var other = UsageAmounts()
                for (_, amounts) in rest { other += amounts }
                // A real account called "other" is merged with the rest rather than shown twice.
                if let index = kept.firstIndex(where: { $0.0 == otherAccounts }) { other += kept.remove(at: index).1 }
                kept.append((otherAccounts, other))
            }
            return (cluster, kept)
        }
    }

    /// What the database rests on: records held, records read and rejected per source format,
    /// and how fresh the newest data is.
    private func records(into registry: PrometheusCollectorRegistry, snapshot: inout Snapshot) async throws {
        let status = try await store.status(includingCoverage: true)
        registry.makeGauge(name: "tally_records", help: "Job records held.").set(Double(status.records))
        registry.makeCounter(name: "tally_rejected_lines_total", help: "Input lines rejected, all sources.")
            .increment(by: status.rejectedLines)
        var byFormat: [String: (read: Int, rejected: Int, lastRead: Int64)] = [:]
        for source in status.sources {
            var entry = byFormat[source.format] ?? (0, 0, 0)
            entry.read += source.totals.records
            entry.rejected += source.totals.rejected
            entry.lastRead = max(entry.lastRead, source.lastSeen)
            byFormat[source.format] = entry
        }
        for (format, entry) in byFormat.sorted(by: { $0.key < $1.key }) {
            let labels = [("format", format)]
            registry.makeCounter(name: "tally_source_records_read_total", labels: labels,
                                 help: "Records read from sources of this format, over every run.")
                .increment(by: Int64(entry.read))
            registry.makeCounter(name: "tally_source_rejected_total", labels: labels,
                                 help: "Lines rejected from sources of this format, over every run.")
                .increment(by: Int64(entry.rejected))
            registry.makeGauge(name: "tally_source_last_read_timestamp_seconds", labels: labels,
                               help: "When a source of this format was last read (Unix seconds).")
                .set(Double(entry.lastRead))
            snapshot.sourcesLastRead.append((format, entry.lastRead))
        }
        if let newest = status.coverage?.upperBound {
            registry.makeGauge(name: "tally_newest_record_end_timestamp_seconds",
                               help: "Latest end of any usage held (Unix seconds).").set(Double(newest))
            snapshot.newestEnd = newest
        }
    }

    /// Days with data per site and cluster: freshness and open gaps, as `tally coverage` shows them.
    private func coverage(into registry: PrometheusCollectorRegistry, snapshot: inout Snapshot) async throws {
        for cluster in try await store.coverage() {
            let labels = [("site", cluster.site), ("cluster", cluster.cluster)]
            snapshot.clustersLastDay.append((cluster.site, cluster.cluster, cluster.lastDay))
            registry.makeGauge(name: "tally_coverage_gaps", labels: labels,
                               help: "Runs of UTC days without any usage between the first and the newest day with data.")
                .set(Double(cluster.gaps.count))
            registry.makeGauge(name: "tally_coverage_gap_days", labels: labels,
                               help: "UTC days without any usage between the first and the newest day with data.")
                .set(Double(cluster.gapDays))
        }
    }

    /// Where each allocation stands now, as `tally alloc show` computes it.
    private func allocations(into registry: PrometheusCollectorRegistry, configuration: TallyConfiguration,
                             now: Int64) async throws {
        let engine = PolicyEngine(store: store, configuration: configuration)
        for allocation in try await store.allocations() {
            let (burn, _) = try await engine.burnDown(allocation, at: now)
            let labels = [("allocation", allocation.name), ("owner", "\(allocation.dimension.rawValue) \(allocation.owner)"),
                          ("unit", allocation.unit.rawValue)]
            func gauge(_ name: String, _ help: String, _ value: Double) {
                registry.makeGauge(name: name, labels: labels, help: help).set(value)
            }
            gauge("tally_allocation_amount", "Amount granted, in the allocation's unit.", allocation.amount)
            gauge("tally_allocation_used", "Used so far (jobs and manual charges), in the allocation's unit.", burn.used)
            gauge("tally_allocation_remaining", "Left, in the allocation's unit (negative when overdrawn).", burn.remaining)
            gauge("tally_allocation_burn_rate_per_day", "Units used per day over the allocation so far.", burn.burnRatePerDay)
            gauge("tally_allocation_end_timestamp_seconds", "When the allocation ends (Unix seconds).", Double(allocation.end))
            if let exhaustion = burn.projectedExhaustion {
                gauge("tally_allocation_projected_exhaustion_timestamp_seconds",
                      "When the remaining amount runs out at the burn rate (Unix seconds); absent when it lasts.",
                      Double(exhaustion))
            }
        }
    }
}
