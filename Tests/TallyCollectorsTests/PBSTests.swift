import Foundation
import Testing
@testable import TallyCollectors
@testable import TallyCore

func collectPBS(path: String, options: PBSCollector.Options = .init(timeZone: TimeZone(identifier: "UTC")!))
    async throws -> Collected {
    try await collect(path: path, PBSCollector(file: path, options: options))
}

@Suite struct PBSCollectorTests {
    /// formats-and-policies §4.6, PBS Pro and Torque.
    static let reference = """
        03/14/2024 10:05:33;E;4321.pbsserver;user=alice group=physics project=_pbs_project_default jobname=md_run queue=workq ctime=1710405600 qtime=1710405600 etime=1710405600 start=1710405630 exec_host=node07/0*8+node08/0*8 exec_vnode=(node07:ncpus=8:mem=16777216kb)+(node08:ncpus=8:mem=16777216kb) Resource_List.mem=32gb Resource_List.ncpus=16 Resource_List.nodect=2 Resource_List.place=scatter Resource_List.select=2:ncpus=8:mem=16gb Resource_List.walltime=02:00:00 session=28731 end=1710410733 Exit_status=0 resources_used.cpupercent=1567 resources_used.cput=22:12:40 resources_used.mem=20971520kb resources_used.ncpus=16 resources_used.vmem=25165824kb resources_used.walltime=01:25:03 run_count=1
        06/06/2016 14:07:17;E;407.torque01;user=guest group=guest jobname=STDIN queue=batch ctime=1465221515 qtime=1465221515 etime=1465221515 start=1465221966 owner=guest@login01 exec_host=node01/0-3+node02/0-3 Resource_List.neednodes=2:ppn=4 Resource_List.nodect=2 Resource_List.nodes=2:ppn=4 Resource_List.walltime=01:00:00 session=6365 total_execution_slots=8 unique_node_count=2 end=1465222037 Exit_status=0 resources_used.cput=00:04:40 resources_used.energy_used=0 resources_used.mem=3092kb resources_used.vmem=28580kb resources_used.walltime=00:01:11

        """

    @Test func referenceExamples() async throws {
        let result = try await collectPBS(path: try temporaryFile(Array(Self.reference.utf8), suffix: ".log"))
        #expect(result.rejections.isEmpty)
        let pro = try #require(result.record("4321"))
        #expect(pro.cluster == "pbsserver")
        #expect(pro.wallSeconds == 5103)
        #expect(Int64(pro.cores) * pro.wallSeconds == 81_648)
        #expect(pro.nodeCount == 2)
        #expect(pro.nodeList == "node07,node08")
        #expect(pro.memoryAllocated == Int64(2 * 16_777_216 * 1024))
        #expect(pro.memoryRequested == 32 << 30)
        #expect(pro.memoryUsedPeak == Int64(20_971_520 * 1024))
        let cput: Int64 = 22 * 3600 + 12 * 60 + 40
        #expect(pro.cpuSeconds == cput)
        #expect(pro.account == nil)  // _pbs_project_default is no account
        #expect(pro.partition == "workq")
        #expect(pro.state == .completed)
        let torque = try #require(result.record("407"))
        #expect(torque.cores == 8)
        #expect(torque.wallSeconds == 71)
        #expect(torque.nodeCount == 2)
        #expect(torque.memoryUsedPeak == Int64(3092 * 1024))
        #expect(torque.naturalKey == "local/pbs/torque01/407/1465221966")
    }

