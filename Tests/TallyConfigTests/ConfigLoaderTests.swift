import Foundation
import Testing
import TallyConfig
import TallyCore
import TallyTestSupport

@Suite struct ConfigLoaderTests {
    @Test func theExampleConfigIsValidAndMeansWhatItSays() throws {
        let loaded = try ConfigLoader.load(path: Fixtures.example("tally.toml"))
        #expect(loaded.warnings.isEmpty)
        let configuration = loaded.configuration
        #expect(configuration.site.name == "uva-rc")
        #expect(configuration.benchmarkKind == "HS23")
        #expect(configuration.benchmarks.count == 4)
        // Dates without an offset are midnight in the [site] zone (EDT in July: UTC−4).
        #expect(configuration.benchmarks[1].validity.from == 1_719_806_400)
        #expect(configuration.benchmarks[2].scoreMilli == 12_250)
        let rates = Dictionary(uniqueKeysWithValues: configuration.chargeRates.map { ($0.name, $0) })
        #expect(Set(rates.keys) == ["standard", "parallel", "largemem", "gpu", "dev"])
        #expect(rates["gpu"]?.perGPUHourMilli == 2000)
        #expect(rates["gpu"]?.perGPUClassHourMilli == ["A100": 3000])
        #expect(rates["dev"]?.perCoreHourMilli == 0)
        #expect(configuration.aliases.first?.kind == .account)
        #expect(configuration.users["jsmith"]?.organisation == "Physics")
        #expect(configuration.resources[1].gpus == ["a100": 64, "v100": 40])
        #expect(configuration.gpuClasses[0].matches(model: "NVIDIA_A100-SXM4-80GB"))
    }

    @Test func everyErrorIsNamedByLine() {
        let text = """
            [site]
            name = 3
            bogus = 1
            [[benchmark]]
            score = 10
            parition = "x"
            valid_from = 2024-01-01
            [[benchmark]]
            score = 11
            valid_from = 2024-06-01
            [[gpu_class]]
            models = ["a100["]
            class = "A"
            [[alias]]
            kind = "team"
            from = "a"
            to = "b"
            [[charge_rate]]
            core_hour = 1
            valid_from = 2024-05-01
            valid_until = 2024-04-01
            [[benchmark]]
            score = 5
            type = "HS06"
            cluster = "other"
            """
        let (_, issues) = ConfigLoader.check(text, path: "t.toml")
        let byLine = Dictionary(grouping: issues.filter { $0.severity == .error }, by: { $0.line ?? 0 })
        #expect(byLine[2]?.first?.message.contains("'name' must be a string") == true)
        #expect(byLine[3]?.first?.message.contains("unknown key 'bogus'") == true)
        #expect(byLine[6]?.first?.message.contains("unknown key 'parition'") == true)
        #expect(byLine[8]?.first?.message.contains("overlaps the one at line 4") == true)
        #expect(byLine[12]?.first?.message.contains("'[' is not closed") == true)
        #expect(byLine[15]?.first?.message.contains("kind 'team'") == true)
        #expect(byLine[18]?.first?.message.contains("valid_until is not after valid_from") == true)
        #expect(byLine[22]?.first?.message.contains("differs from 'HS23'") == true)
        #expect(throws: ConfigError.self) { try ConfigLoader.parse(text) }
        #expect(issues.allSatisfy { $0.description.hasPrefix("t.toml:") })
    }

    @Test func syntaxErrorsCarryTOMLsPosition() {
        let (configuration, issues) = ConfigLoader.check("[site]\nname = \"x\"\ncluster = = 2\n", path: "s.toml")
        #expect(configuration == nil)
        #expect(issues.first?.line == 3)
        #expect(issues.first?.description.hasPrefix("s.toml:3: error: TOML syntax") == true)
    }

