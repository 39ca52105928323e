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
}

import TallyCore
