import Foundation
import Testing
@testable import TallyCore

@Suite struct CivilTimeTests {
    @Test func civilRoundTrip() {
        for day: Int64 in [-800_000, -1, 0, 1, 11_016, 19_782, 20_000, 2_932_896] {
            let civil = UTCDay.toCivil(day)
            #expect(UTCDay.fromCivil(year: civil.year, month: civil.month, day: civil.day) == day)
        }
        #expect(UTCDay.fromCivil(year: 2024, month: 2, day: 29) == 19_782)
        #expect(UTCDay.of(-1) == -1)
        #expect(UTCDay.of(86_399) == 0)
        for month: Int64 in [-13, -1, 0, 23_639, 24_288, 24_299] {
            #expect(UTCMonth.of(day: UTCMonth.firstDay(month)) == month)
            #expect(UTCMonth.of(day: UTCMonth.firstDay(month) - 1) == month - 1)
        }
        #expect(UTCMonth.firstDay(2024 * 12 + 1) == UTCDay.fromCivil(year: 2024, month: 2, day: 1))
    }

    @Test func localTimesAcrossDaylightSaving() {
        var berlin = LocalTimeConverter(timeZone: TimeZone(identifier: "Europe/Berlin")!)
        func local(_ y: Int64, _ m: Int64, _ d: Int64, _ h: Int64, _ min: Int64) -> Int64 {
            UTCDay.fromCivil(year: y, month: m, day: d) * 86_400 + h * 3600 + min * 60
        }
        // Winter (UTC+1), summer (UTC+2), and the hour after the spring change.
        #expect(berlin.utc(fromLocal: local(2024, 1, 15, 12, 0)) == local(2024, 1, 15, 11, 0))
        #expect(berlin.utc(fromLocal: local(2024, 7, 1, 12, 0)) == local(2024, 7, 1, 10, 0))
        #expect(berlin.utc(fromLocal: local(2024, 3, 31, 3, 30)) == local(2024, 3, 31, 1, 30))
        #expect(berlin.utc(fromLocal: local(2024, 3, 31, 1, 59)) == local(2024, 3, 31, 0, 59))
        // Cached answers stay right on a second pass.
        #expect(berlin.utc(fromLocal: local(2024, 7, 1, 12, 0)) == local(2024, 7, 1, 10, 0))
        var utc = LocalTimeConverter(timeZone: TimeZone(identifier: "UTC")!)
        #expect(utc.utc(fromLocal: 1_000) == 1_000)
    }
}

@Suite struct PeriodTests {
    let utc = PeriodCalendar(timeZone: TimeZone(identifier: "UTC")!)

    @Test func monthsQuartersYearsInUTC() throws {
        let from = try #require(utc.parse("2024-01-15"))
        let to = try #require(utc.parseEnd("2024-04-10"))
        let months = utc.periods(.month, covering: from..<to)
        #expect(months.map(\.label) == ["2024-01", "2024-02", "2024-03", "2024-04"])
        #expect(months.first?.start == from)
        #expect(months[1].start == utc.parse("2024-02-01"))
        #expect(months.last?.end == utc.parse("2024-04-11"))
        #expect(utc.periods(.quarter, covering: from..<to).map(\.label) == ["2024-Q1", "2024-Q2"])
        #expect(utc.periods(.year, covering: from..<to).map(\.label) == ["2024"])
        #expect(utc.periods(.total, covering: from..<to).count == 1)
    }

    @Test func isoWeeksStartOnMonday() throws {
        // 2024-12-30 is the Monday of ISO week 2025-W01.
        let from = try #require(utc.parse("2024-12-28"))
        let weeks = utc.periods(.week, covering: from..<(from + 10 * 86_400))
        #expect(weeks.map(\.label) == ["2024-W52", "2025-W01", "2025-W02"])
        #expect(weeks[1].start == utc.parse("2024-12-30"))
    }

    @Test func parsingDatesAndInclusiveEnds() {
        #expect(utc.parse("2024-03-01T10:00") == 1_709_287_200)
        #expect(utc.parse("2024-03-01 10:00:30") == 1_709_287_230)
        #expect(utc.parseEnd("2024-03") == utc.parse("2024-04-01"))
        #expect(utc.parseEnd("2024") == utc.parse("2025-01-01"))
        #expect(utc.parseEnd("2024-03-01T10:00") == 1_709_287_200)
        #expect(utc.parse("2024-13-01") == nil)
        #expect(utc.parse("yesterday") == nil)
    }

    @Test func dateTimesPrintInTheCalendarsZone() {
        #expect(utc.formatDateTime(1_709_287_230) == "2024-03-01T10:00:30")
        let berlin = PeriodCalendar(timeZone: TimeZone(identifier: "Europe/Berlin")!)
        #expect(berlin.formatDateTime(1_709_287_230) == "2024-03-01T11:00:30")
        #expect(berlin.formatDateTime(1_719_835_200) == "2024-07-01T14:00:00")
        #expect(utc.formatDateTime(-1) == "1969-12-31T23:59:59")
    }

    @Test func periodsFollowTheReportZone() throws {
        let berlin = PeriodCalendar(timeZone: TimeZone(identifier: "Europe/Berlin")!)
        let from = try #require(berlin.parse("2024-03-01"))
        let days = berlin.periods(.day, covering: from..<(try #require(berlin.parseEnd("2024-03-31"))))
        #expect(days.count == 31)
        // 31 March 2024 has 23 hours in Berlin.
        #expect(days.last!.end - days.last!.start == 23 * 3600)
        #expect(from == 1_709_247_600)  // 2024-02-29T23:00:00Z
    }
}
