import ArgumentParser
import Foundation
import TallyApp
import TallyConfig
import TallyCore
import TallyStore

struct Config: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check and show the configuration (benchmarks, GPU classes, charge rates, aliases, users, resources).",
        subcommands: [Check.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a config file; every error is named by line. Exit 1 on errors.",
            discussion: """
                Checks TOML syntax, unknown sections and keys, types, globs, dates, overlapping dated
                rules with the same match, mixed benchmark types. With --db, also lists GPU models in
                the database that no [[gpu_class]] covers and partitions no [[charge_rate]] or
                [[benchmark]] matches.
                """)

        @Argument(help: "The file (default: --config / $TALLY_CONFIG).")
        var path: String?

        @OptionGroup var configuration: ConfigOption

        @Option(name: .long, help: ArgumentHelp("Also check coverage against this database.", valueName: "path"))
        var db: String?

        func run() async throws {
            guard let file = path ?? ConfigLoader.resolvePath(configuration.config) else {
                throw ValidationError("name a config file (or set --config / $TALLY_CONFIG)")
            }
            guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
                printError("\(file): cannot read the file")
                throw ExitCode(1)
            }
            let (parsed, issues) = ConfigLoader.check(text, path: file)
            for issue in issues { print(issue.description) }
            let errors = issues.filter { $0.severity == .error }.count
            guard errors == 0, let parsed else {
                print("\(file): \(errors) error\(errors == 1 ? "" : "s")")
                throw ExitCode(1)
            }
            print("\(file): OK — \(parsed.benchmarks.count) benchmark, \(parsed.gpuClasses.count) GPU class, "
                  + "\(parsed.chargeRates.count) charge rate, \(parsed.aliases.count) alias, \(parsed.users.count) user, "
                  + "\(parsed.resources.count) resource rules; policy: \(parsed.policy.shares.count) share, "
                  + "\(parsed.policy.quotaGroups.count) quota group entries; fingerprint \(parsed.fingerprintText)")
            if db != nil {
                let store = try await StoreLocation.open(db, mustExist: true)
                for line in try await CoverageCheck.lines(parsed, store: store) { print(line) }
            }
        }
    }
}

struct Rebuild: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Recompute every summary from the raw records with the configuration (raw records are never changed).",
        discussion: "PostgreSQL rebuilds its rollups (reports do this by themselves when the configuration changed); SQLite, whose reports apply the configuration as they scan, fills its fact blocks again from the job table.")

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var configuration: ConfigOption

    func run() async throws {
        let opened = try await configuration.open(database, mustExist: true)
        // Opening already rebuilt if the configuration changed; otherwise rebuild now.
        let stats: RebuildStats
        if let rebuilt = opened.rebuilt { stats = rebuilt } else { stats = try await opened.store.rebuild() }
        // SQLite keeps no summary rows: its rebuild fills the fact blocks again.
        let rows = stats.dayRows + stats.monthRows == 0 ? "" : ": \(stats.dayRows) daily and \(stats.monthRows) monthly rows"
        print("rebuilt summaries from \(stats.records) records\(rows) "
              + "in \(fixedPoint(stats.seconds, places: 2)) s (configuration \(stats.fingerprint))")
    }
}

struct Users: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The user directory: display names, e-mail and organisation per user.",
        subcommands: [Import.self, List.self])

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add or replace directory entries from a CSV file with a header: user,name,email,organisation.",
            discussion: "Entries in the config file's [[user]] tables win over imported ones. Summaries by organisation are rebuilt.")

        @Argument(help: "The CSV file.")
        var file: String

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var configuration: ConfigOption

        func run() async throws {
            guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
                printError("\(file): cannot read the file")
                throw ExitCode(1)
            }
            let (entries, issues) = try UserDirectoryCSV.parse(text, path: file)
            for issue in issues { printError(issue.description) }
            let opened = try await configuration.open(database, mustExist: false)
            let applied = try await opened.store.appliedConfiguration()
            let base: TallyConfiguration
            if let path = ConfigLoader.resolvePath(configuration.config) {
                base = try ConfigLoader.load(path: path).configuration
            } else if let text = applied?.text {
                base = try ConfigLoader.parse(text, path: applied?.path).configuration
            } else {
                base = .empty
            }
            let rebuilt = try await opened.store.importUsers(entries, source: file, configuration: base, text: applied?.text)
            print("imported \(entries.count) users from \(file)" + (issues.isEmpty ? "" : ", \(issues.count) lines skipped"))
            if let rebuilt { print("summaries rebuilt from \(rebuilt.records) records in \(fixedPoint(rebuilt.seconds, places: 2)) s") }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the directory (config entries and imported ones).")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var configuration: ConfigOption

        @Option(help: "Output: table, csv or json.")
        var format: OutputFormat = .table

        func run() async throws {
            let opened = try await configuration.open(database, mustExist: true)
            var table = Table(columns: ["user", "name", "email", "organisation"])
            for entry in opened.configuration.users.values.sorted(by: { $0.user < $1.user }) {
                table.rows.append([.text(entry.user), .text(entry.name ?? ""), .text(entry.email ?? ""),
                                   .text(entry.organisation ?? "")])
            }
            print(table.render(format), terminator: "")
        }
    }
}
