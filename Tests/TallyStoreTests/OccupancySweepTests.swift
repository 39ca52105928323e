import Testing
import TallyCore
@testable import TallyApp

/// Average and peak occupancy per period: a run still going when a period starts counts toward
/// that period's peak, and its core-seconds split across the periods it crosses.
@Suite struct OccupancySweepTests {
    @Test func peaksCarryAcrossPeriodBoundaries() {
        let day: Int64 = 86_400
        let periods = PeriodCalendar(timeZone: utcZone).periods(.day, covering: 0..<(4 * day))
        var sweep = OccupancySweep(periods: periods)
        sweep.add(group: "g", start: day / 2, end: 2 * day + day / 2, cores: 10)
        sweep.add(group: "g", start: day + 6 * 3600, end: day + 7 * 3600, cores: 5)
        sweep.add(group: "h", start: 3 * day, end: 3 * day + 60, cores: 2)
        sweep.finish()
        let g = (0..<4).map { sweep.result(group: "g", period: $0) }
        #expect(g.map(\.peak) == [10, 15, 10, 0])
        #expect(g.map { $0.coreSeconds / Double(day) } == [5, 10 + 5.0 / 24, 5, 0])
        #expect(sweep.result(group: "h", period: 3).peak == 2)
        #expect(sweep.result(group: "h", period: 2).peak == 0)
    }
}
