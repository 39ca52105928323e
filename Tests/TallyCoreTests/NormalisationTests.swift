import Testing
@testable import TallyCore

@Suite struct GlobTests {
    @Test func wildcardsSetsAndCase() throws {
        let a100 = try Glob("a100*", caseInsensitive: true)
        #expect(a100.matches("A100-SXM4-80GB"))
        #expect(a100.matches("a100"))
        #expect(!a100.matches("ra100"))
        let nodes = try Glob("udc-an[0-9][0-9]")
        #expect(nodes.matches("udc-an07"))
        #expect(!nodes.matches("udc-an7"))
        #expect(try Glob("gpu?").matches("gpu1"))
        #expect(try Glob("*[!0-9]").matches("gpux"))
        #expect(!(try Glob("*[!0-9]").matches("gpu1")))
        #expect(try Glob("*a*b*").matches("xxaxxbxx"))
        #expect(try Glob("literal").isLiteral)
    }

    @Test func badPatternsAreErrors() {
        #expect(throws: GlobError.self) { try Glob("a100[") }
        #expect(throws: GlobError.self) { try Glob("[z-a]") }
        #expect(throws: GlobError.self) { try Glob("") }
    }
}

@Suite struct NormalisationTests {
    static let hour: Int64 = 3600
    static let instant: Int64 = 1_719_792_000 // 2024-07-01T00:00:00Z

    static func facts(start: Int64, wall: Int64, cores: Int64, gpus: Int64 = 0, memoryMiB: Int64 = 0,
                      submit: Int64? = nil) -> UsageFacts {
        UsageFacts(start: start, wallSeconds: wall, end: start + wall, submit: submit, state: .completed, cores: cores,
                   gpus: gpus, memoryMiB: memoryMiB, cpuSeconds: nil)
    }

    static func total(_ job: ChargedJob) -> UsageAmounts {
        var sum = UsageAmounts()
        job.forEachShare(in: Int64.min..<Int64.max) { _, amounts in sum += amounts }
        return sum
    }

    @Test func gpuPartitionChargesCoresPlusTwiceGPUs() throws {
        // 10 cores and 2 GPUs for 3 h at "cores + 2 × GPUs per hour": (10 + 2 × 2) × 3 = 42 SU.
        let rate = ChargeRate(name: "gpu", match: RuleMatch(partition: try Glob("gpu")), perCoreHourMilli: 1000,
                              perGPUHourMilli: 2000)
        let configuration = TallyConfiguration(chargeRates: [rate])
        let plan = Normaliser(configuration).plan(for: RuleSubject(partition: "gpu", gpuModel: "a100"))
        let amounts = Self.total(ChargedJob(facts: Self.facts(start: Self.instant, wall: 3 * Self.hour, cores: 10, gpus: 2),
                                            plan: plan))
        #expect(amounts.chargeMilli == 42 * 1000 * 3600)
        #expect(Metric.serviceUnits.value(amounts, unit: .hours) == 42)
        // Another partition matches no rate: 0 SU, never a guess.
        let other = Normaliser(configuration).plan(for: RuleSubject(partition: "standard"))
        #expect(Self.total(ChargedJob(facts: Self.facts(start: 0, wall: 3600, cores: 10), plan: other)).chargeMilli == 0)
    }

    @Test func benchmarkChangeSplitsAJobAtThatInstant() throws {
        let old = BenchmarkRule(match: RuleMatch(), scoreMilli: 10_000, validity: Validity(until: Self.instant))
        let new = BenchmarkRule(match: RuleMatch(), scoreMilli: 14_500, validity: Validity(from: Self.instant))
        let plan = Normaliser(TallyConfiguration(benchmarks: [old, new])).plan(for: RuleSubject(cluster: "c"))
        #expect(plan.boundaries == [Self.instant])
        // 4 cores from one hour before to two hours after: 4 × (1 × 10 + 2 × 14.5) = 156 HS23-hours.
        let job = ChargedJob(facts: Self.facts(start: Self.instant - Self.hour, wall: 3 * Self.hour, cores: 4), plan: plan)
        var pieces: [Int: UsageAmounts] = [:]
        job.forEachShare(in: Int64.min..<Int64.max) { pieces[$0] = $1 }
        #expect(pieces[0]?.coreSeconds == Int64(4 * 3600))
        #expect(pieces[1]?.coreSeconds == Int64(4 * 2 * 3600))
        #expect(Self.total(job).benchmarkMilli == 156 * 1000 * 3600)
        // A window ending exactly at the change sees only the old score.
        var before = UsageAmounts()
        job.forEachShare(in: 0..<Self.instant) { _, amounts in before += amounts }
        #expect(before.benchmarkMilli == 40 * 1000 * 3600)
    }