    @Test func fingerprintFollowsMeaningNotLayout() throws {
        let base = "[[charge_rate]]\npartition = \"gpu\"\ncore_hour = 1\ngpu_hour = 2\n"
        let fingerprint = try ConfigLoader.parse(base).configuration.fingerprint
        let reformatted = "# rates\n\n[[charge_rate]]\ngpu_hour = 2.0   # per GPU\npartition = \"gpu\"\ncore_hour = 1.0\n"
        #expect(try ConfigLoader.parse(reformatted).configuration.fingerprint == fingerprint)
        let changed = base.replacingOccurrences(of: "gpu_hour = 2", with: "gpu_hour = 3")
        #expect(try ConfigLoader.parse(changed).configuration.fingerprint != fingerprint)
        // Display names and capacities are applied at report time: no rebuild for them.
        let named = base + "[[user]]\nuser = \"a\"\nname = \"A\"\n[[resource]]\ncluster = \"c\"\ncores = 10\n"
        #expect(try ConfigLoader.parse(named).configuration.fingerprint == fingerprint)
        // An organisation moves usage between report rows: that does rebuild.
        let organised = base + "[[user]]\nuser = \"a\"\norganisation = \"x\"\n"
        #expect(try ConfigLoader.parse(organised).configuration.fingerprint != fingerprint)
    }

    @Test func userDirectoryCSV() throws {
        let text = "login,organization,name,email\nalice,Physics,\"Alice, A.\",a@x\nbob,,Bob\n,Chem,Nobody,n@x\n"
        let (entries, issues) = try UserDirectoryCSV.parse(text, path: "users.csv")
        #expect(entries == [UserEntry(user: "alice", name: "Alice, A.", email: "a@x", organisation: "Physics"),
                            UserEntry(user: "bob", name: "Bob")])
        #expect(issues.map(\.line) == [4])
        #expect(throws: ConfigError.self) { try UserDirectoryCSV.parse("name,email\nx,y\n", path: "u.csv") }
    }
}

@Suite struct PolicyConfigTests {
    @Test func theExamplePolicyMeansWhatItSays() throws {
        let loaded = try ConfigLoader.load(path: Fixtures.example("policy.toml"))
        #expect(loaded.warnings.isEmpty)
        let policy = loaded.configuration.policy
        #expect(policy.fairShare.halfLife == 604_800)
        #expect(policy.fairShare.usage == .billing)
        #expect(policy.shares.count == 5)
        #expect(policy.shares.last?.shares == nil)
        #expect(policy.priority.halfLife == 86_400)
        #expect(policy.priority.factors == ["group_cms.prod": 100])
        #expect(policy.priority.groupFactors == ["group_atlas": 500])
        #expect(policy.quota.pool == 1000)
        #expect(policy.quotaGroups.map(\.name) == ["group_atlas", "group_cms", "group_cms.prod"])
        let quotas = GroupQuotaTree(groups: policy.quotaGroups, settings: policy.quota).quotas(pool: 1000)
        #expect(quotas["group_atlas"] == 600 && quotas["group_cms"] == 300 && quotas["group_cms.prod"] == 240)
        // Policy does not change what summaries hold: the fingerprint ignores it.
        #expect(loaded.configuration.fingerprint == TallyConfiguration.empty.fingerprint)
    }

    @Test func policyErrorsAreNamedByLine() {
        let text = """
            [fairshare]
            half_life = "a week"
            usage = "gpus"
            [[share]]
            account = "a"
            user = "u"
            parent = "root"
            [[share]]
            account = "a"
            user = "u"
            [[quota_group]]
            name = "g"
            dynamic = 1.5
            [[quota_group]]
            name = "x.y"
            quota = 3
            accept_surplus = "yes"
            [quota]
            pool = -1
            surplus = true
            """
        let (_, issues) = ConfigLoader.check(text, path: "p.toml")
        let byLine = Dictionary(grouping: issues, by: { $0.line ?? 0 })
        #expect(byLine[2]?.first?.message.contains("must be a duration") == true)
        #expect(byLine[3]?.first?.message.contains("billing or cores") == true)
        #expect(byLine[7]?.first?.message.contains("parent is its account") == true)
        #expect(byLine[8]?.first?.message.contains("listed twice") == true)
        #expect(byLine[13]?.first?.message.contains("fraction from 0 to 1") == true)
        #expect(byLine[14]?.contains { $0.severity == .warning && $0.message.contains("parent group is not listed") } == true)
        #expect(byLine[17]?.first?.message.contains("must be true or false") == true)
        #expect(byLine[19]?.first?.message.contains("must not be negative") == true)
        #expect(byLine[20]?.first?.message.contains("unknown key 'surplus'") == true)
    }
}
