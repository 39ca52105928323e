import ArgumentParser
import Foundation
import TallyApp
import TallyCore
import TallyStore

/// `tally source`: the inputs a database was read from, and taking out a mistaken one.
struct SourceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "source",
        abstract: "List the inputs the database was read from, or take out what one of them added.",
        subcommands: [List.self, Remove.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "Every input read, with its runs and totals.")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var zone: TimeZoneOption

        func run() async throws {
            let store = try await ConfiguredStore.open(database.db, config: nil, mustExist: true).store
            let status = try await store.status()
            let calendar = PeriodCalendar(timeZone: try zone.resolve(site: await store.currentConfiguration().site))
            var table = Table(columns: ["format", "source", "runs", "records", "rejected", "flagged", "last_read"],
                              numericColumns: [2, 3, 4, 5])
            for source in status.sources {
                table.rows.append([.text(source.format), .text(source.path), .integer(source.runs),
                                   .integer(Int64(source.totals.records)), .integer(Int64(source.totals.rejected)),
                                   .integer(Int64(source.totals.flagged)), .text(calendar.formatDateTime(source.lastSeen))])
            }
            print(table.renderText(), terminator: "")
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "remove",
            abstract: "Take out what reading an input added: its records, rejected and flagged lines, runs and checkpoint.",
            discussion: """
                For an ingest of the wrong file or with the wrong options. The path is matched exactly
                as `tally source list` shows it. Records that a later input replaced belong to that
                input and stay. Reading the file again afterwards starts from its beginning.
                """)

        @Argument(help: ArgumentHelp("The input's path, as `tally source list` shows it.", valueName: "path"))
        var path: String

        @Option(help: "Only the input read as this format (slurm, pbs, …); default: any.")
        var format: String?

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let store = try await StoreLocation.open(database.db, mustExist: true)
            let removal = try await store.removeSource(path: path, format: format)
            guard removal.sources > 0 else {
                printError("error: no input '\(path)'\(format.map { " read as \($0)" } ?? "") in \(store.location) (tally source list shows them)")
                throw ExitCode(1)
            }
            print("removed \(path): \(removal.records) records, \(removal.rejectedLines) rejected and "
                  + "\(removal.flaggedLines) flagged lines")
        }
    }
}
