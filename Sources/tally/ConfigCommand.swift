import ArgumentParser
import Foundation
import TallyApp
import TallyConfig
import TallyCore
import TallyStore

struct Config: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Check and show the configuration (benchmarks, GPU classes, charge rates, aliases, users, resources).",
        subcommands: [Check.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
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
        commandName: "rebuild",
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
        commandName: "users",
        abstract: "The user directory: display names, e-mail and organisation per user.",
        subcommands: [Import.self, SyncLDAP.self, List.self])

    /// Stores directory entries and applies the configuration again (organisations feed
    /// summaries): the configuration given, else the one the database last used.
    static func store(_ entries: [UserEntry], source: String, database: DatabaseOptions,
                      configuration: ConfigOption) async throws -> RebuildStats? {
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
        return try await opened.store.importUsers(entries, source: source, configuration: base, text: applied?.text)
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
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
            let rebuilt = try await Users.store(entries, source: file, database: database, configuration: configuration)
            print("imported \(entries.count) users from \(file)" + (issues.isEmpty ? "" : ", \(issues.count) lines skipped"))
            if let rebuilt { print("summaries rebuilt from \(rebuilt.records) records in \(fixedPoint(rebuilt.seconds, places: 2)) s") }
        }
    }

    struct SyncLDAP: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sync-ldap",
            abstract: "Add or replace directory entries from LDAP: uid, display name, mail, organisation, groups, PI.",
            discussion: """
                Runs ldapsearch (Debian: ldap-utils; /etc/ldap/ldap.conf applies, e.g. TLS_CACERT) twice, paged: \
                people under --base matching --user-filter, then groups under --group-base (default --base) \
                whose memberUid, member or uniqueMember name them. A person's PI is their --pi-attribute \
                (manager, a DN or a uid). Entries in the config file's [[user]] tables win over synced \
                ones; run it from a timer to keep the directory current.
                """)

        @Option(help: ArgumentHelp("The directory, e.g. ldaps://ldap.example.org.", valueName: "url"))
        var url: String
        @Option(help: ArgumentHelp("Where people are, e.g. ou=people,dc=example,dc=org.", valueName: "dn"))
        var base: String
        @Option(name: .customLong("bind-dn"), help: ArgumentHelp("Bind as this DN (default: anonymous).", valueName: "dn"))
        var bindDN: String?
        @Option(name: .customLong("password-file"), help: ArgumentHelp("File holding the bind password.", valueName: "path"))
        var passwordFile: String?
        @Option(name: .customLong("user-filter"), help: "Filter for people.")
        var userFilter = LDAPDirectory.Options.defaultUserFilter
        @Option(name: .customLong("group-base"), help: ArgumentHelp("Where groups are (default: --base).", valueName: "dn"))
        var groupBase: String?
        @Option(name: .customLong("group-filter"), help: "Filter for groups.")
        var groupFilter = LDAPDirectory.Options.defaultGroupFilter
        @Option(name: .customLong("name-attribute"), help: "Display name attributes, first found wins.")
        var nameAttributes: [String] = LDAPDirectory.Options.defaultNameAttributes
        @Option(name: .customLong("organisation-attribute"), help: "Organisation attribute (o, ou, departmentNumber…).")
        var organisationAttribute = "o"
        @Option(name: .customLong("pi-attribute"), help: "The attribute naming a person's PI.")
        var piAttribute = "manager"
        @Option(help: "Seconds for connecting and for each search.")
        var timeout = 30

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var configuration: ConfigOption

        func run() async throws {
            var options = LDAPDirectory.Options(url: url, base: base)
            options.bindDN = bindDN; options.passwordFile = passwordFile
            options.userFilter = userFilter; options.groupBase = groupBase; options.groupFilter = groupFilter
            options.nameAttributes = nameAttributes; options.organisationAttribute = organisationAttribute
            options.piAttribute = piAttribute; options.timeoutSeconds = timeout
            let result: LDAPDirectory.Result
            do {
                result = try await LDAPDirectory(options: options).read()
            } catch let failure as LDAPDirectory.Failure {
                printError("\(url): \(failure)")
                throw ExitCode(1)
            }
            for dn in result.skipped { printError("\(dn): no \(options.uidAttribute) attribute; skipped") }
            let rebuilt = try await Users.store(result.entries, source: url, database: database, configuration: configuration)
            let withPI = result.entries.filter { $0.pi != nil }.count
            print("synced \(result.entries.count) users from \(url) (\(result.groups) groups, \(withPI) with a PI)"
                  + (result.skipped.isEmpty ? "" : ", \(result.skipped.count) entries skipped"))
            if let rebuilt { print("summaries rebuilt from \(rebuilt.records) records in \(fixedPoint(rebuilt.seconds, places: 2)) s") }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "Show the directory (config entries and imported ones).")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var configuration: ConfigOption

        @Option(help: "Output: table, csv or json.")
        var format: OutputFormat = .table

        func run() async throws {
            let opened = try await configuration.open(database, mustExist: true)
            var table = Table(columns: ["user", "name", "email", "organisation", "pi", "groups"])
            for entry in opened.configuration.users.values.sorted(by: { $0.user < $1.user }) {
                table.rows.append([.text(entry.user), .text(entry.name ?? ""), .text(entry.email ?? ""),
                                   .text(entry.organisation ?? ""), .text(entry.pi ?? ""), .text(entry.groups.joined(separator: " "))])
            }
            print(table.render(format), terminator: "")
        }
    }
}
