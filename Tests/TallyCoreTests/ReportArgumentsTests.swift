import Foundation
import Testing
@testable import TallyCore

@Suite struct ReportArgumentsTests {
    let calendar = PeriodCalendar(timeZone: TimeZone(identifier: "UTC")!)

    @Test func windowsReadAsReportsDo() throws {
        #expect(try ReportArguments.window(from: nil, to: nil, calendar: calendar) == nil)
        // A date in `to` is inclusive; `to` defaults to now.
        #expect(try ReportArguments.window(from: "2024-03", to: "2024-03-31", calendar: calendar) == 1_709_251_200..<1_711_929_600)
        #expect(try ReportArguments.window(from: "2024-03-01", to: nil, calendar: calendar, now: 1_709_300_000) == 1_709_251_200..<1_709_300_000)
        #expect(throws: ReportArguments.Invalid.self) { try ReportArguments.window(from: "yesterday", to: nil, calendar: calendar) }
        #expect(throws: ReportArguments.Invalid.self) { try ReportArguments.window(from: "2024-04", to: "2024-03", calendar: calendar) }
    }

    @Test func keysFiltersAndColumns() throws {
        #expect(try ReportArguments.dimensions(["account,user", "vo"]) == [.account, .user, .account])
        #expect(try ReportArguments.filters(["state=completed,failed", "org=Physics"])
                == [.state: ["completed", "failed"], .organisation: ["Physics"]])
        #expect(try ReportArguments.metrics([]) == nil)
        #expect(try ReportArguments.metrics(["jobs,hs23_hours"]) == [.jobs, .benchmarkHours])
        do {
            _ = try ReportArguments.filters(["colour=red"])
            Issue.record("an unknown key was accepted")
        } catch {
            #expect(error.option == "where")
            #expect(error.reason.hasPrefix("unknown key 'colour'"))
        }
    }
}
