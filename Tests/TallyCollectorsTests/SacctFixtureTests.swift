import Foundation
import Testing
@testable import TallyCollectors
@testable import TallyCore

/// The sacct collector on real output from real clusters (see ../shared/data/SOURCES.md).
@Suite struct SacctFixtureTests {
    static let xdmodFields = "jobid,jobidraw,cluster,partition,qos,account,group,gid,user,uid,submit,eligible,start,end,elapsed,exitcode,state,nnodes,ncpus,reqcpus,reqmem,reqtres,alloctres,timelimit,nodelist,jobname"
        .split(separator: ",").map(String.init)

    @Test func realSandboxClusterJobsStepsAndArrays() async throws {
        let result = try await collectSacct(path: Fixtures.path("slurm-sandbox/sacct-fields.txt"))
        #expect(result.rejections.isEmpty)
        // 27 job rows; every .batch/.0/.1 step folded into its job, never counted as a job.
        #expect(result.records.count == 27)
        #expect(result.skipped[.stepFolded] == 29)
        #expect(result.skipped[.header] == 1)
        #expect(Set(result.records.map(\.naturalKey)).count == 27)

        let array = try #require(result.record("14_3"))
        #expect(array.localJobID == "23")
        #expect(array.state == .failed)
        #expect(array.exitCode == 1)
        let arrayMaster = try #require(result.record("14_4"))
        #expect(arrayMaster.localJobID == "14")

        let gpu = try #require(result.record("6"))
        #expect(gpu.gpus == 2)
        #expect(gpu.gpuModel == "fake")
        #expect(gpu.cores == 2)
        #expect(gpu.billing == 10)
        #expect(gpu.memoryAllocated == 512 << 20)

        let multiStep = try #require(result.record("11"))
        #expect(multiStep.wallSeconds == 1)
        #expect(multiStep.cores == 2)

        let memory = try #require(result.record("3"))
        #expect(memory.memoryRequested == 300 << 20)

        let neverRan = try #require(result.record("13"))
        #expect(neverRan.start == nil)
        #expect(neverRan.wallSeconds == 0)
        #expect(neverRan.eligible == nil)
        #expect(neverRan.state == .cancelled)

        let cancelled = try #require(result.record("17"))
        #expect(cancelled.rawState == "CANCELLED by 1003")
        let signal = try #require(result.record("9"))
        #expect(signal.exitCode == 0)
        #expect(signal.exitSignal == 9)

        let timeout = try #require(result.record("1"))
        #expect(timeout.start == utc("2026-11-23T08:28:17"))
        #expect(timeout.end == utc("2026-11-23T08:29:25"))
        #expect(timeout.wallSeconds == 68)
        #expect(timeout.submit == utc("2026-11-23T08:28:02"))
        #expect(timeout.cluster == "probe")
        #expect(timeout.state == .timeout)
    }

