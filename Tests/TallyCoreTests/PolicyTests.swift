import Foundation
import Testing
@testable import TallyCore

/// The worked examples of ../shared/reference/formats-and-policies.md §2 and §3, as numbers.
@Suite struct FairShareExampleTests {
    @Test func slurmDecayAfterOneAndTwoHalfLives() {
        let week = 604_800.0
        // D = 1 − 0.693 / T½ per second: after one half-life 0.500073, after two its square.
        let decay = DecayedUsage(halfLife: week, at: 0)
        let d = 1 - 0.693 / week
        #expect(abs(pow(d, 300) - 0.99965631) < 1e-8)
        #expect(abs(pow(d, 86_400) - 0.90574) < 1e-5)
        #expect(abs(pow(d, week) - 0.500073) < 1e-6)
        // One second of usage one half-life ago now weighs 0.500073, two half-lives ago 0.500073².
        let one = decay.usage(weight: 1, over: -604_801..<(-604_800))
        let two = decay.usage(weight: 1, over: -1_209_601..<(-1_209_600))
        #expect(abs(one - 0.500073) < 1e-5)
        #expect(abs(two - 0.500073 * 0.500073) < 1e-5)
        // Billing 16 for 300 s just ended: 16·300·D^300 = 4798.35 by Slurm's per-pass formula; the
        // continuous integral lies between that and the undecayed 4800.
        let recent = decay.usage(weight: 16, over: -300..<0)
        #expect(recent > 4798.35 && recent < 4800)
        #expect(DecayedUsage(halfLife: 0, at: 100).usage(weight: 2, over: 0..<50) == 100)
    }

    @Test func classicFairShareFactor() {
        let shares = [ShareEntry(account: "X", shares: 30), ShareEntry(account: "Y", shares: 70),
                      ShareEntry(account: "X", user: "u1", shares: 1), ShareEntry(account: "X", user: "u2", shares: 1),
                      ShareEntry(account: "Y", user: "u3", shares: 1)]
        let usage: [AccountUser: Double] = [AccountUser(account: "X", user: "u1"): 30, AccountUser(account: "X", user: "u2"): 10,
                                            AccountUser(account: "Y", user: "u3"): 60]
        let rows = SlurmFairShare(shares: shares, usage: usage).rows(.classic)
        func row(_ user: String) -> SlurmFairShare.Row { rows.first { $0.user == user }! }
        #expect(abs(row("u1").normShares - 0.15) < 1e-12)
        #expect(abs(row("u1").effectiveUsage - 0.35) < 1e-12)
        #expect(abs(row("u1").fairShare! - 0.1984) < 1e-4)
        #expect(abs(row("u2").effectiveUsage - 0.25) < 1e-12)
        #expect(abs(row("u2").fairShare! - 0.3150) < 1e-4)
        #expect(abs(row("u3").normShares - 0.70) < 1e-12)
        #expect(abs(row("u3").effectiveUsage - 0.60) < 1e-12)
        #expect(abs(row("u3").fairShare! - 0.5520) < 1e-4)
        let x = rows.first { $0.account == "X" && $0.user == nil }!
        #expect(abs(x.effectiveUsage - 0.4) < 1e-12)
    }

    @Test func fairTreeRanking() {
        let shares = [ShareEntry(account: "A", shares: 40), ShareEntry(account: "B", shares: 60),
                      ShareEntry(account: "A", user: "a1", shares: 1), ShareEntry(account: "A", user: "a2", shares: 1),
                      ShareEntry(account: "B", user: "b1", shares: 1), ShareEntry(account: "B", user: "b2", shares: 3)]
        let usage: [AccountUser: Double] = [AccountUser(account: "A", user: "a1"): 100, AccountUser(account: "A", user: "a2"): 200,
                                            AccountUser(account: "B", user: "b1"): 500, AccountUser(account: "B", user: "b2"): 100]
        let rows = SlurmFairShare(shares: shares, usage: usage).rows(.fairTree)
        func row(_ account: String, _ user: String?) -> SlurmFairShare.Row { rows.first { $0.account == account && $0.user == user }! }
        #expect(abs(row("A", nil).levelFS! - 1.2) < 1e-12)
        #expect(abs(row("B", nil).levelFS! - 0.9) < 1e-12)
        #expect(abs(row("A", "a1").levelFS! - 1.5) < 1e-12)
        #expect(abs(row("A", "a2").levelFS! - 0.75) < 1e-12)
        #expect(abs(row("B", "b2").levelFS! - 4.5) < 1e-12)
        #expect(abs(row("B", "b1").levelFS! - 0.3) < 1e-12)
        #expect(row("A", "a1").fairShare == 1.0)
        #expect(row("A", "a2").fairShare == 0.75)
        #expect(row("B", "b2").fairShare == 0.5)
        #expect(row("B", "b1").fairShare == 0.25)
        #expect(row("A", nil).fairShare == nil)
    }