    @Test func recordTypesArraysQuotesAndExitStatus() async throws {
        let log = """
            03/14/2024 09:00:00;Q;10.srv;queue=workq
            03/14/2024 09:00:05;S;10.srv;user=bob group=g queue=workq ctime=1710406000 start=1710406005 exec_host=n1/0*4
            03/14/2024 09:30:00;R;10.srv;user=bob group=g queue=workq ctime=1710406000 start=1710406005 end=1710407800 exec_host=n1/0*4 resources_used.walltime=00:29:55
            03/14/2024 09:31:00;S;10.srv;user=bob group=g queue=workq ctime=1710406000 start=1710407860 exec_host=n2/0*4
            03/14/2024 10:31:00;E;10.srv;user=bob group=g queue=workq ctime=1710406000 start=1710407860 end=1710411460 exec_host=n2/0*4 Exit_status=271
            03/14/2024 10:40:00;E;11[3].srv;user=bob group=g account="big project" jobname='a "quoted" name' queue=q ctime=1710406000 start=1710411000 end=1710411600 exec_host=n3/0 Exit_status=-29
            03/14/2024 10:41:00;E;11[].srv;user=bob group=g queue=q ctime=1710406000 array_indices=1-3 Exit_status=0
            03/14/2024 10:42:00;D;12.srv;requestor=bob@login
            20240314:03/14/2024 10:50:00;E;13.srv;user=carol group=g queue=q ctime=1710406000 start=1710411000 end=1710412800 Resource_List.nodes=2:ppn=6:gpus=2 Exit_status=0
            03/14/2024 10:51:00;E;14.srv;user=carol group=g queue=q ctime=1710406000 start=1710412800 end=1710411000 exec_host=n1/0
            03/14/2024 10:52:00;E;15.srv;user=carol account="unterminated
            garbage without separators

            """
        let result = try await collectPBS(path: try temporaryFile(Array(log.utf8), suffix: ".log"))
        // Start and rerun of the first run, start and end of the second.
        let runs = result.records.filter { $0.jobID == "10" }
        #expect(runs.map(\.state) == [.running, .requeued, .running, .cancelled])
        #expect(runs[0].naturalKey == runs[1].naturalKey)  // the rerun replaces the start record
        #expect(runs[2].naturalKey == runs[3].naturalKey)  // the end replaces the second start
        #expect(runs[1].naturalKey != runs[3].naturalKey)  // a new run is a new record
        #expect(runs[1].wallSeconds == 1795)
        #expect(runs[3].exitSignal == 15)
        let array = try #require(result.record("11[3]"))
        #expect(array.account == "big project")
        #expect(array.name == "a \"quoted\" name")
        #expect(array.state == .timeout)
        #expect(array.cores == 1)
        let torque = try #require(result.record("13"))
        #expect(torque.cores == 12)
        #expect(torque.gpus == 4)
        #expect(result.skipped[.arrayParent] == 1)
        #expect(result.skipped[.event] == 2)  // Q and D
        #expect(result.rejections.map(\.position.line) == [11, 12])
        #expect(result.rejections[0].reason.contains("unterminated quote"))
        // Job 14 ends before it starts and has no walltime: kept, flagged, no usage charged.
        let skewed = try #require(result.record("14"))
        #expect(skewed.wallSeconds == 0 && skewed.end == skewed.start)
        #expect(result.flags.map(\.position.line) == [10])
        #expect(result.flags.first?.field == "end")
    }

