/// Stretches between consecutive snapshots that rest on no (or partial) data.
public enum SnapshotGaps {
    public struct Gap: Sendable, Hashable {
        public var from: Int64
        public var to: Int64
        public var reason: String

        public init(from: Int64, to: Int64, reason: String) {
            self.from = from; self.to = to; self.reason = reason
        }
    }

    /// The source's usual cadence: the given interval, else the median between snapshots.
    public static func cadence(_ times: [Int64], interval: Int64? = nil) -> Int64? {
        let lengths = zip(times, times.dropFirst()).map { $1 - $0 }.sorted()
        guard !lengths.isEmpty else { return interval }
        return interval ?? lengths[lengths.count / 2]
    }

    /// Intervals longer than 1.5 × the source's usual cadence: the collector was late or down.
    /// The reason says when the gap also exceeds the platform's garbage-collection threshold, after
    /// which finished deployments vanish from the API unseen. A cadence that is itself as long as
    /// the threshold is said once (`cadenceWarning`), not at every normal interval. `times` sorted.
    public static func find(_ times: [Int64], interval: Int64? = nil, gcThreshold: Int64? = nil) -> [Gap] {
        guard let expected = cadence(times, interval: interval) else { return [] }
        return zip(times, times.dropFirst()).compactMap { from, to in
            let length = to - from
            guard length * 2 > expected * 3 else { return nil }
            if let gcThreshold, length > gcThreshold {
                return Gap(from: from, to: to, reason: "longer than the usual interval (\(expected) s) and the GC "
                    + "threshold (\(gcThreshold) s): finished deployments may be missing")
            }
            return Gap(from: from, to: to, reason: "longer than the usual interval (\(expected) s)")
        }
    }

    /// Said once per source when its usual cadence is not shorter than the GC threshold: jobs that
    /// finish just after a snapshot are collected before the next one sees them (§7.4).
    public static func cadenceWarning(_ times: [Int64], interval: Int64? = nil, gcThreshold: Int64?) -> String? {
        guard let gcThreshold, times.count > 1, let expected = cadence(times, interval: interval),
              expected >= gcThreshold else { return nil }
        return "snapshots every \(expected / 60) min are not shorter than the GC threshold (\(gcThreshold / 60) min): "
            + "deployments that finish and are collected between snapshots are missed; snapshot more often "
            + "or raise job_gc_threshold"
    }
}
