import Foundation
import Testing
@testable import TallyCore
@testable import TallyServer
import TallyStore

/// The explorer's chart sums report rows into one series per first key and period. Its shortcut
/// (guessing a row's series from the previous period's order) must give the same sums whatever
/// the order, gaps and repeats of names.
@Suite struct ChartSeriesTests {
    static func hours(_ value: Int64) -> UsageAmounts {
        var amounts = UsageAmounts()
        amounts.coreSeconds = value * 3600
        return amounts
    }

    /// The value each bar's tooltip shows, by "series, period".
    static func bars(_ svg: String) -> [String: String] {
        var bars: [String: String] = [:]
        for piece in svg.components(separatedBy: "<rect ").dropFirst() {
            guard let open = piece.range(of: "<title>"), let close = piece.range(of: "</title>") else { continue }
            let title = String(piece[open.upperBound..<close.lowerBound])
            guard let colon = title.range(of: ": ", options: .backwards) else { continue }
            bars[String(title[..<colon.lowerBound])] = String(title[colon.upperBound...].split(separator: " ")[0])
        }
        return bars
    }

    @Test func seriesSumEveryRowOfTheirNameWhateverTheOrder() throws {
        let day = Int64(86_400)
        let periods = (0..<4).map { Period(start: $0 * day, end: ($0 + 1) * day, label: "d\($0)") }
        // Two keys (user, account): a user repeats within a period; users come and go; the
        // order within a period changes.
        let rows: [(Int, [String], Int64)] = [
            (0, ["alice", "a1"], 1), (0, ["alice", "a2"], 2), (0, ["bob", "a1"], 3),
            (1, ["bob", "a1"], 4), (1, ["carol", "a1"], 5),
            (2, ["carol", "a2"], 6), (2, ["alice", "a1"], 7), (2, ["alice", "a3"], 8), (2, ["", "a1"], 9),
            (3, ["bob", "a2"], 10), (3, ["bob", "a3"], 11), (3, ["alice", "a1"], 12),
        ]
        let query = ReportQuery(window: 0..<(4 * day), period: .day, groupBy: [.user, .account])
        let report = Report(query: query, window: 0..<(4 * day),
                            rows: rows.map { ReportRow(period: periods[$0.0], keys: $0.1, amounts: Self.hours($0.2)) },
                            basis: ReportBasis(records: 0, sources: 0, rejectedLines: 0))
        // The chart reads no data: any store will do.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("chart-\(UUID().uuidString).db").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let store = try SQLiteStore(path: path)
        let svg = DashboardPages(store: store).chart(report, metric: .coreHours, title: "test")
        let expected = [
            "alice, d0": "3", "bob, d0": "3",
            "bob, d1": "4", "carol, d1": "5",
            "carol, d2": "6", "alice, d2": "15", "(none), d2": "9",
            "bob, d3": "21", "alice, d3": "12",
        ]
        #expect(Self.bars(svg) == expected)
        for name in ["alice", "bob", "carol", "(none)"] { #expect(svg.contains("data-series=\"\(name)\"")) }
    }
}
