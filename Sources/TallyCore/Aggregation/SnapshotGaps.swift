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

    /// Gaps longer than 1.5 × the expected interval (default: the median interval between the
    /// snapshots), or than the platform's garbage-collection threshold, after which finished
    /// deployments vanish from the API unseen. `times` must be sorted.
    public static func find(_ times: [Int64], interval: Int64? = nil, gcThreshold: Int64? = nil) -> [Gap] {
        let steps = zip(times, times.dropFirst()).map { ($0, $1) }
        guard !steps.isEmpty else { return [] }
        let lengths = steps.map { $1 - $0 }.sorted()
        let expected = interval ?? lengths[lengths.count / 2]
        return steps.compactMap { from, to in
            let length = to - from
            if let gcThreshold, length > gcThreshold {
                return Gap(from: from, to: to, reason: "longer than the GC threshold (\(gcThreshold) s): finished deployments may be missing")
            }
            if length * 2 > expected * 3 {
                return Gap(from: from, to: to, reason: "longer than the snapshot interval (\(expected) s)")
            }
            return nil
        }
    }
}
