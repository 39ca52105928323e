import ArgumentParser
import Foundation
import TallyApp
import TallyConfig
import TallyCore

struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Database file (default: $TALLY_DB, else ./tally.db).", valueName: "path"))
    var db: String?
}

/// `--config`: the rules reports apply (benchmarks, GPU classes, charge rates, aliases, users).
struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Configuration file (default: $TALLY_CONFIG, else the one the database last used).", valueName: "path"))
    var config: String?

    /// The file's `[site]` settings, when a file is given (for defaults of other options).
    func siteSettings() throws -> SiteSettings? {
        guard let path = ConfigLoader.resolvePath(config) else { return nil }
        return try ConfigLoader.load(path: path).configuration.site
    }

    /// Opens the store with the configuration applied, printing the rebuild notice and warnings.
    func open(_ database: DatabaseOptions, mustExist: Bool) async throws -> ConfiguredStore {
        let opened = try await ConfiguredStore.open(database.db, config: config, mustExist: mustExist)
        for warning in opened.warnings { printError(warning.description) }
        if let notice = opened.rebuildNotice { printError("note: " + notice) }
        return opened
    }
}

struct TimeZoneOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("IANA time zone for dates and periods (default: the config's [site] timezone, else UTC).", valueName: "zone"))
    var timezone: String?

    /// `--timezone`, else the site's zone: the rule the API, dashboard and policy routes share.
    func resolve(site: SiteSettings) throws -> TimeZone {
        guard let zone = site.zone(named: timezone) else {
            throw ValidationError("unknown time zone '\(timezone ?? "")' (use an IANA name such as Europe/Berlin)")
        }
        return zone
    }
}

/// The zone that local times in an input are in (sacct output, PBS line stamps).
struct InputZoneOption: ParsableArguments {
    @Option(name: .customLong("timezone"),
            help: ArgumentHelp("IANA zone of local times in the input (default: this machine's).", valueName: "zone"))
    var name: String?

    func validate() throws {
        if let name, TimeZone(identifier: name) == nil {
            throw ValidationError("unknown time zone '\(name)' (use an IANA name such as Europe/Berlin)")
        }
    }

    var zone: TimeZone { name.flatMap(TimeZone.init(identifier:)) ?? .current }

    /// The input's zone: `--timezone`, else the config's `[site] timezone`, else this machine's.
    func zone(site: SiteSettings?) -> TimeZone {
        (name ?? site?.timeZone).flatMap(TimeZone.init(identifier:)) ?? .current
    }
}

struct WindowOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Start: 2024-03, 2024-03-01 or 2024-03-01T10:00.", valueName: "date"))
    var from: String?

    @Option(name: .long, help: ArgumentHelp("End, inclusive for a date (2024-03-31 means through that day), exclusive for a date-time.", valueName: "date"))
    var to: String?

    func window(_ calendar: PeriodCalendar) throws -> Range<Int64>? {
        try cli { () throws(ReportArguments.Invalid) in try ReportArguments.window(from: from, to: to, calendar: calendar) }
    }
}

struct FilterOptions: ParsableArguments {
    @Option(name: .customLong("where"), help: ArgumentHelp(
        "Filter: key=value[,value…], repeatable (keys as --by).", valueName: "key=values"))
    var filters: [String] = []

    func resolve() throws -> [ReportDimension: Set<String>] {
        try cli { () throws(ReportArguments.Invalid) in try ReportArguments.filters(filters) }
    }
}

/// Report options that cannot be used, as argument-parser errors (`--where: …`).
func cli<Value>(_ body: () throws(ReportArguments.Invalid) -> Value) throws -> Value {
    do {
        return try body()
    } catch {
        throw ValidationError("--\(error.option): \(error.reason)")
    }
}

extension OutputFormat: ExpressibleByArgument {}
extension PeriodKind: ExpressibleByArgument {}
extension TimeUnit: ExpressibleByArgument {}

/// Writes to standard error, unbuffered.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }
