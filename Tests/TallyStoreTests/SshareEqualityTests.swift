import Foundation
import Testing
import TallyApp
import TallyCollectors
import TallyCore
import TallyStore

/// Tally's fair-share from the same jobs and association tree must agree with what Slurm's `sshare`
/// printed (Fair Tree, PriorityDecayHalfLife=7-0, billing weights as the sandbox configures them).
///
/// Tolerance: FairShare exactly (Fair Tree ranks are discrete); RawUsage within 3 % or 2
/// billing-seconds, NormUsage and EffectvUsage within 0.01, LevelFS within 3 %. Why not exact:
/// Slurm's decay thread charges a running job the wall-clock seconds between its passes, on its own
/// clock, up to when it notices the job finished — a second or so more than sacct's ElapsedRaw for
/// some jobs — and sshare prints usage truncated to whole billing-seconds.
func checkAgainstSshare(directory: URL, timeZone: TimeZone) async throws {
    let manifest = try String(contentsOf: directory.appendingPathComponent("MANIFEST.txt"), encoding: .utf8)
    let captured = try #require(manifest.range(of: "capture time (").map { manifest[$0.upperBound...].prefix(19) })
    let at = try #require(PeriodCalendar(timeZone: timeZone).parse(String(captured)))
    let temporary = try TemporaryStore()
    try await temporary.ingest(directory.appendingPathComponent("sacct-duplicates.txt").path,
                               options: SacctCollector.Options(timeZone: timeZone))
    let shares = try SacctmgrAssociations.read(path: directory.appendingPathComponent("sacctmgr-assoc.txt").path)
    var settings = FairShareSettings()
    settings.halfLife = 7 * 86_400
    let engine = PolicyEngine(store: temporary.store, configuration: .empty)
    let answer = try await engine.fairShare(at: at, shares: shares, settings: settings)
    #expect(answer.result.unlisted.isEmpty, "\(answer.result.unlisted)")
    let ours = answer.result.rows(.fairTree)

    let text = try String(contentsOf: directory.appendingPathComponent("sshare.txt"), encoding: .utf8)
    var compared = 0
    for line in text.split(separator: "\n").dropFirst() {
        let fields = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard fields.count >= 9, fields[0] != "root" || !fields[1].isEmpty else { continue }
        let user = fields[1].isEmpty ? nil : fields[1]
        let row = try #require(ours.first { $0.account == fields[0] && $0.user == user }, "no row for \(line)")
        let label = "\(fields[0])/\(fields[1])"
        let rawUsage = try #require(Double(fields[4]))
        #expect(abs(row.rawUsage - rawUsage) <= max(2, rawUsage * 0.03), "\(label) RawUsage \(row.rawUsage) vs \(rawUsage)")
        #expect(abs(row.normShares - (Double(fields[3]) ?? -1)) < 1e-6, "\(label) NormShares")
        if let norm = Double(fields[5]) { #expect(abs(row.normUsage - norm) < 0.01, "\(label) NormUsage \(row.normUsage) vs \(norm)") }
        if let effective = Double(fields[6]) {
            #expect(abs(row.effectiveUsage - effective) < 0.01, "\(label) EffectvUsage \(row.effectiveUsage) vs \(effective)")
        }
        if let fairShare = Double(fields[7]) { #expect(row.fairShare == fairShare, "\(label) FairShare \(String(describing: row.fairShare)) vs \(fairShare)") }
        if fields[8] == "inf" {
            #expect(row.levelFS == .infinity, "\(label) LevelFS")
        } else if let level = Double(fields[8]) {
            let ourLevel = row.levelFS ?? -1
            #expect(abs(ourLevel - level) <= level * 0.03, "\(label) LevelFS \(ourLevel) vs \(level)")
        }
        compared += 1
    }
    #expect(compared >= 4)
}

@Suite struct SshareEqualityTests {
    @Test func capturedSandboxMatchesSshare() async throws {
        try await checkAgainstSshare(directory: URL(fileURLWithPath: Fixtures.path("slurm-sandbox")), timeZone: utcZone)
    }

    /// CI runs ../shared/tools/slurm-sandbox.sh against a live Slurm 22.05 and points this at its output.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["TALLY_LIVE_SLURM_DIR"] != nil))
    func liveSlurmMatchesSshare() async throws {
        let path = try #require(ProcessInfo.processInfo.environment["TALLY_LIVE_SLURM_DIR"])
        let zone = ProcessInfo.processInfo.environment["TALLY_LIVE_SLURM_TZ"].flatMap(TimeZone.init(identifier:)) ?? .current
        try await checkAgainstSshare(directory: URL(fileURLWithPath: path), timeZone: zone)
    }
}
