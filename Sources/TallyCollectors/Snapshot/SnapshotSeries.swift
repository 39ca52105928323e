import Foundation
import TallyCore

/// Snapshot files in the order they were taken.
public struct SnapshotSeries: Sendable {
    public struct Snapshot: Sendable, Hashable {
        public var path: String
        public var takenAt: Int64
    }

    public let snapshots: [Snapshot]

    /// Snapshot times from file names (`2024-05-02T10:00:00Z.json`, `20240502T100000.json`,
    /// `2024-05-02_10-00.json`), else the file's modification time; sorted by time.
    public init(files: [String]) {
        snapshots = files.map { path in
            Snapshot(path: path, takenAt: Self.time(inName: URL(fileURLWithPath: path).lastPathComponent) ?? Self.modified(path))
        }.sorted { ($0.takenAt, $0.path) < ($1.takenAt, $1.path) }
    }

    static func time(inName name: String) -> Int64? {
        let digits = name.filter(\.isNumber)
        guard digits.count >= 12 else { return nil }
        let values = Array(digits)
        func number(_ from: Int, _ count: Int) -> Int64 { Int64(String(values[from..<(from + count)]))! }
        let year = number(0, 4), month = number(4, 2), day = number(6, 2), hour = number(8, 2), minute = number(10, 2)
        let second = digits.count >= 14 ? number(12, 2) : 0
        guard (1970...2200).contains(year), (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60,
              second < 61 else { return nil }
        return UTCDay.fromCivil(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second
    }

    static func modified(_ path: String) -> Int64 {
        let date = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? Date()
        return Int64(date.timeIntervalSince1970)
    }
}
