import Foundation
import Testing
import TallyApp
import TallyCollectors
@testable import TallyCore
@testable import TallyStore

/// Tally's allocated CPU seconds per account and user must equal what Slurm's own `sreport` says
/// for the same jobs and window (formats-and-policies §1.9).
struct SreportCapture {
    let directory: URL
    let timeZone: TimeZone

    /// The window sreport says it reported (`… Utilization 2026-11-23T12:00:00 - 2026-11-23T12:59:59`),
    /// in the capture host's zone. Not the range it was asked for: sreport caps the end at the last
    /// complete hour, so a workload that crosses an hour is only partly in it.
    func window() throws -> Range<Int64> {
        let text = try String(contentsOf: directory.appendingPathComponent("sreport-account-by-user-seconds.txt"),
                              encoding: .utf8)
        let line = try #require(text.split(separator: "\n").first { $0.contains("Utilization") && $0.contains(" - ") })
        let stamps = line.split(separator: " ").filter { $0.count == 19 && $0.dropFirst(10).first == "T" }
        try #require(stamps.count == 2)
        let calendar = PeriodCalendar(timeZone: timeZone)
        let from = try #require(calendar.parse(String(stamps[0])))
        let last = try #require(calendar.parse(String(stamps[1])))
        return from..<(last + 1)
    }

    /// `Cluster|Account|Login|Proper Name|Used|Energy` rows → [(account, login) : seconds].
    func usedSeconds(_ file: String, accountColumn: Int, loginColumn: Int) throws -> [String: Int64] {
        let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
        var result: [String: Int64] = [:]
        var inTable = false
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            if fields.first == "Cluster" { inTable = true; continue }
            guard inTable, fields.count >= 5, let used = Int64(fields[fields.count - 2]) else { continue }
            result["\(fields[accountColumn])/\(fields[loginColumn])"] = used
        }
        return result
    }
}

func checkAgainstSreport(_ capture: SreportCapture) async throws {
    let temporary = try TemporaryStore()
    let sacct = capture.directory.appendingPathComponent("sacct-duplicates.txt").path
    let result = try await temporary.ingest(sacct, options: SacctCollector.Options(timeZone: capture.timeZone))
    #expect(result.totals.rejected == 0)
    let window = try capture.window()
    let report = try await temporary.store.report(ReportQuery(
        window: window, period: .total, groupBy: [.account, .user], timeZone: capture.timeZone))
    var tally: [String: Int64] = [:]
    var byAccount: [String: Int64] = [:]
    for row in report.rows {
        tally["\(row.keys[0])/\(row.keys[1])", default: 0] += row.amounts.coreSeconds
        byAccount[row.keys[0], default: 0] += row.amounts.coreSeconds
    }
    let sreport = try capture.usedSeconds("sreport-account-by-user-seconds.txt", accountColumn: 1, loginColumn: 2)
    #expect(!sreport.isEmpty)
    for (key, used) in sreport {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let (account, login) = (parts[0], parts[1])
        if account == "root", login.isEmpty {
            #expect(report.total.coreSeconds == used, "cluster total")
        } else if login.isEmpty {
            #expect(byAccount[account, default: 0] == used, "account \(account)")
        } else {
            #expect(tally[key, default: 0] == used, "account \(account) user \(login)")
        }
    }
    // Every user Tally charged appears in sreport (nothing extra).
    for (key, seconds) in tally where seconds > 0 {
        #expect(sreport[key] != nil, "\(key) charged by Tally but not by sreport")
    }
    let byUser = try capture.usedSeconds("sreport-user-by-account-seconds.txt", accountColumn: 3, loginColumn: 1)
    for (key, used) in byUser {
        #expect(tally[key, default: 0] == used, "user-by-account \(key)")
    }
}

@Suite struct SreportEqualityTests {
    @Test func capturedSandboxMatchesSreport() async throws {
        let directory = URL(fileURLWithPath: Fixtures.path("slurm-sandbox"))
        try await checkAgainstSreport(SreportCapture(directory: directory, timeZone: utcZone))
    }

    /// CI runs ../shared/tools/slurm-sandbox.sh against a live Slurm 22.05 and points this at its output.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["TALLY_LIVE_SLURM_DIR"] != nil))
    func liveSlurmMatchesSreport() async throws {
        let path = try #require(ProcessInfo.processInfo.environment["TALLY_LIVE_SLURM_DIR"])
        let zone = ProcessInfo.processInfo.environment["TALLY_LIVE_SLURM_TZ"].flatMap(TimeZone.init(identifier:)) ?? .current
        try await checkAgainstSreport(SreportCapture(directory: URL(fileURLWithPath: path), timeZone: zone))
    }

    @Test func gpuSecondsMatchClusterUtilisation() async throws {
        let temporary = try TemporaryStore()
        try await temporary.ingest(Fixtures.path("slurm-sandbox/sacct-duplicates.txt"))
        let capture = SreportCapture(directory: URL(fileURLWithPath: Fixtures.path("slurm-sandbox")), timeZone: utcZone)
        let report = try await temporary.store.report(ReportQuery(window: try capture.window(), period: .total))
        // sreport-cluster-utilization-tres-seconds.txt: cpu Allocated 117, gres/gpu Allocated 8.
        #expect(report.total.coreSeconds == 117)
        #expect(report.total.gpuSeconds == 8)
        #expect(report.total.jobs == 28)
    }
}