    @Test func formatAllWithPeakMemoryFromSteps() async throws {
        let fields = try String(contentsOfFile: Fixtures.path("slurm-sandbox/sacct-all-header.txt"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "|").map(String.init)
        let options = SacctCollector.Options(timeZone: TimeZone(identifier: "UTC")!, fields: fields)
        let result = try await collectSacct(path: Fixtures.path("slurm-sandbox/sacct-all.txt"), options: options)
        #expect(result.rejections.isEmpty)
        #expect(result.records.count == 27)
        // Job 3 allocated 300M and its batch step peaked at its MaxRSS; the job row has none.
        let job = try #require(result.record("3"))
        #expect((job.memoryUsedPeak ?? 0) > 0)
        #expect(job.memoryAllocated == 300 << 20)
        #expect(job.cpuSeconds != nil)
    }

    @Test func requeuedRunsAreSeparateRecords() async throws {
        let result = try await collectSacct(path: Fixtures.path("slurm-sandbox/sacct-duplicates.txt"))
        let runs = result.records.filter { $0.jobID == "19" }
        #expect(runs.count == 2)
        #expect(Set(runs.map(\.naturalKey)).count == 2)
        #expect(Set(runs.map(\.state)) == [.requeued, .completed])
    }

    @Test func xdmodNoHeaderOutputMatchesXdmodsOwnParse() async throws {
        let options = SacctCollector.Options(timeZone: TimeZone(identifier: "UTC")!, fields: Self.xdmodFields)
        let result = try await collectSacct(path: Fixtures.path("slurm/xdmod-shredder-accounting-logs.log"), options: options)
        #expect(result.rejections.isEmpty)
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("slurm/xdmod-shredder-accounting-logs.expected.json")))
        let expected = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        #expect(expected.count == result.records.count)
        for entry in expected {
            let record = try #require(result.record(entry["job_id"] as! String))
            #expect(record.submit == (entry["submit_time"] as? NSNumber)?.int64Value)
            #expect(record.eligible == (entry["eligible_time"] as? NSNumber)?.int64Value)
            #expect(record.start == (entry["start_time"] as? NSNumber)?.int64Value)
            #expect(record.end == (entry["end_time"] as? NSNumber)?.int64Value)
            #expect(record.wallSeconds == (entry["elapsed"] as? NSNumber)?.int64Value)
            #expect(record.user == entry["user_name"] as? String)
            #expect(record.account == entry["account_name"] as? String)
            #expect((record.partition ?? "") == entry["partition_name"] as? String)
            #expect(record.rawState == entry["state"] as? String)
            #expect(record.nodeList == entry["node_list"] as? String)
            #expect(record.name == entry["job_name"] as? String)
            #expect(record.gpus == (entry["ngpus"] as? NSNumber)?.intValue)
            // Cores come from AllocTRES, as sreport charges them.
            #expect(String(record.cores) == entry["ncpus"] as? String)
        }
    }

    @Test func xdmodEdgeFiles() async throws {
        let options = SacctCollector.Options(timeZone: TimeZone(identifier: "UTC")!, fields: Self.xdmodFields)
        let arrays = try await collectSacct(path: Fixtures.path("slurm/xdmod-shredder-accounting-logs-with-job-arrays.log"), options: options)
        #expect(arrays.records.map(\.jobID) == ["4103947_100"])
        #expect(arrays.skipped[.pendingArrayRemainder] == 5)

        let nonEnded = try await collectSacct(path: Fixtures.path("slurm/xdmod-shredder-non-ended-job-state.log"), options: options)
        #expect(nonEnded.records.map(\.state) == [.running, .pending])
        #expect(nonEnded.records[1].start == nil)
        #expect(nonEnded.records[1].usage.countInstant == nil)

        let unknown = try await collectSacct(path: Fixtures.path("slurm/xdmod-shredder-unknown-job-state.log"), options: options)
        #expect(unknown.records.map(\.state) == [.unknown, .unknown])
        #expect(unknown.records.map(\.rawState) == ["FOO", "BAR"])

        let utf8 = try await collectSacct(path: Fixtures.path("slurm/xdmod-shredder-utf8-multibyte-chars.log"), options: options)
        #expect(utf8.records.first?.name == "aàb")

        let perNode = try await collectSacct(path: Fixtures.path("slurm/xdmod-shredder-accounting-logs.log"), options: options)
        // ReqMem 48000Mn on 3 nodes: per-node memory times nodes.
        let perNodeBytes: Int64 = 3 * 48_000 << 20
        #expect(perNode.record("4107166")?.memoryRequested == perNodeBytes)
        // 3000Mc × 48 requested CPUs.
        let perCPUBytes: Int64 = 48 * 3_000 << 20
        #expect(perNode.record("4107219")?.memoryRequested == perCPUBytes)
    }

    @Test func delimiterInsideJobNameIsRepaired() async throws {
        let result = try await collectSacct(path: Fixtures.path("slurm/slurmsim-sacct-simple.log"))
        #expect(result.rejections.isEmpty)
        #expect(result.records.map(\.name) == ["job_00001", "job_0||0002", "job_0|0003", "job_|00004"])
        #expect(result.record("2")?.end == utc("2021-12-10T17:54:56"))
    }

    /// `--format=ALL` prints text fields as they are: a Comment holding three newlines puts one
    /// record on four physical lines, a JobName with one newline on two more. Built from the
    /// fixture's second record; the record must come back whole, cited at its first line.
    @Test func recordsBrokenOverManyLinesAreJoined() async throws {
        let text = try String(contentsOfFile: Fixtures.path("slurm/slurmsim-ccr-sacct-all-2101.log"), encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var fields = lines[1].split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        fields[15] = "first line\nsecond line\nthird line\nfourth"  // Comment
        fields[33] = "Job\nName"                                   // JobName
        let broken = fields.joined(separator: "|")
        let input = [lines[0], lines[2], broken, lines[3], "4744528_256|tail|of|nothing"].joined(separator: "\n") + "\n"
        let result = try await collectSacct(text: input)
        #expect(result.records.map(\.jobID) == ["4801784_133", "4744528_255", "4810966_372"])
        #expect(result.record("4744528_255")?.name == "Job\nName")
        #expect(result.record("4744528_255")?.cores == 12)
        // The last, short line is rejected at its own line (9: 1 header + 1 + 5 + 1 + 1).
        #expect(result.rejections.map(\.position.line) == [9])
        #expect(result.rejections.first?.reason.hasPrefix("too few fields: 4 of") == true)
        // A record that never completes is rejected at its first line, naming the lines it spans.
        let cut = [lines[0], "4744528_255|a\nb", "c\nd"].joined(separator: "\n") + "\n"
        let truncated = try await collectSacct(text: cut)
        #expect(truncated.rejections.map(\.position.line) == [2])
        #expect(truncated.rejections.first?.reason.contains("(a record over lines 2–5)") == true, "\(truncated.rejections)")
    }

    @Test func formatAllWithPipesInSeveralFreeTextFields() async throws {
        let result = try await collectSacct(path: Fixtures.path("slurm/slurmsim-ccr-sacct-all-2101.log"))
        // Lines 12–15 hold `|` in Constraints and JobName; line 16 is the tail of a broken record.
        #expect(result.rejections.map(\.position.line) == [16])
        #expect(result.rejections.first?.reason.contains("too few fields") == true)
        #expect(result.record("4830974")?.name == "JobName003")
        #expect(result.record("4830975")?.name == "Job| Name003")
        #expect(result.record("4830976")?.name == "Job| Name |003")
        #expect(result.record("4830977")?.name == "Jo| bNa| me003")
        for id in ["4830974", "4830975", "4830976", "4830977"] {
            let record = try #require(result.record(id))
            #expect(record.wallSeconds == 259_222)
            #expect(record.cores == 40)
            let expectedCPU: Int64 = 119 * 86_400 + 19 * 3600 + 49 * 60 + 22
            #expect(record.cpuSeconds == expectedCPU)
            #expect(record.state == .timeout)
        }
        #expect(result.records.filter { $0.jobID.contains("_") }.allSatisfy { $0.localJobID != $0.jobID })
    }

    @Test func aaltoOutputWithStepsAndCancelledBy() async throws {
        let result = try await collectSacct(path: Fixtures.path("slurm/slurm2sql-aalto-test-data1.csv"))
        #expect(result.rejections.isEmpty)
        #expect(result.records.count == 2)
        let job = try #require(result.record("43974388"))
        #expect(job.rawState == "CANCELLED by 1300204")
        #expect(job.state == .cancelled)
        #expect(job.cpuSeconds == 15)
        // Peak memory is the largest step MaxRSS (231092K), not a sum.
        let peak: Int64 = 231_092 * 1024
        #expect(job.memoryUsedPeak == peak)
        #expect(job.energyJoules == 54_156)
    }

    @Test func commaSeparatedHeaderIsDetected() async throws {
        let result = try await collectSacct(path: Fixtures.path("slurm/slurm2sql-test-data3.csv"))
        #expect(result.rejections.isEmpty)
        #expect(result.records.first?.start == Int64(3 * 3600))
    }

    @Test func apelSacctFormatCountsStepOnlyLinesAsOrphans() async throws {
        let fields = "JobID,JobName,User,Group,Start,End,Elapsed,CPUTime,Partition,NCPUS,NNodes,NodeList,MaxRSS,MaxVMSize,State"
            .split(separator: ",").map(String.init)
        let options = SacctCollector.Options(cluster: "grid", timeZone: TimeZone(identifier: "UTC")!, fields: fields)
        let result = try await collectSacct(path: Fixtures.path("slurm/apel-test-sacct-apel-format.txt"), options: options)
        #expect(result.rejections.isEmpty)
        #expect(result.records.count + (result.skipped[.orphanStep] ?? 0) == result.linesRead)
        let job = try #require(result.record("1000"))
        #expect(job.wallSeconds == 2)
        #expect(job.cluster == "grid")
    }
}
