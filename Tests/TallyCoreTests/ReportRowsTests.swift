import Foundation
import Testing
@testable import TallyCore

/// `ReportAccumulator.rows(periods:groups:cells:)` (partial sums by group number, sorted by a
/// counting sort on period) must give the rows `add` + `rows()` give for the same contributions.
@Suite struct ReportRowsTests {
    @Test(arguments: [1, 2, 3]) func groupNumberedRowsEqualNamedRows(seed: UInt64) {
        var random = SplitMix(seed: seed)
        let periods = (0..<7).map { Period(start: Int64($0) * 86_400, end: Int64($0 + 1) * 86_400, label: "p\($0)") }
        // Groups 3 and 5 share names with others (as ids with the same names can); "" sorts first.
        let groups: [[String]] = [["b", "x"], ["a", "x"], ["a", "y"], ["b", "x"], [""], ["a", "y"], ["c", "z"]]
        var cells: [ReportAccumulator.Cell] = []
        var accumulator = ReportAccumulator(periods: periods)
        for _ in 0..<400 {
            let period = Int(random.next() % UInt64(periods.count)), group = Int(random.next() % UInt64(groups.count))
            var amounts = UsageAmounts()
            // Not negative: sums of different group numbers with equal names never cancel (the
            // two paths are allowed to differ there: a zero group is dropped before merging).
            amounts.jobs = Int64(random.next() % 3)
            amounts.coreSeconds = Int64(random.next() % 7)
            cells.append(.init(period: period, group: group, amounts: amounts))
            accumulator.add(period: period, keys: groups[group], amounts: amounts)
        }
        // A cell pair that cancels out leaves no row.
        var plus = UsageAmounts(), minus = UsageAmounts()
        plus.jobs = 1
        minus.jobs = -1
        cells.append(.init(period: 6, group: 6, amounts: plus))
        cells.append(.init(period: 6, group: 6, amounts: minus))
        accumulator.add(period: 6, keys: groups[6], amounts: plus)
        accumulator.add(period: 6, keys: groups[6], amounts: minus)
        let expected = accumulator.rows().filter { !$0.amounts.isZero }
        let actual = ReportAccumulator.rows(periods: periods, groups: groups, cells: cells)
        #expect(actual.map(\.period) == expected.map(\.period))
        #expect(actual.map(\.keys) == expected.map(\.keys))
        #expect(actual.map(\.amounts) == expected.map(\.amounts))
    }
}

/// A small deterministic generator (SplitMix64).
private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