    @Test func fairTreeTiesShareARank() {
        let shares = [ShareEntry(account: "A", shares: 1), ShareEntry(account: "A", user: "x", shares: 1),
                      ShareEntry(account: "A", user: "y", shares: 1), ShareEntry(account: "A", user: "z", shares: 1)]
        // x and y never ran: both have infinite level fair-share and share the top rank.
        let usage: [AccountUser: Double] = [AccountUser(account: "A", user: "z"): 10]
        let rows = SlurmFairShare(shares: shares, usage: usage).rows(.fairTree)
        let factors = Dictionary(uniqueKeysWithValues: rows.compactMap { row in row.user.map { ($0, row.fairShare!) } })
        #expect(factors == ["x": 1.0, "y": 1.0, "z": 1.0 / 3])
    }

    @Test func condorRealPriorityWorkedExample() {
        let day: Int64 = 86_400
        var accountant = CondorAccountant(settings: CondorPrioritySettings(), at: 2 * day)
        accountant.add(user: "A", group: nil, start: 0, end: 2 * day, weight: 100)
        var afterOneDay = CondorAccountant(settings: CondorPrioritySettings(), at: day)
        afterOneDay.add(user: "A", group: nil, start: 0, end: 2 * day, weight: 100)
        #expect(abs(afterOneDay.rows()[0].realPriority - 50.25) < 1e-9)
        let a = accountant.rows()[0]
        #expect(abs(a.realPriority - 75.125) < 1e-9)
        #expect(a.effectivePriority == a.realPriority * 1000)
        #expect(a.accumulatedUsageHours == 4800)
        #expect(a.resourcesInUse == 0)
        // The same run cut into many jobs gives the same priority: β composes.
        var pieces = CondorAccountant(settings: CondorPrioritySettings(), at: 2 * day)
        for hour in 0..<48 { pieces.add(user: "A", group: nil, start: Int64(hour) * 3600, end: Int64(hour + 1) * 3600, weight: 100) }
        #expect(abs(pieces.rows()[0].realPriority - 75.125) < 1e-9)
        // B arrives at RUP 0.5: the pie slices of the reference.
        let shareA = (1 / 75.125) / (1 / 75.125 + 1 / 0.5)
        #expect(abs(shareA * 100 - 0.66) < 0.01)
    }

    @Test func condorGroupsAndFactors() {
        var settings = CondorPrioritySettings()
        settings.groupFactors = ["group_cms": 500]
        settings.factors = ["group_cms.bob": 2000]
        var accountant = CondorAccountant(settings: settings, at: 3600)
        accountant.add(user: "alice", group: "group_cms", start: 0, end: 7200, weight: 4)
        accountant.add(user: "bob", group: "group_cms", start: 0, end: 1800, weight: 4)
        let rows = Dictionary(uniqueKeysWithValues: accountant.rows().map { ($0.name, $0) })
        #expect(rows["group_cms.alice"]?.priorityFactor == 500)
        #expect(rows["group_cms.bob"]?.priorityFactor == 2000)
        #expect(rows["group_cms"]?.isGroup == true)
        #expect(rows["group_cms"]?.resourcesInUse == 4)
        #expect(rows["group_cms.alice"]?.resourcesInUse == 4)
        #expect(rows["group_cms.bob"]?.resourcesInUse == 0)
    }
}