    @Test func mostSpecificRuleWinsAndUnmatchedCoreHoursAreCounted() throws {
        let cluster = BenchmarkRule(match: RuleMatch(cluster: try Glob("c")), scoreMilli: 10_000)
        let partition = BenchmarkRule(match: RuleMatch(cluster: try Glob("c"), partition: try Glob("largemem")), scoreMilli: 12_250)
        let normaliser = Normaliser(TallyConfiguration(benchmarks: [partition, cluster]))
        let job = Self.facts(start: 0, wall: 3600, cores: 2)
        #expect(Self.total(ChargedJob(facts: job, plan: normaliser.plan(for: RuleSubject(cluster: "c", partition: "largemem")))).benchmarkMilli == 24_500 * 3600)
        #expect(Self.total(ChargedJob(facts: job, plan: normaliser.plan(for: RuleSubject(cluster: "c", partition: "standard")))).benchmarkMilli == 20_000 * 3600)
        let elsewhere = Self.total(ChargedJob(facts: job, plan: normaliser.plan(for: RuleSubject(cluster: "d"))))
        #expect(elsewhere.benchmarkMilli == 0)
        #expect(elsewhere.coreSecondsBenchmarked == 0)
        #expect(elsewhere.coreSeconds == 7200)
    }

    @Test func minimumChargeIsToppedUpOncePerJob() throws {
        let rate = ChargeRate(match: RuleMatch(), perCoreHourMilli: 1000, minimumMilli: 100)
        let plan = Normaliser(TallyConfiguration(chargeRates: [rate])).plan(for: RuleSubject())
        // One core for one minute is 1/60 SU: charged the minimum, 0.1 SU.
        let short = Self.total(ChargedJob(facts: Self.facts(start: 0, wall: 60, cores: 1), plan: plan))
        #expect(short.chargeMilli == 100 * 3600)
        // Across a day boundary the top-up lands where the job is counted; the sum is still 0.1 SU.
        let spanning = ChargedJob(facts: Self.facts(start: 86_400 - 30, wall: 60, cores: 1), plan: plan)
        var first = UsageAmounts(), second = UsageAmounts()
        spanning.forEachShare(in: 0..<86_400) { _, amounts in first += amounts }
        spanning.forEachShare(in: 86_400..<172_800) { _, amounts in second += amounts }
        #expect(first.chargeMilli == 30 * 1000)
        #expect(first.chargeMilli + second.chargeMilli == 100 * 3600)
        // A long job is charged what it used.
        #expect(Self.total(ChargedJob(facts: Self.facts(start: 0, wall: 7200, cores: 1), plan: plan)).chargeMilli == 2000 * 3600)
    }

    @Test func gpuClassesAndPerClassRates() throws {
        let a100 = GPUClassRule(patterns: [try Glob("a100*", caseInsensitive: true)], className: "A100", factorMilli: 4000)
        let rate = ChargeRate(match: RuleMatch(), perCoreHourMilli: 1000, perGPUHourMilli: 2000, perGPUClassHourMilli: ["A100": 3000])
        let normaliser = Normaliser(TallyConfiguration(gpuClasses: [a100], chargeRates: [rate]))
        let job = Self.facts(start: 0, wall: 3600, cores: 1, gpus: 2)
        let onA100 = Self.total(ChargedJob(facts: job, plan: normaliser.plan(for: RuleSubject(gpuModel: "A100-SXM4-80GB"))))
        #expect(onA100.gpuWeightedMilli == 8000 * 3600)
        #expect(onA100.chargeMilli == 7000 * 3600)
        let unknown = normaliser.plan(for: RuleSubject(gpuModel: "mi250"))
        #expect(unknown.pieces[0].keys.gpuClass == GPUClasses.unclassified)
        #expect(Self.total(ChargedJob(facts: job, plan: unknown)).gpuWeightedMilli == 2000 * 3600)
    }

