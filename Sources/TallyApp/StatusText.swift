import Foundation
import TallyCore
import TallyStore

/// `tally status` as text for a terminal.
public enum StatusText {
    public static func render(_ status: StoreStatus, path: String, calendar: PeriodCalendar) -> String {
        var out = "database: \(path)\n"
        out += "records: \(status.records)"
        if !status.recordsByState.isEmpty {
            out += " (" + status.recordsByState.map { "\($0.state.isEmpty ? "?" : $0.state) \($0.count)" }
                .joined(separator: ", ") + ")"
        }
        out += "\n"
        if let coverage = status.coverage {
            out += "usage from \(calendar.formatDateTime(coverage.lowerBound)) to \(calendar.formatDateTime(coverage.upperBound)) (\(calendar.zoneName))\n"
        } else {
            out += "no usage recorded yet\n"
        }
        out += "rejected lines: \(status.rejectedLines)\n"
        if status.flaggedLines > 0 {
            out += "records kept with a flag (repaired or doubtful, still charged): \(status.flaggedLines)\n"
        }
        if !status.sources.isEmpty {
            var table = Table(columns: ["format", "source", "runs", "lines", "records", "new", "updated", "unchanged",
                                        "rejected", "skipped", "last_read"],
                              numericColumns: Set(2...9))
            for source in status.sources {
                table.rows.append([
                    .text(source.format), .text(source.path), .integer(source.runs),
                    .integer(Int64(source.totals.linesRead)), .integer(Int64(source.totals.records)),
                    .integer(Int64(source.totals.inserted)), .integer(Int64(source.totals.updated)),
                    .integer(Int64(source.totals.unchanged)), .integer(Int64(source.totals.rejected)),
                    .integer(Int64(source.totals.skipped)), .text(calendar.formatDateTime(source.lastSeen)),
                ])
            }
            out += "\nsources:\n" + table.renderText()
        }
        if !status.recentRejections.isEmpty {
            out += "\nmost recent rejected lines:\n"
            for rejection in status.recentRejections {
                out += "  \(rejection)\n"
            }
        }
        if !status.recentFlags.isEmpty {
            out += "\nmost recent flagged records:\n"
            for flag in status.recentFlags {
                out += "  \(flag)\n"
            }
        }
        return out
    }
}