@Suite struct GroupQuotaExampleTests {
    func flat(_ groups: [(String, Double, Bool, Double)]) -> [String: GroupQuotaTree.Group] {
        let tree = GroupQuotaTree(groups: groups.map { QuotaGroupEntry(name: $0.0, staticQuota: $0.1, acceptSurplus: $0.2) },
                                  settings: QuotaSettings())
        let demand = Dictionary(uniqueKeysWithValues: groups.map { ($0.0, $0.3) })
        return Dictionary(uniqueKeysWithValues: tree.evaluate(pool: 100, demand: demand, usage: [:]).map { ($0.name, $0) })
    }

    @Test func surplusBetweenSiblings() {
        let one = flat([("a", 40, true, 100), ("b", 20, true, 100), ("c", 40, true, 10)])
        #expect(abs(one["a"]!.allocated - 60) < 1e-9)
        #expect(abs(one["b"]!.allocated - 30) < 1e-9)
        #expect(abs(one["c"]!.allocated - 10) < 1e-9)
        let two = flat([("a", 40, true, 45), ("b", 20, true, 100), ("c", 40, true, 10)])
        #expect(abs(two["a"]!.allocated - 45) < 1e-9)
        #expect(abs(two["b"]!.allocated - 45) < 1e-9)
        let three = flat([("a", 40, true, 100), ("b", 20, false, 100), ("c", 40, true, 10)])
        #expect(abs(three["a"]!.allocated - 70) < 1e-9)
        #expect(abs(three["b"]!.allocated - 20) < 1e-9)
        let four = flat([("a", 40, true, 100), ("b", 20, true, 100), ("c", 40, true, 30)])
        #expect(abs(four["a"]!.allocated - 140.0 / 3) < 1e-9)
        #expect(abs(four["b"]!.allocated - 70.0 / 3) < 1e-9)
        #expect(abs(four["c"]!.allocated - 30) < 1e-9)
    }

    func hierarchical(chemistryDemand: Double, physicsAccepts: Bool, oversubscription: Bool) -> [String: Double] {
        var settings = QuotaSettings()
        settings.allowOversubscription = oversubscription
        let tree = GroupQuotaTree(groups: [
            QuotaGroupEntry(name: "physics", staticQuota: 60, acceptSurplus: physicsAccepts),
            QuotaGroupEntry(name: "physics.hep", staticQuota: 40, acceptSurplus: true),
            QuotaGroupEntry(name: "physics.lep", staticQuota: 20, acceptSurplus: true),
            QuotaGroupEntry(name: "chemistry", staticQuota: 40, acceptSurplus: true),
        ], settings: settings)
        let result = tree.evaluate(pool: 100, demand: ["physics.hep": 100, "physics.lep": 5, "chemistry": chemistryDemand], usage: [:])
        return Dictionary(uniqueKeysWithValues: result.map { ($0.name, ($0.allocated * 1e6).rounded() / 1e6) })
    }

    @Test func hierarchicalSurplus() {
        for oversubscription in [false, true] {
            let busy = hierarchical(chemistryDemand: 100, physicsAccepts: false, oversubscription: oversubscription)
            #expect(busy["physics.hep"] == 55 && busy["physics.lep"] == 5 && busy["chemistry"] == 40, "\(busy)")
            let idle = hierarchical(chemistryDemand: 10, physicsAccepts: false, oversubscription: oversubscription)
            #expect(idle["physics.hep"] == 55 && idle["physics.lep"] == 5 && idle["chemistry"] == 10, "\(idle)")
        }
        let accepting = hierarchical(chemistryDemand: 10, physicsAccepts: true, oversubscription: false)
        #expect(accepting["physics.hep"] == 85 && accepting["physics.lep"] == 5 && accepting["chemistry"] == 10, "\(accepting)")
    }

    @Test func dynamicQuotasShareWhatStaticOnesLeave() {
        let tree = GroupQuotaTree(groups: [
            QuotaGroupEntry(name: "a", staticQuota: 40), QuotaGroupEntry(name: "b", dynamicQuota: 0.5),
            QuotaGroupEntry(name: "c", dynamicQuota: 0.25), QuotaGroupEntry(name: "a.x", dynamicQuota: 0.5),
        ], settings: QuotaSettings())
        let quotas = tree.quotas(pool: 100)
        #expect(quotas["a"] == 40 && quotas["b"] == 30 && quotas["c"] == 15 && quotas["a.x"] == 20)
        #expect(quotas[GroupQuotaTree.rootName] == 15)
        #expect(tree.group(for: "A.X.alice") == "a.x")
        #expect(tree.group(for: "group_other") == GroupQuotaTree.rootName)
    }
}

