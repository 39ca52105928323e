import AsyncHTTPClient
import Foundation
import Testing
import TallyApp
import TallyConfig
import TallyCore
import TallyStore
import TallyTestSupport

/// The policy routes answer what `PolicyEngine` (and so the CLI) answers for the same store.
@Suite(.serialized) struct PolicyRouteTests {
    static let config = """
        [[charge_rate]]
        partition = "cpu"
        core_hour = 2

        [quota]
        pool = 100

        [[quota_group]]
        name = "group_a"
        quota = 40
        accept_surplus = true

        [[quota_group]]
        name = "group_b"
        quota = 20
        accept_surplus = false

        [[share]]
        account = "group_a"
        shares = 3

        [[share]]
        account = "group_b"
        shares = 1
        """

    static func record(_ id: Int, user: String, account: String, start: Int64, wall: Int64, cores: Int) -> String {
        """
        {"site":"siteA","cluster":"c1","job_id":"\(id)","user":"\(user)","account":"\(account)","partition":"cpu",\
        "submit":\(start - 60),"start":\(start),"end":\(start + wall),"wall_seconds":\(wall),"cores":\(cores),"state":"completed"}
        """
    }

    @Test(arguments: Backend.all) func policyRoutesAgreeWithTheEngine(backend: Backend) async throws {
        let server = try await RunningServer.start(backend)
        _ = try await server.store.apply(try ConfigLoader.parse(Self.config).configuration, text: Self.config)
        let t0: Int64 = 1_772_409_600  // 2026-03-02T00:00:00Z
        let records = [
            Self.record(1, user: "ann", account: "group_a", start: t0, wall: 8 * 3600, cores: 60),
            Self.record(2, user: "bob", account: "group_b", start: t0 + 3600, wall: 6 * 3600, cores: 30),
            Self.record(3, user: "cy", account: "other", start: t0 + 2 * 3600, wall: 3600, cores: 4),
        ]
        let writer = try await server.token(scopes: ["write"], sites: ["siteA"])
        #expect(try await server.call(.POST, "/api/v1/records", token: writer, body: "[\(records.joined(separator: ","))]").status == 200)
        let reader = try await server.token(scopes: ["read"])
        let admin = try await server.token(scopes: ["admin"])
        let engine = PolicyEngine(store: server.store, configuration: await server.store.currentConfiguration())
        let at = t0 + 4 * 3600

        // Fair-share: the same rows as the engine, infinite level fair-share as "inf".
        let fairshare = try await server.call(.GET, "/api/v1/fairshare?at=\(at)&half_life=7d", token: reader)
        #expect(fairshare.status == 200, "\(fairshare.body)")
        let expected = try await engine.fairShare(at: at).result.rows(.fairTree)
        let rows = try #require(fairshare.object["rows"] as? [[String: Any]])
        #expect(rows.count == expected.count)
        for (row, want) in zip(rows, expected) {
            #expect(row["account"] as? String == want.account)
            #expect(abs((row["rawUsage"] as? Double ?? -1) - want.rawUsage) < 1e-6)
            #expect((row["fairShare"] as? Double) == want.fairShare)
        }
        let basis = try #require(fairshare.object["basis"] as? [String: Any])
        #expect(basis["records"] as? Int == 3)
        let csv = try await server.call(.GET, "/api/v1/fairshare?at=\(at)", token: reader, headers: [("Accept", "text/csv")])
        #expect(csv.body.hasPrefix("Account,User,RawShares,NormShares,RawUsage,NormUsage,EffectvUsage,FairShare,LevelFS\n"))
        let userprio = try await server.call(.GET, "/api/v1/fairshare?style=userprio&at=\(at)", token: reader)
        let principals = try #require(userprio.object["rows"] as? [[String: Any]])
        #expect(principals.contains { $0["name"] as? String == "group_a.ann" && $0["resourcesInUse"] as? Double == 60 })

        // Quota at 04:00: a uses 60 of 40 (accepts surplus), b 30 of 20 (does not: capped at 20).
        let quota = try await server.call(.GET, "/api/v1/quota?at=\(at)", token: reader)
        #expect(quota.status == 200, "\(quota.body)")
        let groups = try #require(quota.object["groups"] as? [[String: Any]])
        let byName = Dictionary(uniqueKeysWithValues: groups.map { ($0["name"] as? String ?? "", $0) })
        #expect(byName["group_a"]?["subtreeUsage"] as? Double == 60)
        #expect(byName["group_b"]?["allocated"] as? Double == 20)
        let status = try await engine.quotaStatus(at: at)
        #expect(byName["group_a"]?["allocated"] as? Double == status.groups.first { $0.name == "group_a" }?.allocated)
        let report = try await server.call(.GET, "/api/v1/quota/report?from=2026-03-02&to=2026-03-02&period=day", token: reader)
        #expect(report.status == 200, "\(report.body)")

        // Allocations: admin creates, read cannot; burn-down from the same charge rates as reports.
        let allocation = """
            {"name":"a-2026","dimension":"account","owner":"group_a","unit":"su","amountMilli":10000000,"start":\(t0),\
            "end":\(t0 + 100 * 86_400),"thresholds":[80,100],"userLimitsMilli":{},"createdAt":0}
            """
        #expect(try await server.call(.POST, "/api/v1/allocations", token: reader, body: allocation).status == 403)
        #expect(try await server.call(.POST, "/api/v1/allocations", token: admin, body: allocation).status == 201)
        #expect(try await server.call(.POST, "/api/v1/allocations", token: admin, body: allocation).status == 409)
        // The same checks as `tally alloc create`: an allocation belongs to an account, group or user.
        let misplaced = try await server.call(.POST, "/api/v1/allocations", token: admin,
                                              body: allocation.replacingOccurrences(of: "\"account\"", with: "\"gpu-model\"")
                                                  .replacingOccurrences(of: "a-2026", with: "b-2026"))
        #expect(misplaced.status == 400 && misplaced.body.contains("account, a group or a user"), "\(misplaced.body)")
        #expect(try await server.call(.POST, "/api/v1/allocations/a-2026/charges", token: admin,
                                      body: #"{"allocation":"x","at":\#(t0),"amountMilli":5000,"note":"storage"}"#).status == 201)
        let burn = try await server.call(.GET, "/api/v1/allocations/a-2026?at=\(t0 + 86_400)", token: reader)
        #expect(burn.status == 200, "\(burn.body)")
        let figures = try #require(burn.object["burnDown"] as? [String: Any])
        // 60 cores × 8 h × 2 SU per core-hour = 960 SU, plus 5 charged by hand.
        #expect(figures["usedByJobs"] as? Double == 960)
        #expect(figures["charged"] as? Double == 5)
        #expect(try await server.call(.GET, "/api/v1/allocations/none", token: reader).status == 404)
        let all = try await server.call(.GET, "/api/v1/allocations?at=\(t0 + 86_400)", token: reader)
        #expect((all.json as? [[String: Any]])?.count == 1)

        // Preemption for group_b at 04:00: ann's 60 cores are the only candidate outside group_b.
        let preempt = try await server.call(.GET, "/api/v1/preempt?need=10&for=group_b&at=\(at)", token: reader)
        #expect(preempt.status == 200, "\(preempt.body)")
        let plans = try #require(preempt.object["plans"] as? [[String: Any]])
        #expect(plans.count == 3)
        #expect((preempt.object["notes"] as? [String])?.isEmpty == true)
        #expect(plans.allSatisfy { ($0["evict"] as? [[String: Any]])?.first.flatMap { ($0["job"] as? [String: Any])?["jobID"] as? String } == "1" })
        #expect(try await server.call(.GET, "/api/v1/preempt?for=group_b", token: reader).status == 400)
    }
}