    @Test func datedAliasRenamesFromItsDateOn() throws {
        let alias = AliasRule(kind: .group, from: "physics_old", to: "physics", validity: Validity(from: Self.instant))
        let directory = ["bob": UserEntry(user: "bob", organisation: "Physics")]
        let plan = Normaliser(TallyConfiguration(aliases: [alias], users: directory))
            .plan(for: RuleSubject(user: "bob", group: "physics_old"))
        #expect(plan.pieces.map(\.keys.group) == ["physics_old", "physics"])
        #expect(plan.pieces.allSatisfy { $0.keys.organisation == "Physics" })
        #expect(plan.pieceIndex(at: Self.instant - 1) == 0)
        #expect(plan.pieceIndex(at: Self.instant) == 1)
    }

    @Test func waitAndJobSizeAreCountedWithTheJob() {
        let facts = Self.facts(start: 1000, wall: 100, cores: 8, gpus: 1, submit: 400)
        let amounts = facts.amounts(in: 0..<10_000)
        #expect(amounts.waitSeconds == 600)
        #expect(amounts.startedJobs == 1)
        #expect(amounts.jobCores == 8)
        #expect(facts.amounts(in: 0..<1050).jobCores == 0)
        #expect(JobBuckets.sizeLabel(JobBuckets.sizeIndex(cores: 8)) == "5-8")
        #expect(JobBuckets.sizeLabel(JobBuckets.sizeIndex(cores: 1)) == "1")
        #expect(JobBuckets.wallLabel(JobBuckets.wallIndex(seconds: 3600)) == "1-5h")
        #expect(JobBuckets.wallLabel(JobBuckets.wallIndex(seconds: 3599)) == "30-60m")
    }

    @Test func firstHostOfNodeLists() {
        #expect(HostList.first("udc-an[07-09,12]") == "udc-an07")
        #expect(HostList.first("gpu01,gpu02") == "gpu01")
        #expect(HostList.first("node3/0*4+node4/0*4") == "node3")
        #expect(HostList.first("None") == "")
        #expect(HostList.first(nil) == "")
    }

    @Test func capacityFromPartitionsOrTheWholeCluster() {
        let day: Int64 = 86_400
        let model = CapacityModel([
            ResourceEntry(cluster: "c", partition: "standard", cores: 100),
            ResourceEntry(cluster: "c", partition: "gpu", cores: 20, gpus: ["a100": 4, "v100": 2]),
            ResourceEntry(cluster: "c", cores: 150, validity: Validity(from: 10 * day)),
        ])
        // Before the cluster-wide entry: the partitions' sum; after it: the entry.
        #expect(model.capacity(cluster: "c", partition: nil, over: 0..<day).coreSeconds == 120 * day)
        #expect(model.capacity(cluster: "c", partition: nil, over: 9 * day..<11 * day).coreSeconds == 120 * day + 150 * day)
        #expect(model.capacity(cluster: "c", partition: "gpu", over: 0..<day).gpuSeconds == 6 * day)
        #expect(model.capacity(cluster: "c", partition: "gpu", gpuModel: "a100", over: 0..<day).gpuSeconds == 4 * day)
        let used = UsageAmounts(jobs: 0, wallSeconds: 0, coreSeconds: 60 * day, cpuSeconds: 0, gpuSeconds: 0,
                                memoryMiBSeconds: 0, coreSecondsWithCPU: 0)
        #expect(Metric.coreUtilisation.value(used, unit: .hours, capacity: Capacity(coreSeconds: 120 * day)) == 50)
    }
}
