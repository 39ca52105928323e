/// Which UTC days a cluster's data covers, and the days missing in between: a report over a gap
/// rests on no data, and should say so.
public struct ClusterCoverage: Sendable, Hashable {
    public var site: String
    public var cluster: String
    /// UTC day numbers (days since 1970-01-01).
    public var firstDay: Int64
    public var lastDay: Int64
    public var daysWithData: Int64
    /// Runs of days without any usage or ended job, inside `[firstDay, lastDay]`.
    public var gaps: [ClosedRange<Int64>]

    public var gapDays: Int64 { gaps.reduce(0) { $0 + $1.upperBound - $1.lowerBound + 1 } }
}

/// Snapshot-based sources of one site and cluster: how many snapshots, and the gaps between them.
public struct SnapshotCoverage: Sendable, Hashable {
    public var site: String
    public var cluster: String
    public var format: String
    public var snapshots: Int
    public var first: Int64
    public var last: Int64
    public var gaps: [SnapshotGaps.Gap]
    /// Said once when the usual cadence itself risks missing jobs (`SnapshotGaps.cadenceWarning`).
    public var warning: String? = nil
}

import TallyCore

extension ClusterCoverage {
    /// Folds `(site, cluster, day)` rows, sorted by all three, into runs and gaps.
    struct Builder {
        private(set) var result: [ClusterCoverage] = []
        private var current: ClusterCoverage?
        private var previousDay: Int64 = 0

        mutating func add(site: String, cluster: String, day: Int64) {
            if var open = current, open.site == site, open.cluster == cluster {
                if day > previousDay + 1 { open.gaps.append((previousDay + 1)...(day - 1)) }
                open.lastDay = day
                open.daysWithData += 1
                current = open
            } else {
                if let open = current { result.append(open) }
                current = ClusterCoverage(site: site, cluster: cluster, firstDay: day, lastDay: day,
                                          daysWithData: 1, gaps: [])
            }
            previousDay = day
        }

        mutating func finish() -> [ClusterCoverage] {
            if let open = current { result.append(open) }
            current = nil
            // Rows come in id order; names are what readers sort by.
            return result.sorted { ($0.site, $0.cluster) < ($1.site, $1.cluster) }
        }
    }
}

extension SnapshotCoverage {
    /// Snapshot counts and gaps per series, from `(site, cluster, format, taken_at)` rows in order.
    /// Nomad's default `job_gc_threshold` (4 h) applies unless `gcThreshold` says otherwise;
    /// Kubernetes has none by default.
    static func build(_ rows: [(site: String, cluster: String, format: String, time: Int64)], interval: Int64?,
                      gcThreshold: Int64?) -> [SnapshotCoverage] {
        var series: [String: (site: String, cluster: String, format: String, times: [Int64])] = [:]
        for row in rows {
            let key = "\(row.site)\u{0}\(row.cluster)\u{0}\(row.format)"
            series[key, default: (row.site, row.cluster, row.format, [])].times.append(row.time)
        }
        return series.values.sorted { ($0.site, $0.cluster, $0.format) < ($1.site, $1.cluster, $1.format) }.map { entry in
            let threshold = gcThreshold ?? (entry.format == SourceFormat.nomad.rawValue ? 4 * 3600 : nil)
            return SnapshotCoverage(site: entry.site, cluster: entry.cluster, format: entry.format,
                                    snapshots: entry.times.count, first: entry.times.first!, last: entry.times.last!,
                                    gaps: SnapshotGaps.find(entry.times, interval: interval, gcThreshold: threshold),
                                    warning: SnapshotGaps.cadenceWarning(entry.times, interval: interval,
                                                                         gcThreshold: threshold))
        }
    }
}