@Suite struct AllocationTests {
    @Test func linearBurnProjectsTheExhaustionDay() {
        let day: Int64 = 86_400
        // 1,000 SU for 100 days, burning 20 SU a day: after 10 days 200 used, 800 left → 40 more days.
        let allocation = Allocation(name: "chem-2026", owner: "chem", amountMilli: 1_000_000, start: 0, end: 100 * day)
        let burn = BurnDown(allocation: allocation, at: 10 * day, usedByJobs: 200, charges: [], usedInRateWindow: 200,
                            rateWindow: 0..<(10 * day), users: [("bob", 150), ("carol", 50)])
        #expect(abs(burn.burnRatePerDay - 20) < 1e-9)
        #expect(burn.projectedExhaustion == 50 * day)
        #expect(!burn.lastsPastEnd)
        #expect(burn.remaining == 800)
        #expect(burn.warnings.isEmpty)
        #expect(burn.users.map(\.user) == ["bob", "carol"])
        // A credit of 100 SU moves it 5 days later; at 5 SU a day it outlives its end.
        let credited = BurnDown(allocation: allocation, at: 10 * day, usedByJobs: 200,
                                charges: [AllocationCharge(allocation: "chem-2026", at: day, amountMilli: -100_000, note: "refund")],
                                usedInRateWindow: 200, rateWindow: 0..<(10 * day), users: [])
        #expect(credited.projectedExhaustion == 55 * day)
        let slow = BurnDown(allocation: allocation, at: 10 * day, usedByJobs: 50, charges: [], usedInRateWindow: 50,
                            rateWindow: 0..<(10 * day), users: [])
        #expect(slow.projectedExhaustion == nil && slow.lastsPastEnd)
    }

    @Test func unusableAllocationsAreNamed() {
        let good = Allocation(name: "a", owner: "chem", amountMilli: 1000, start: 0, end: 10)
        #expect(good.problem == nil)
        var wrong = good
        wrong.dimension = .gpuModel
        #expect(wrong.problem?.contains("account, a group or a user") == true)
        wrong = good
        wrong.end = 0
        #expect(wrong.problem == "the end must be after the start")
        wrong = good
        wrong.userLimitsMilli = ["bob": -1]
        #expect(wrong.problem == "the limit of bob is negative")
    }

    @Test func thresholdsAndUserLimitsWarn() {
        let allocation = Allocation(name: "p", owner: "physics", amountMilli: 100_000, start: 0, end: 1000,
                                    thresholds: [80, 100], userLimitsMilli: ["alice": 10_000])
        let burn = BurnDown(allocation: allocation, at: 500, usedByJobs: 85, charges: [], usedInRateWindow: 85,
                            rateWindow: 0..<500, users: [("alice", 12)])
        #expect(burn.warnings.count == 2)
        #expect(burn.warnings[0].contains("passed 80 %"))
        #expect(burn.warnings[1].contains("alice"))
        let over = BurnDown(allocation: allocation, at: 500, usedByJobs: 101, charges: [], usedInRateWindow: 101,
                            rateWindow: 0..<500, users: [])
        #expect(over.warnings == ["allocation p is exhausted: 101.0 % used"])
        #expect(over.projectedExhaustion == nil && !over.lastsPastEnd)
    }
}

