import TallyCore
import TallyStore

/// What a configuration leaves uncovered in a database: GPU models without a class, and
/// cluster/partition combinations no benchmark or charge rate matches (at any date).
public enum CoverageCheck {
    public static func lines(_ configuration: TallyConfiguration, store: any UsageStore) async throws -> [String] {
        var lines: [String] = []
        var unclassified: [String: Int64] = [:]
        var unbenchmarked: [String: Int64] = [:]
        var uncharged: [String: Int64] = [:]
        for (subject, coreSeconds, gpuSeconds) in try await store.recordedSubjects() {
            let place = "\(subject.cluster)/\(subject.partition.isEmpty ? "-" : subject.partition)"
            if !subject.gpuModel.isEmpty, gpuSeconds > 0, !configuration.gpuClasses.isEmpty,
               !configuration.gpuClasses.contains(where: { $0.matches(model: subject.gpuModel) }) {
                unclassified[subject.gpuModel, default: 0] += gpuSeconds
            }
            // Host-matched rules may cover this place on some hosts: only certain misses are listed.
            if !configuration.benchmarks.isEmpty,
               !configuration.benchmarks.contains(where: { $0.match.host != nil || $0.match.matches(subject) }) {
                unbenchmarked[place, default: 0] += coreSeconds
            }
            if !configuration.chargeRates.isEmpty,
               !configuration.chargeRates.contains(where: { $0.match.host != nil || $0.match.matches(subject) }) {
                uncharged[place, default: 0] += coreSeconds
            }
        }
        func hours(_ seconds: Int64) -> String { fixedPoint(Double(seconds) / 3600, places: 1) }
        for (model, seconds) in unclassified.sorted(by: { $0.key < $1.key }) {
            lines.append("warning: GPU model '\(model)' (\(hours(seconds)) GPU-hours) matches no [[gpu_class]]: reported as \(GPUClasses.unclassified), factor 1")
        }
        for (place, seconds) in unbenchmarked.sorted(by: { $0.key < $1.key }) {
            lines.append("warning: \(place) (\(hours(seconds)) core-hours) matches no [[benchmark]]: 0 \(configuration.benchmarkKind)-hours")
        }
        for (place, seconds) in uncharged.sorted(by: { $0.key < $1.key }) {
            lines.append("warning: \(place) (\(hours(seconds)) core-hours) matches no [[charge_rate]]: 0 SU")
        }
        if lines.isEmpty { lines.append("every GPU model, benchmark and charge place in the database is covered") }
        return lines
    }
}