    /// Hand-checked figures for the real Torque/PBS fixtures: cores from exec_host /
    /// total_execution_slots / resources_used.ncpus; wall from resources_used.walltime (§8, as
    /// APEL charges it), `end − start` only where no walltime is written.
    @Test func xdmodFixtureByHand() async throws {
        let result = try await collectPBS(path: Fixtures.path("pbs/xdmod-shredder-torque-accounting-logs.log"),
                                          options: .init(cluster: "ccr", timeZone: TimeZone(identifier: "UTC")!))
        let expected: [(id: String, cores: Int, wall: Int64)] = [
            ("6", 32, 36 * 60 + 37),                         // 32 exec_host slots on 4 nodes; walltime 00:36:37
            ("6464684", 4, 2 * 3600 + 35 * 60 + 49),         // walltime 02:35:49 (end − start 9350)
            ("2994", 65, 0),                                 // resources_used.ncpus=65, walltime 00:00:00
            ("2995", 12, 0),                                 // exec_host c1/0-3+c2/0-7, walltime 00:00:00
            ("7904", 28, 1_485_459_831 - 1_485_451_424),     // nodes=1:ppn=28:gpus=1; no walltime
            ("10711", 28, 2 * 3600 + 20 * 60 + 7),           // walltime 02:20:07 (end − start 100,000)
            ("10712", 28, 1_588_146_363 - 1_588_046_363),    // no walltime
            ("3073070", 48, 10 * 3600 + 60 + 6),             // resources_used.ncpus=48, walltime 10:01:06
        ]
        // "6.edge.ccr.buffalo.edu" and "6" are the same job and run: one record.
        #expect(Set(result.records.map(\.naturalKey)).count == expected.count)
        #expect(result.rejections.isEmpty)
        for job in expected {
            let record = try #require(result.records.last { $0.jobID == job.id })
            #expect(record.cores == job.cores, "\(job.id)")
            #expect(record.wallSeconds == job.wall, "\(job.id)")
        }
        // 32×2197 + 4×9349 + 0 + 0 + 28×8407 + 28×8407 + 28×100000 + 48×36066 = 1,419.35 core hours.
        var latest: [String: UsageRecord] = [:]
        for record in result.records { latest[record.naturalKey] = record }
        let coreSeconds = latest.values.reduce(Int64(0)) { $0 + Int64($1.cores) * $1.wallSeconds }
        #expect(coreSeconds == 5_109_660)
        // The records whose walltime and end − start disagree are flagged: 2994, 2995, 10711.
        #expect(Set(result.flags.map { $0.excerpt.split(separator: ";")[2] }) == ["2994.pbs", "2995.pbs", "10711"])
        #expect(result.flags.allSatisfy { $0.field == "resources_used.walltime" })
        #expect(result.record("7904")?.gpus == 1)
        #expect(result.record("10711")?.gpus == 4)  // `gpu=4` in Resource_List.nodect, as XDMoD reads it
        #expect(result.record("3073070")?.gpus == 4)
    }

    @Test func apelTorqueFixtureVersionsAndBrokenLines() async throws {
        let result = try await collectPBS(path: Fixtures.path("pbs/apel-test-torque-accounting.log"),
                                          options: .init(cluster: "grid", timeZone: TimeZone(identifier: "UTC")!))
        // Line 8 lost the space between etime and start; line 9 ends before it starts. Both are
        // salvaged as the rules allow, flagged, and charged.
        #expect(result.rejections.isEmpty)
        #expect(result.flags.filter { $0.field == "etime" }.map(\.position.line) == [8])
        #expect(result.flags.filter { $0.field == "end" }.map(\.position.line) == [9])
        // Lines 1, 4 and 8 charge a walltime far from end − start: flagged, walltime charged.
        #expect(result.flags.filter { $0.field == "resources_used.walltime" }.map(\.position.line) == [1, 4, 8])
        #expect(result.skipped[.event] == 1)  // the A record
        #expect(result.records.count == 10)
        #expect(Set(result.records.map(\.naturalKey)).count == 7)  // line 8 repeats line 1
        let glued = try #require(result.record("21048463"))
        #expect(glued.eligible == 1_317_509_574 && glued.start == 1_317_509_945)
        #expect(glued.wallSeconds == 19 * 3600 + 23 * 60 + 4)
        let skewed = try #require(result.records.first { $0.start == 1_448_926_792 })
        #expect(skewed.wallSeconds == 3 * 3600 + 32 * 60 + 47)
        #expect(skewed.end == 1_448_926_792 + skewed.wallSeconds)
        #expect(result.flags.last?.reason.contains("before start") == true)
        // cput given as plain seconds in the 2016 record.
        #expect(result.record("37803854")?.cpuSeconds != nil)
        #expect(result.record("21430205")?.cores == 4)  // exec_host b391/0-3, after a grep prefix
    }
}
