import ArgumentParser
import Foundation
import TallyApp
import TallyCore
import TallyStore

struct Coverage: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coverage",
        abstract: "Which days each cluster's data covers, the gaps, and rejected lines per source.",
        discussion: """
            A day is covered when any job used resources or ended on it (UTC). A gap is a run of
            days between the first and last covered day with nothing at all: a collector that was
            down, a missing log file, or a genuinely idle cluster. Reports over a gap rest on no data.
            """)

    @OptionGroup var database: DatabaseOptions

    @Option(help: "Output: table, csv or json.")
    var format: OutputFormat = .table

    @Option(help: "List at most this many gaps per cluster in the table (all in csv/json).")
    var gaps = 5

    func run() async throws {
        let store = try await StoreLocation.open(database.db, mustExist: true)
        let calendar = PeriodCalendar(timeZone: TimeZone(identifier: "UTC")!)
        func day(_ number: Int64) -> String { calendar.format(UTCDay.start(number)) }
        var table = Table(columns: ["site", "cluster", "first_day", "last_day", "days_with_data", "gap_days", "gaps"],
                          numericColumns: [4, 5])
        for entry in try await store.coverage() {
            let listed = format == .table ? Array(entry.gaps.prefix(gaps)) : entry.gaps
            var text = listed.map { $0.lowerBound == $0.upperBound ? day($0.lowerBound) : "\(day($0.lowerBound))..\(day($0.upperBound))" }
                .joined(separator: " ")
            if listed.count < entry.gaps.count { text += " (+\(entry.gaps.count - listed.count) more)" }
            table.rows.append([.text(entry.site), .text(entry.cluster), .text(day(entry.firstDay)), .text(day(entry.lastDay)),
                               .integer(entry.daysWithData), .integer(entry.gapDays), .text(text)])
        }
        print(table.render(format), terminator: "")
        guard format == .table else { return }
        let snapshots = try await store.snapshotCoverage()
        if !snapshots.isEmpty {
            var gapsTable = Table(columns: ["site", "cluster", "source", "snapshots", "first", "last", "gaps"],
                                  numericColumns: [3])
            for entry in snapshots {
                let listed = entry.gaps.prefix(gaps).map { "\(calendar.formatDateTime($0.from))..\(calendar.formatDateTime($0.to))" }
                var text = listed.joined(separator: " ")
                if entry.gaps.count > listed.count { text += " (+\(entry.gaps.count - listed.count) more)" }
                gapsTable.rows.append([.text(entry.site), .text(entry.cluster), .text(entry.format),
                                       .integer(Int64(entry.snapshots)), .text(calendar.formatDateTime(entry.first)),
                                       .text(calendar.formatDateTime(entry.last)), .text(text.isEmpty ? "none" : text)])
            }
            print("\nsnapshot sources (gaps: longer than 1.5 × the source's usual interval; usage in them may be missing):")
            print(gapsTable.renderText(), terminator: "")
            for entry in snapshots {
                if let warning = entry.warning { print("warning: \(entry.site)/\(entry.cluster) \(entry.format): \(warning)") }
            }
        }
        let status = try await store.status()
        var sources = Table(columns: ["format", "source", "lines", "records", "rejected", "skipped"], numericColumns: [2, 3, 4, 5])
        for source in status.sources {
            sources.rows.append([.text(source.format), .text(source.path), .integer(Int64(source.totals.linesRead)),
                                 .integer(Int64(source.totals.records)), .integer(Int64(source.totals.rejected)),
                                 .integer(Int64(source.totals.skipped))])
        }
        print("\nsources (\(status.rejectedLines) rejected lines in all; tally status lists the latest):")
        print(sources.renderText(), terminator: "")
    }
}
