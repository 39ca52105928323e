import Foundation

/// Durations as admins write them: `30s`, `10m`, `1h`, `7d`, `2w`, a plain number of seconds, or
/// Slurm's `D-HH:MM:SS` / `HH:MM:SS` / `MM:SS` (as in `PriorityDecayHalfLife=7-0`).
public enum DurationText {
    public static func seconds(_ text: String) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { return nil }
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800]
        if let last = trimmed.last, let unit = units[last], let value = Double(trimmed.dropLast()), value >= 0, value.isFinite {
            return value * unit
        }
        if let value = Double(trimmed), value >= 0, value.isFinite, !trimmed.contains(":") { return value }
        // Slurm: [days-]hours[:minutes[:seconds]] with a day part, else [[hours:]minutes:]seconds.
        var days = 0.0
        var rest = Substring(trimmed)
        if let dash = rest.firstIndex(of: "-") {
            guard let value = Double(rest[..<dash]), value >= 0 else { return nil }
            days = value
            rest = rest[rest.index(after: dash)...]
            let parts = rest.split(separator: ":", omittingEmptySubsequences: false).map { Double($0) }
            guard (1...3).contains(parts.count), parts.allSatisfy({ $0 != nil && $0! >= 0 }) else { return nil }
            let values = parts.map { $0! }
            let hms = [3600.0, 60, 1]
            return days * 86_400 + zip(values, hms).reduce(0) { $0 + $1.0 * $1.1 }
        }
        let parts = rest.split(separator: ":", omittingEmptySubsequences: false).map { Double($0) }
        guard (2...3).contains(parts.count), parts.allSatisfy({ $0 != nil && $0! >= 0 }) else { return nil }
        return parts.reduce(0) { $0 * 60 + $1! }
    }
}
