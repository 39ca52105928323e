/// What the configured resources offered over a time span: the denominators of utilisation.
public struct Capacity: Sendable, Hashable {
    public var coreSeconds: Int64 = 0
    public var gpuSeconds: Int64 = 0

    public init(coreSeconds: Int64 = 0, gpuSeconds: Int64 = 0) {
        self.coreSeconds = coreSeconds; self.gpuSeconds = gpuSeconds
    }
}

/// Capacity of a cluster or partition from `[[resource]]` entries, as Open XDMoD computes
/// utilisation from resource specifications.
public struct CapacityModel: Sendable {
    public let resources: [ResourceEntry]

    public init(_ resources: [ResourceEntry]) { self.resources = resources }

    public var isEmpty: Bool { resources.isEmpty }

    /// Capacity of `cluster` (all when nil) and `partition` (the whole cluster when nil) over
    /// `range`. A cluster's capacity is its cluster-wide entries while they are in force, else
    /// the sum of its partitions'. GPUs count only when `gpuModel` is nil or matches.
    public func capacity(cluster: String?, partition: String?, gpuModel: String? = nil, over range: Range<Int64>) -> Capacity {
        var result = Capacity()
        let clusters = cluster.map { [$0] } ?? Array(Set(resources.map(\.cluster))).sorted()
        for name in clusters {
            let entries = resources.filter { $0.cluster == name }
            if let partition {
                for entry in entries where entry.partition == partition { add(entry, range, gpuModel, &result) }
                continue
            }
            let whole = entries.filter { $0.partition == nil }
            let parts = entries.filter { $0.partition != nil }
            // Seconds the cluster-wide entries cover are counted from them; the rest from partitions.
            for entry in whole { add(entry, range, gpuModel, &result) }
            for span in uncovered(range, by: whole.map(\.validity)) {
                for entry in parts { add(entry, span, gpuModel, &result) }
            }
        }
        return result
    }

    private func add(_ entry: ResourceEntry, _ range: Range<Int64>, _ gpuModel: String?, _ result: inout Capacity) {
        let low = max(range.lowerBound, entry.validity.from ?? .min)
        let high = min(range.upperBound, entry.validity.until ?? .max)
        guard high > low else { return }
        let seconds = high - low
        result.coreSeconds += seconds * entry.cores
        let gpus = gpuModel.map { entry.gpus[$0] ?? 0 } ?? entry.totalGPUs
        result.gpuSeconds += seconds * gpus
    }

    /// The parts of `range` that none of `validities` covers.
    private func uncovered(_ range: Range<Int64>, by validities: [Validity]) -> [Range<Int64>] {
        var spans = [range]
        for validity in validities {
            let low = validity.from ?? .min, high = validity.until ?? .max
            spans = spans.flatMap { span -> [Range<Int64>] in
                var kept: [Range<Int64>] = []
                if span.lowerBound < min(low, span.upperBound) { kept.append(span.lowerBound..<min(low, span.upperBound)) }
                if max(high, span.lowerBound) < span.upperBound { kept.append(max(high, span.lowerBound)..<span.upperBound) }
                return kept
            }
        }
        return spans
    }
}
