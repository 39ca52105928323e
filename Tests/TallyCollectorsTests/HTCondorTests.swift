import Foundation
import Testing
@testable import TallyCollectors
@testable import TallyCore

func collectHTCondor(path: String, cluster: String? = nil) async throws -> Collected {
    try await collect(path: path, HTCondorCollector(file: path, options: .init(cluster: cluster)), batchSize: 2)
}

@Suite struct HTCondorCollectorTests {
    /// formats-and-policies §3.1's ad, twice, as a history file with banners.
    static let history = """
        AccountingGroup = "group_physics.alice"
        AcctGroup = "group_physics"
        AcctGroupUser = "alice"
        ClusterId = 1234
        CompletionDate = 1709296200
        CpusProvisioned = 4
        EnteredCurrentStatus = 1709296200
        GlobalJobId = "ap1.example.org#1234.0#1709283540"
        GPUsProvisioned = 1
        JobCurrentStartDate = 1709287200
        JobStartDate = 1709287200
        JobStatus = 4
        LastRemoteHost = "slot1_3@node12.example.org"
        MemoryProvisioned = 8192
        NumJobStarts = 1
        Owner = "alice"
        ProcId = 0
        QDate = 1709283540
        RemoteSysCpu = 120.0
        RemoteUserCpu = 33900.0
        RemoteWallClockTime = 9000.0
        RequestCpus = 4
        RequestMemory = ifthenelse(MemoryUsage =!= undefined, MemoryUsage, 8192)
        *** Offset = 0 ClusterId = 1234 ProcId = 0 Owner = "alice" CompletionDate = 1709296200
        ClusterId = 1235
        ProcId = 0
        Owner = "bob"
        QDate = 1709283540
        GlobalJobId = "ap1.example.org#1235.0#1709283540"
        JobStatus = 3
        EnteredCurrentStatus = 1709290000
        JobCurrentStartDate = 1709289000
        RemoteWallClockTime = 1500.0
        CumulativeSuspensionTime = 500
        RequestCpus = 2
        x509UserProxyVOName = "atlas"
        this line is not an attribute
        *** Offset = 900 ClusterId = 1235 ProcId = 0 Owner = "bob" CompletionDate = 0

        """

    @Test func longFormHistory() async throws {
        let result = try await collectHTCondor(path: try temporaryFile(Array(Self.history.utf8), suffix: ""))
        #expect(result.records.count == 2)
        #expect(result.rejections.map(\.position.line) == [37])
        let alice = try #require(result.record("1234.0"))
        #expect(alice.cluster == "ap1.example.org")
        #expect(alice.user == "alice")
        #expect(alice.account == "group_physics")
        #expect(alice.cores == 4)
        #expect(alice.gpus == 1)
        #expect(alice.wallSeconds == 9000)
        #expect(alice.start == 1_709_287_200)
        #expect(alice.end == 1_709_296_200)
        #expect(alice.cpuSeconds == 34_020)
        #expect(alice.memoryAllocated == Int64(8192) << 20)
        #expect(alice.nodeList == "node12.example.org")
        #expect(alice.state == .completed)
        #expect(alice.naturalKey == "local/htcondor/ap1.example.org/ap1.example.org#1234.0#1709283540")
        // Removed: ends when it entered that status; suspension is not charged.
        let bob = try #require(result.record("1235.0"))
        #expect(bob.state == .cancelled)
        #expect(bob.end == 1_709_290_000)
        #expect(bob.wallSeconds == 1000)
        #expect(bob.account == "atlas")
        #expect(bob.cores == 2)
    }

    @Test func jsonForm() async throws {
        let json = """
            [
            {
              "ClusterId": 77,
              "ProcId": 1,
              "GlobalJobId": "sched#77.1#1000",
              "Owner": "carol",
              "QDate": 1000,
              "JobStatus": 4,
              "ExitBySignal": false,
              "ExitCode": 2,
              "CompletionDate": 5000,
              "RemoteWallClockTime": 3000.0,
              "RequestCpus": "\\/Expr(ifthenelse(true, 8, 1))\\/",
              "MachineAttrCpus0": 8,
              "Cmd": "/home/carol/run {braces} \\"quoted\\".sh"
            },
            {
              "ClusterId": 78, "ProcId": 0, "Owner": "carol", "QDate": 1000, "JobStatus": 4,
              "CompletionDate": 2000, "RemoteWallClockTime": 100.0, "ExitBySignal": true, "ExitSignal": 9
            }
            ]

            """
        let result = try await collectHTCondor(path: try temporaryFile(Array(json.utf8), suffix: ".json"), cluster: "pool")
        #expect(result.rejections.isEmpty)
        #expect(result.records.map(\.jobID) == ["77.1", "78.0"])
        let first = try #require(result.record("77.1"))
        #expect(first.cores == 8)  // the expression is not a number: MachineAttrCpus0
        #expect(first.start == 2000)
        #expect(first.state == .failed)
        #expect(first.exitCode == 2)
        #expect(first.name == "run {braces} \"quoted\".sh")
        let second = try #require(result.record("78.0"))
        #expect(second.exitSignal == 9)
        #expect(second.naturalKey == "local/htcondor/pool/78.0#1000")
    }

    /// The 20 real per-job history files: jobs and core-seconds against a plain last-value-wins
    /// reading done here.
    @Test func gratiaHistoryFiles() async throws {
        let directory = Fixtures.shared.appendingPathComponent("data/fixtures/htcondor/gratia-chtc-history")
        var completed = 0, removed = 0
        var core: Int64 = 0
        var records: [UsageRecord] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() {
            let path = directory.appendingPathComponent(name).path
            var last: [String: String] = [:]
            for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") {
                let parts = line.components(separatedBy: " = ")
                if parts.count >= 2 { last[parts[0]] = parts[1...].joined(separator: " = ") }
            }
            if last["JobStatus"] == "4" { completed += 1 } else if last["JobStatus"] == "3" { removed += 1 }
            core += Int64(Double(last["RemoteWallClockTime"] ?? "0")!) * Int64(last["RequestCpus"] ?? "1")!
            records += try await collectHTCondor(path: path).records
        }
        #expect(completed == 10)
        #expect(removed == 10)
        #expect(records.count == 20)
        #expect(records.filter { $0.state == .cancelled }.count == removed)
        #expect(records.reduce(Int64(0)) { $0 + Int64($1.cores) * $1.wallSeconds } == core)
    }
}