@Suite struct PreemptionTests {
    @Test func eachStrategyOrdersItsOwnWay() {
        let jobs = [
            PreemptionPlanner.RunningJob(jobID: "1", user: "u1", submitter: "g1.u1", group: "g1", cores: 4, start: 0),
            PreemptionPlanner.RunningJob(jobID: "2", user: "u2", submitter: "g2.u2", group: "g2", cores: 4, start: 900),
            PreemptionPlanner.RunningJob(jobID: "3", user: "u3", submitter: "g2.u3", group: "g2", cores: 8, start: 500),
            PreemptionPlanner.RunningJob(jobID: "4", user: "u4", submitter: "g3.u4", group: "g3", cores: 8, start: 990),
            PreemptionPlanner.RunningJob(jobID: "5", user: "u5", submitter: "g4.u5", group: "g4", cores: 8, start: 0),
        ]
        let planner = PreemptionPlanner(at: 1000, need: 8, forGroup: "g4", minimumRuntime: 60)
        let plans = planner.plans(running: jobs, effectivePriority: ["g1.u1": 5000, "g2.u2": 900, "g2.u3": 20_000],
                                  overQuota: ["g2": 10, "g1": 2])
        let byStrategy = Dictionary(uniqueKeysWithValues: plans.map { ($0.strategy, $0.evict.map(\.job.jobID)) })
        // Job 4 has run 10 s (< 60 s guaranteed) and job 5 is the claimant group's own.
        #expect(byStrategy[.priority] == ["3"])
        #expect(byStrategy[.quota] == ["2", "3"])
        #expect(byStrategy[.badput] == ["2", "1"])
        #expect(plans.allSatisfy { $0.satisfied })
        #expect(plans.first { $0.strategy == .badput }?.badputCoreSeconds == Int64(4400))
    }
}

@Suite struct FairShareEdgeTests {
    /// Sibling accounts with equal level fair-share have their children merged and ranked together.
    @Test func tiedAccountsMergeTheirChildren() {
        let shares = [ShareEntry(account: "A", shares: 1), ShareEntry(account: "B", shares: 1),
                      ShareEntry(account: "A", user: "a1", shares: 1), ShareEntry(account: "A", user: "a2", shares: 1),
                      ShareEntry(account: "B", user: "b1", shares: 1)]
        // A and B used the same (LF 1 each). Within A: a1 0, a2 100 → a1 ∞, a2 0.5; within B: b1 1.
        let usage: [AccountUser: Double] = [AccountUser(account: "A", user: "a2"): 100, AccountUser(account: "B", user: "b1"): 100]
        let rows = SlurmFairShare(shares: shares, usage: usage).rows(.fairTree)
        let factors = Dictionary(uniqueKeysWithValues: rows.compactMap { row in row.user.map { ($0, row.fairShare!) } })
        // Merged: a1 (∞) 3/3, b1 (1.0) 2/3, a2 (0.5) 1/3 — b1 ranks between A's users.
        #expect(factors == ["a1": 1.0, "b1": 2.0 / 3, "a2": 1.0 / 3])
    }

    /// Classic: a user with FairShare=parent takes its account's normalised shares and effective usage.
    @Test func classicParentSharesAreTheAccounts() {
        let shares = [ShareEntry(account: "X", shares: 1), ShareEntry(account: "Y", shares: 3),
                      ShareEntry(account: "X", user: "p", shares: nil), ShareEntry(account: "Y", user: "q", shares: 1)]
        let usage: [AccountUser: Double] = [AccountUser(account: "X", user: "p"): 50, AccountUser(account: "Y", user: "q"): 50]
        let rows = SlurmFairShare(shares: shares, usage: usage).rows(.classic)
        let p = rows.first { $0.user == "p" }!
        let x = rows.first { $0.account == "X" && $0.user == nil }!
        #expect(p.normShares == x.normShares && p.normShares == 0.25)
        #expect(p.effectiveUsage == x.effectiveUsage && p.effectiveUsage == 0.5)
        #expect(abs(p.fairShare! - pow(2, -2)) < 1e-12)
        // Fair Tree: a parent-share user ranks first among its siblings (LF = ∞).
        let tree = SlurmFairShare(shares: shares, usage: usage).rows(.fairTree)
        #expect(tree.first { $0.user == "p" }?.levelFS == .infinity)
    }

    @Test func durationsAsAdminsWriteThem() {
        #expect(DurationText.seconds("7-0") == 604_800)
        #expect(DurationText.seconds("1-12:00:00") == 129_600)
        #expect(DurationText.seconds("02:30:00") == 9000)
        #expect(DurationText.seconds("10:00") == 600)
        #expect(DurationText.seconds("7d") == 604_800)
        #expect(DurationText.seconds("12h") == 43_200)
        #expect(DurationText.seconds("90") == 90)
        #expect(DurationText.seconds("a week") == nil)
        #expect(DurationText.seconds("-5m") == nil)
    }
}
