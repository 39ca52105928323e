import Foundation

/// Reads `APEL-summary-job-message: v0.2` (what APEL clients send with `send_summaries`), with the
/// checks APEL's loader makes: required fields, integer values, a month not in the future, end
/// times inside the month. A record that fails is rejected with its line; the others are kept.
public enum APELSummaryImport {
    public static func parse(_ text: String, file: String, now: Int64) throws(APELMessage.Failure)
        -> (rows: [APELSummaryRecord], rejections: [Rejection]) {
        let message = try APELMessage(parsing: text)
        guard message.kind == .summary else {
            throw APELMessage.Failure(line: 1, reason: "not a summary message: \(message.header)")
        }
        var rows: [APELSummaryRecord] = []
        var rejections: [Rejection] = []
        for record in message.records {
            do {
                rows.append(try row(record, now: now))
            } catch {
                rejections.append(Rejection(position: SourcePosition(file: file, line: error.line), field: nil,
                                            reason: error.reason,
                                            excerpt: record.fields.map { "\($0): \($1)" }.sorted().joined(separator: "; ")))
            }
        }
        return (rows, rejections)
    }

    static func row(_ record: APELMessage.Record, now: Int64) throws(APELMessage.Failure) -> APELSummaryRecord {
        func fail(_ reason: String) -> APELMessage.Failure { APELMessage.Failure(line: record.line, reason: reason) }
        guard let site = record.value("Site") else { throw fail("Site is required") }
        let month = try record.integer("Month", required: true)!
        let year = try record.integer("Year", required: true)!
        guard (1...12).contains(month) else { throw fail("Month \(month) is not 1–12") }
        let number = year * 12 + month - 1
        let first = UTCMonth.firstDay(number) * UTCDay.seconds, end = UTCMonth.firstDay(number + 1) * UTCDay.seconds
        guard first <= now else { throw fail("\(year)-\(month) is in the future") }
        let wall = try record.integer("WallDuration", required: true)!
        let cpu = try record.integer("CpuDuration", required: true)!
        let jobs = try record.integer("NumberOfJobs", required: true)!
        guard wall >= 0, cpu >= 0, jobs >= 0 else { throw fail("negative duration or job count") }
        let earliest = try record.integer("EarliestEndTime") ?? first
        let latest = try record.integer("LatestEndTime") ?? (end - 1)
        guard earliest >= first, latest < end, earliest <= latest else {
            throw fail("EarliestEndTime and LatestEndTime must lie in \(year)-\(month), earliest first")
        }
        let type = record.value("ServiceLevelType"), level = record.value("ServiceLevel")
        guard (type == nil) == (level == nil) else { throw fail("ServiceLevelType and ServiceLevel come together") }
        if let level, Double(level) == nil { throw fail("ServiceLevel is not a number: \(level)") }
        var key = APELSummaryRecord.Key(site: site, month: month, year: year, serviceLevelType: type ?? "",
                                        serviceLevel: level ?? "")
        key.globalUserName = record.value("GlobalUserName")
        key.vo = record.fields["VO"].flatMap { $0.isEmpty ? nil : $0 }
        key.voGroup = record.fields["VOGroup"].flatMap { $0.isEmpty ? nil : $0 }
        key.voRole = record.fields["VORole"].flatMap { $0.isEmpty ? nil : $0 }
        key.submitHost = record.value("SubmitHost")
        key.infrastructureType = record.value("InfrastructureType")
        key.nodeCount = try record.integer("NodeCount")
        key.processors = try record.integer("Processors")
        return APELSummaryRecord(key: key, earliestEndTime: earliest, latestEndTime: latest, wallDuration: wall,
                                 cpuDuration: cpu, numberOfJobs: jobs)
    }
}
