import ArgumentParser
import Foundation
import TallyApp
import TallyCore
import TallyStore

struct Jobs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List raw job records as the sources gave them.")

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var window: WindowOptions
    @OptionGroup var zone: TimeZoneOption
    @OptionGroup var filter: FilterOptions

    @Option(help: "Only this job id (as shown, e.g. 123_4, or the raw id).")
    var job: String?

    @Option(help: "At most this many jobs (0 = all).")
    var limit: Int = 1000

    @Option(help: "Output: table, csv or json.")
    var format: OutputFormat = .table

    func run() async throws {
        let timeZone = try zone.resolve()
        let calendar = PeriodCalendar(timeZone: timeZone)
        let query = JobQuery(window: try window.window(calendar), filters: try filter.resolve(), jobID: job,
                             limit: limit > 0 ? limit + 1 : nil)
        let store = try StoreLocation.open(database.db)
        var records = try await store.jobs(query)
        let truncated = limit > 0 && records.count > limit
        if truncated { records.removeLast() }
        print(JobListing.table(records, calendar: calendar).render(format), terminator: "")
        if truncated { printError("showing the first \(limit) jobs; --limit 0 lists all") }
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "What the database holds: records, sources, date coverage, rejected lines.")

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var zone: TimeZoneOption

    func run() async throws {
        let store = try StoreLocation.open(database.db)
        let status = try await store.status()
        print(StatusText.render(status, path: StoreLocation.resolve(database.db),
                                calendar: PeriodCalendar(timeZone: try zone.resolve())), terminator: "")
    }
}
