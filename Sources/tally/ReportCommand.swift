import ArgumentParser
import Foundation
import TallyApp
import TallyCore

struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Usage per period and group: jobs, wall, core, CPU and GPU hours, memory, efficiency.",
        discussion: """
            core hours = cores × wall; cpu hours = CPU time used; efficiency = cpu ÷ core hours;
            wait = start − eligible (else submit), per started job; avg_cores = cores per job.
            With a configuration: <benchmark>_hours (e.g. hs23_hours) = score × core hours,
            gpu_norm_hours = GPU class factor × GPU hours, su = service units charged,
            core_util_pct / gpu_util_pct = allocated ÷ configured capacity.
            Usage is split across periods (and rule changes) to the second; jobs are counted in the
            period they ended. Keys for --by and --where: site, cluster, account (vo, project),
            group, user, partition, qos, state, gpu-model, gpu-class, organisation, job-size,
            wall-bucket. Account, group and user are shown after aliases. Periods are calendar
            periods in --timezone (default: the config's [site] timezone, else UTC).
            """)

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var configuration: ConfigOption
    @OptionGroup var window: WindowOptions
    @OptionGroup var zone: TimeZoneOption
    @OptionGroup var filter: FilterOptions

    @Option(help: "Period: day, week, month, quarter, year or total.")
    var period: PeriodKind = .month

    @Option(help: ArgumentHelp("Group by these keys, comma-separated.", valueName: "keys"))
    var by: [String] = []

    @Option(help: "Output: table, csv or json.")
    var format: OutputFormat = .table

    @Option(help: "Time unit for usage columns: hours, minutes or seconds.")
    var unit: TimeUnit = .hours

    @Option(help: ArgumentHelp("Columns to show, comma-separated (default: all that apply).", valueName: "metrics"))
    var metrics: [String] = []

    func run() async throws {
        // Opened first: the configuration (given or stored) says the default zone.
        let opened = try await configuration.open(database, mustExist: true)
        let timeZone = try zone.resolve(site: opened.configuration.site)
        let calendar = PeriodCalendar(timeZone: timeZone)
        let groupBy = try cli { () throws(ReportArguments.Invalid) in try ReportArguments.dimensions(by) }
        let query = ReportQuery(window: try window.window(calendar), period: period, groupBy: groupBy,
                                filters: try filter.resolve(), timeZone: timeZone)
        let chosen = try cli { () throws(ReportArguments.Invalid) in try ReportArguments.metrics(metrics) }
        let report = try await opened.store.report(query)
        let table = report.table(unit: unit, metrics: chosen, includeTotal: format == .table && report.rows.count > 1)
        print(table.render(format), terminator: "")
        let basis = report.basisSentence
        if format == .table { print("\n" + basis) } else { printError(basis) }
        for note in report.notes { printError("note: " + note) }
    }
}
