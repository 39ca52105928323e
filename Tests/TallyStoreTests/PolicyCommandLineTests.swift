import Foundation
import Testing
import TallyCore
import TallyTestSupport

/// `tally alloc`, `quota`, `fairshare` and `preempt` through the real binary, on both backends.
@Suite(.serialized) struct PolicyCommandLineTests {
    static let header = "JobID|JobIDRaw|User|Group|Account|Partition|Cluster|NodeList|Submit|Start|End|ElapsedRaw|AllocTRES|State"

    static func line(_ id: Int, user: String, account: String, submit: String, start: String, end: String, elapsed: Int64,
                     cores: Int, state: String = "COMPLETED") -> String {
        "\(id)|\(id)|\(user)|\(account)|\(account)|standard|c1|c001|\(submit)|\(start)|\(end)|\(elapsed)|cpu=\(cores),mem=1G,node=1|\(state)"
    }

    static let config = """
        [[charge_rate]]
        partition = "standard"
        core_hour = 1

        [quota]
        pool = 100

        [[quota_group]]
        name = "group_a"
        quota = 40
        accept_surplus = true

        [[quota_group]]
        name = "group_b"
        quota = 20
        accept_surplus = true

        [[quota_group]]
        name = "group_c"
        quota = 40
        accept_surplus = true

        [[share]]
        account = "group_a"
        shares = 40

        [[share]]
        account = "group_b"
        shares = 20

        [[share]]
        account = "group_c"
        shares = 40
        """

