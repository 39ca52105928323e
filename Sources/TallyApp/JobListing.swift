import Foundation
import TallyCore

/// Raw records as a table for `tally jobs`.
public enum JobListing {
    public static let columns = [
        "cluster", "job_id", "user", "account", "group", "partition", "qos", "state", "submit", "start", "end",
        "wall_seconds", "cores", "nodes", "gpus", "gpu_model", "mem_alloc_bytes", "mem_used_bytes", "cpu_seconds",
        "exit", "source",
    ]

    public static let numericColumns: Set<Int> = [11, 12, 13, 14, 16, 17, 18]

    public static func table(_ records: [UsageRecord], calendar: PeriodCalendar) -> Table {
        Table(columns: columns, rows: records.map { row($0, calendar: calendar) }, numericColumns: numericColumns)
    }

    public static func row(_ record: UsageRecord, calendar: PeriodCalendar) -> [Table.Cell] {
        func time(_ value: Int64?) -> Table.Cell {
            value.map { .text(calendar.formatDateTime($0)) } ?? .empty
        }
        func text(_ value: String?) -> Table.Cell { value.map { .text($0) } ?? .empty }
        func int(_ value: Int64?) -> Table.Cell { value.map { .integer($0) } ?? .empty }
        let exit = record.exitCode.map { code in "\(code):\(record.exitSignal ?? 0)" }
        return [
            .text(record.cluster), .text(record.jobID), text(record.user), text(record.account), text(record.group),
            text(record.partition), text(record.qos), .text(record.rawState), time(record.submit),
            time(record.start), time(record.end), .integer(record.wallSeconds), .integer(Int64(record.cores)),
            .integer(Int64(record.nodeCount)), .integer(Int64(record.gpus)), text(record.gpuModel),
            int(record.memoryAllocated), int(record.memoryUsedPeak), int(record.cpuSeconds), text(exit),
            .text(record.origin.description),
        ]
    }
}
