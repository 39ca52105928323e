import ArgumentParser
import Foundation
import TallyApp
import TallyCore
import TallyStore

struct Jobs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs",
        abstract: "List raw job records as the sources gave them.")

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var configuration: ConfigOption
    @OptionGroup var window: WindowOptions
    @OptionGroup var zone: TimeZoneOption
    @OptionGroup var filter: FilterOptions

    @Option(help: "Only this job id (as shown, e.g. 123_4, or the raw id).")
    var job: String?

    @Option(help: ArgumentHelp("Show which benchmark, GPU class, charge rate and aliases apply to this job, and the arithmetic.",
                               valueName: "job-id"))
    var explain: String?

    @Option(help: "At most this many jobs (0 = all).")
    var limit: Int = 1000

    @Option(help: "Output: table, csv or json.")
    var format: OutputFormat = .table

    func validate() throws {
        for dimension in try filter.resolve().keys where !ReportDimension.recorded.contains(dimension) {
            throw ValidationError("--where \(dimension.rawValue): raw records have no such key (reports do)")
        }
    }

    func run() async throws {
        let opened = try await configuration.open(database, mustExist: true)
        let timeZone = try zone.resolve(site: opened.configuration.site)
        let calendar = PeriodCalendar(timeZone: timeZone)
        if let explain {
            let records = try await opened.store.jobs(JobQuery(filters: try filter.resolve(), jobID: explain))
            guard !records.isEmpty else {
                printError("no job \(explain) in the database")
                throw ExitCode(1)
            }
            for record in records {
                print(ExplainText.render(record, configuration: opened.configuration, calendar: calendar))
            }
            return
        }
        let query = JobQuery(window: try window.window(calendar), filters: try filter.resolve(), jobID: job,
                             limit: limit > 0 ? limit + 1 : nil)
        let store = opened.store
        // Rows go out as the store reads them: `--limit 0` over millions of jobs stays small.
        let listing = StreamingListing(format: format, limit: limit, calendar: calendar)
        try await store.forEachJob(query) { listing.add($0) }
        listing.finish()
        if listing.truncated { printError("showing the first \(limit) jobs; --limit 0 lists all") }
    }
}

/// Renders job rows to standard output while the store streams them. Used by one task at a
/// time (the store's read), hence unchecked.
final class StreamingListing: @unchecked Sendable {
    private var writer: TableWriter
    private let output = BufferedOutput()
    private let limit: Int
    private let calendar: PeriodCalendar
    private var count = 0
    private(set) var truncated = false

    init(format: OutputFormat, limit: Int, calendar: PeriodCalendar) {
        self.limit = limit
        self.calendar = calendar
        let output = self.output
        writer = TableWriter(columns: JobListing.columns, numericColumns: JobListing.numericColumns,
                             format: format) { output.write($0) }
    }

    func add(_ record: UsageRecord) {
        count += 1
        if limit > 0, count > limit {
            truncated = true
            return
        }
        writer.append(JobListing.row(record, calendar: calendar))
    }

    func finish() {
        writer.finish()
        output.flush()
    }
}

/// Standard output in 64 KiB writes.
final class BufferedOutput: @unchecked Sendable {
    private var buffer: [UInt8] = []

    func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 65_536 { flush() }
    }

    func flush() {
        guard !buffer.isEmpty else { return }
        FileHandle.standardOutput.write(Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "What the database holds: records, sources, date coverage, rejected lines.")

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var zone: TimeZoneOption

    func run() async throws {
        let store = try await ConfiguredStore.open(database.db, config: nil, mustExist: true).store
        let status = try await store.status()
        let calendar = PeriodCalendar(timeZone: try zone.resolve(site: await store.currentConfiguration().site))
        print(StatusText.render(status, path: StoreLocation.resolve(database.db), calendar: calendar), terminator: "")
        // Which rules the summaries were built with: reports follow them until another is applied.
        if let applied = try await store.appliedConfiguration() {
            let source = applied.text == nil ? "none" : (applied.path ?? "stored text")
            print("\nsummaries built with configuration \(applied.fingerprint) (\(source)), "
                  + "applied \(calendar.formatDateTime(applied.appliedAt))")
        }
    }
}