    /// A synthetic linear burn: chem runs one 20-core job of one hour every day → 20 SU a day.
    @Test(arguments: Backend.all) func allocationBurnDownOnALinearBurn(backend: Backend) async throws {
        let temporary = try await TemporaryStore(backend)
        var lines = [Self.header]
        for day in 1...30 {
            let date = String(format: "2026-01-%02d", day)
            lines.append(Self.line(day, user: day % 3 == 0 ? "carol" : "bob", account: "chem", submit: "\(date)T09:00:00",
                                   start: "\(date)T10:00:00", end: "\(date)T11:00:00", elapsed: 3600, cores: 20))
        }
        let sacct = try temporary.write("jobs.txt", lines.joined(separator: "\n") + "\n")
        let config = try temporary.write("tally.toml", Self.config)
        let db = temporary.path
        #expect(try TallyProcess.run(["ingest", "slurm", "--db", db, "--config", config, "--timezone", "UTC", sacct]).status == 0)
        let created = try TallyProcess.run(["alloc", "create", "chem-2026", "--db", db, "--account", "chem", "--amount", "1000",
                                            "--start", "2026-01-01", "--end", "2026-04-10", "--user-limit", "carol=150"])
        #expect(created.status == 0, "\(created.stderr)")
        let again = try TallyProcess.run(["alloc", "create", "chem-2026", "--db", db, "--account", "chem", "--amount", "5",
                                          "--start", "2026-01-01", "--end", "2026-02-01"])
        #expect(again.status != 0 && again.stderr.contains("exists"))

        // After 10 days: 200 SU used at 20 SU/day → the remaining 800 last 40 more days: 2026-02-20.
        let shown = try TallyProcess.run(["alloc", "show", "chem-2026", "--db", db, "--at", "2026-01-11", "--format", "json"])
        #expect(shown.status == 0, "\(shown.stderr)")
        let burn = try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])
        #expect(burn["usedByJobs"] as? Double == 200)
        #expect(abs((burn["burnRatePerDay"] as? Double ?? 0) - 20) < 1e-9)
        #expect(burn["projectedExhaustion"] as? Int64 == PeriodCalendar(timeZone: TimeZone(identifier: "UTC")!).parse("2026-02-20"))

        // A refund of 100 SU moves the projection five days; the table says so in words.
        let charged = try TallyProcess.run(["alloc", "charge", "chem-2026", "--db", db, "--amount", "-100", "--note", "node failure refund",
                                            "--at", "2026-01-05"])
        #expect(charged.status == 0, "\(charged.stderr)")
        let table = try TallyProcess.run(["alloc", "show", "chem", "--db", db, "--at", "2026-01-11"])
        #expect(table.stdout.contains("projected exhaustion  2026-02-25T00:00:00"), "\(table.stdout)")
        #expect(table.stdout.contains("100.000 SU (10.0 %), of which -100.000 charged by hand"), "\(table.stdout)")
        #expect(table.stdout.contains("bob"))
        // After 30 days carol has used 10 × 20 = 200 SU against her limit of 150; 600 − 100 = 500 of 1000 → no threshold yet.
        let late = try TallyProcess.run(["alloc", "show", "chem-2026", "--db", db, "--at", "2026-02-01"])
        #expect(late.stderr.contains("warning: user carol has used 200.0 of a limit of 150.0"), "\(late.stderr)")
        #expect(!late.stderr.contains("passed 80"))
        let listed = try TallyProcess.run(["alloc", "list", "--db", db, "--format", "csv"])
        #expect(listed.stdout.contains("chem-2026,chem,account,1000.000,su,2026-01-01T00:00:00,2026-04-11T00:00:00,\"80,100\",carol=150.000"),
                "\(listed.stdout)")
    }

    /// Three flat groups on a 100-core pool, as worked example 1 of the reference: a and b want
    /// more than their quota, c leaves 30 cores unused.
    @Test(arguments: Backend.all) func quotaStatusFairshareAndPreemption(backend: Backend) async throws {
        let temporary = try await TemporaryStore(backend)
        let lines = [
            Self.header,
            // Running at 12:00: a uses 70 (over its 40), b 20, c 10. More work was waiting at 12:00.
            Self.line(1, user: "ann", account: "group_a", submit: "2026-03-02T08:00:00", start: "2026-03-02T09:00:00",
                      end: "2026-03-02T15:00:00", elapsed: 6 * 3600, cores: 40),
            Self.line(2, user: "amy", account: "group_a", submit: "2026-03-02T11:00:00", start: "2026-03-02T11:50:00",
                      end: "2026-03-02T13:00:00", elapsed: 70 * 60, cores: 30),
            Self.line(3, user: "bea", account: "group_b", submit: "2026-03-02T10:00:00", start: "2026-03-02T10:00:00",
                      end: "2026-03-02T14:00:00", elapsed: 4 * 3600, cores: 20),
            Self.line(4, user: "cal", account: "group_c", submit: "2026-03-02T11:00:00", start: "2026-03-02T11:00:00",
                      end: "2026-03-02T13:00:00", elapsed: 2 * 3600, cores: 10),
            Self.line(5, user: "ann", account: "group_a", submit: "2026-03-02T11:30:00", start: "2026-03-02T15:00:00",
                      end: "2026-03-02T16:00:00", elapsed: 3600, cores: 30),
            Self.line(6, user: "bea", account: "group_b", submit: "2026-03-02T11:30:00", start: "2026-03-02T14:00:00",
                      end: "2026-03-02T15:00:00", elapsed: 3600, cores: 80),
            // Waiting at 12:00, cancelled at 12:30 before it started: demand, not usage.
            Self.line(7, user: "ann", account: "group_a", submit: "2026-03-02T11:40:00", start: "None",
                      end: "2026-03-02T12:30:00", elapsed: 0, cores: 10, state: "CANCELLED by 0"),
        ]
        let sacct = try temporary.write("jobs.txt", lines.joined(separator: "\n") + "\n")
        let config = try temporary.write("tally.toml", Self.config)
        let db = temporary.path
        #expect(try TallyProcess.run(["ingest", "slurm", "--db", db, "--config", config, "--timezone", "UTC", sacct]).status == 0)

        let status = try TallyProcess.run(["quota", "status", "--db", db, "--at", "2026-03-02T12:00", "--format", "csv"])
        #expect(status.status == 0, "\(status.stderr)")
        // Demand: a 110, b 100, c 10 → allocated a 60, b 30, c 10 (reference example 1). Usage: a 70 > 40.
        #expect(status.stdout.contains("group_a,yes,40.00,70.00,110.00,60.00,30.00,0.00,yes"), "\(status.stdout)")
        #expect(status.stdout.contains("group_b,yes,20.00,20.00,100.00,30.00,0.00,0.00,no"), "\(status.stdout)")
        #expect(status.stdout.contains("group_c,yes,40.00,10.00,10.00,10.00,0.00,30.00,no"), "\(status.stdout)")
        #expect(status.stderr.contains("rests on 7 records"), "\(status.stderr)")

        let report = try TallyProcess.run(["quota", "report", "--db", db, "--from", "2026-03-02", "--to", "2026-03-02",
                                           "--format", "csv"])
        #expect(report.status == 0, "\(report.stderr)")
        // Jobs without a group may use what the groups' quotas leave: nothing here.
        #expect(report.stdout.contains("2026-03-02,<none>,0.00,0.00,0,,"), "\(report.stdout)")
        // group_a: 40×6 h + 30×70 min + 30×1 h = 240 + 35 + 30 = 305 core-hours over 24 h; peak 70.
        #expect(report.stdout.contains("2026-03-02,group_a,40.00,12.71,70,31.8,175.0"), "\(report.stdout)")
        #expect(report.stdout.contains("2026-03-02,group_b,20.00,6.67,80,33.3,400.0"), "\(report.stdout)")

        let fairshare = try TallyProcess.run(["fairshare", "--db", db, "--at", "2026-03-03", "--half-life", "0", "--format", "csv"])
        #expect(fairshare.status == 0, "\(fairshare.stderr)")
        // Usage without decay (cores × seconds): a 305 h, b 160 h, c 20 h of 485 h.
        #expect(fairshare.stdout.contains(" group_a,,40,0.400000,1098000,0.628866,0.628866,,0.636066"), "\(fairshare.stdout)")
        #expect(fairshare.stdout.contains("  group_c,cal,1,1.000000,72000,0.041237,1.000000,"), "\(fairshare.stdout)")
        let userprio = try TallyProcess.run(["fairshare", "--db", db, "--style", "userprio", "--at", "2026-03-02T12:00", "--format", "csv"])
        #expect(userprio.stdout.hasPrefix("User Name,Effective Priority,Real Priority,Priority Factor,Res In Use,Total Usage (wghted-hrs)"))
        #expect(userprio.stdout.contains("group_a.ann,"))

        let preempt = try TallyProcess.run(["preempt", "--db", db, "--need", "20-cores", "--for", "group_c", "--at", "2026-03-02T12:00",
                                            "--min-runtime", "30m", "--format", "csv"])
        #expect(preempt.status == 0, "\(preempt.stderr)")
        // amy's job has run 10 minutes: protected. By quota: group_a (30 over) gives back ann's 40 cores.
        #expect(!preempt.stdout.contains(",2,amy,"))
        #expect(preempt.stdout.contains("1,1,ann,group_a,40,3.00,120.00"), "\(preempt.stdout)")
        // By badput: bea's 20 cores for 2 h (40 core-hours) beat ann's 120.
        #expect(preempt.stdout.contains("1,3,bea,group_b,20,2.00,40.00"), "\(preempt.stdout)")
    }
}
