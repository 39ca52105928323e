import Foundation
import Testing
import TallyApp
import TallyConfig
@testable import TallyCollectors
@testable import TallyCore
@testable import TallyStore

@Suite struct SnapshotTests {
    static func pod(uid: String, phase: String, start: String?, finished: String? = nil, cpu: String = "2",
                    memory: String = "4Gi", gpu: String? = nil, disk: String? = nil) -> String {
        let state = finished.map { #"{"terminated": {"startedAt": "\#(start!)", "finishedAt": "\#($0)", "exitCode": 0}}"# }
            ?? (start.map { #"{"running": {"startedAt": "\#($0)"}}"# } ?? #"{"waiting": {}}"#)
        let gpuLine = (gpu.map { #", "nvidia.com/gpu": "\#($0)""# } ?? "")
            + (disk.map { #", "ephemeral-storage": "\#($0)""# } ?? "")
        return """
            {"metadata": {"name": "pod-\(uid)", "namespace": "team-a", "uid": "\(uid)", "labels": {"user": "alice"},
                          "creationTimestamp": "2024-05-01T09:00:00Z"},
             "spec": {"nodeName": "node1", "containers": [{"name": "main",
                      "resources": {"requests": {"cpu": "\(cpu)", "memory": "\(memory)"\(gpuLine)}}}]},
             "status": {"phase": "\(phase)"\(start.map { #", "startTime": "\#($0)""# } ?? ""),
                        "containerStatuses": [{"state": \(state)}]}}
            """
    }

    static func list(_ pods: [String]) -> String { #"{"apiVersion": "v1", "kind": "List", "items": ["# + pods.joined(separator: ",") + "]}" }

    func ingest(_ temporary: TemporaryStore, _ directory: URL, platform: SourceFormat) async throws {
        let series = SnapshotSeries(files: try InputFiles.expand([directory.path]))
        let ingest = CheckpointedIngest(pipeline: IngestPipeline(store: temporary.store))
        for snapshot in series.snapshots {
            let result = try await ingest.ingest(path: snapshot.path, collector: SnapshotCollector(
                file: snapshot.path, options: .init(platform: platform, cluster: "k", takenAt: snapshot.takenAt)))
            #expect(result.failure == nil)
            #expect(result.rejections.isEmpty)
        }
        try await temporary.store.recordSnapshots(site: "local", cluster: "k", format: platform,
                                                  times: series.snapshots.map(\.takenAt))
    }

    @Test(arguments: Backend.all) func deploymentSeenInFourSnapshotsCountsOnceWithItsExactDuration(backend: Backend) async throws {
        let temporary = try await TemporaryStore(backend)
        let directory = temporary.directory.appendingPathComponent("snapshots")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let snapshots = [
            ("2024-05-01T10:00:00Z.json", [Self.pod(uid: "a", phase: "Running", start: "2024-05-01T09:30:12.5Z")]),
            ("2024-05-01T11:00:00Z.json", [Self.pod(uid: "a", phase: "Running", start: "2024-05-01T09:30:12.5Z"),
                                           Self.pod(uid: "b", phase: "Pending", start: nil)]),
            ("2024-05-01T12:00:00Z.json", [Self.pod(uid: "a", phase: "Running", start: "2024-05-01T09:30:12.5Z"),
                                           Self.pod(uid: "b", phase: "Running", start: "2024-05-01T11:59:00Z", cpu: "500m", gpu: "1")]),
            ("2024-05-01T13:00:00Z.json", [Self.pod(uid: "a", phase: "Succeeded", start: "2024-05-01T09:30:12.5Z",
                                                    finished: "2024-05-01T12:45:30.123456Z"),
                                           Self.pod(uid: "b", phase: "Running", start: "2024-05-01T11:59:00Z", cpu: "500m", gpu: "1")]),
            // A day with no snapshots, then one more.
            ("2024-05-03T00:00:00Z.json", [Self.pod(uid: "b", phase: "Succeeded", start: "2024-05-01T11:59:00Z",
                                                    finished: "2024-05-01T14:00:00Z", cpu: "500m", gpu: "1")]),
        ]
        for (name, pods) in snapshots {
            try Data(Self.list(pods).utf8).write(to: directory.appendingPathComponent(name))
        }
        try await ingest(temporary, directory, platform: .kubernetes)

        let jobs = try await temporary.store.jobs(JobQuery())
        #expect(jobs.count == 2)
        let a = try #require(jobs.first { $0.localJobID == "a" })
        #expect(a.state == .completed)
        #expect(a.start == utc("2024-05-01T09:30:12"))
        #expect(a.end == utc("2024-05-01T12:45:30"))
        #expect(a.wallSeconds == 3 * 3600 + 15 * 60 + 18)
        #expect(a.cores == 2)
        #expect(a.memoryAllocated == 4 << 30)
        #expect(a.account == "team-a")
        #expect(a.user == "alice")
        let b = try #require(jobs.first { $0.localJobID == "b" })
        #expect(b.wallSeconds == 2 * 3600 + 60)
        #expect(b.cores == 1)  // 500m counts as one whole core (job size)…
        #expect(b.milliCores == 500)  // …but is charged exactly
        #expect(b.gpus == 1)
        let report = try await temporary.store.report(ReportQuery(period: .total))
        #expect(report.total.jobs == 2)
        #expect(report.total.coreSeconds == 2 * a.wallSeconds + b.wallSeconds / 2)

        // Re-reading the same snapshots changes nothing.
        let before = try await temporary.digest()
        try await ingest(temporary, directory, platform: .kubernetes)
        #expect(try await temporary.digest() == before)

        let coverage = try await temporary.store.snapshotCoverage()
        #expect(coverage.count == 1)
        #expect(coverage[0].snapshots == 5)
        #expect(coverage[0].gaps.map(\.from) == [utc("2024-05-01T13:00:00")])
        #expect(coverage[0].gaps.map(\.to) == [utc("2024-05-03T00:00:00")])
    }

    /// 1500m for exactly one hour across a day boundary is 1.5 core-hours, split exactly at
    /// midnight (not 2, as rounding to whole cores charged); 10 GiB of ephemeral storage is
    /// 10 GiB-hours of disk; Nomad's DiskMB and ai4-accounting's disk_MB count the same way.
    @Test(arguments: Backend.all) func milliCoresAndDiskAreChargedExactly(backend: Backend) async throws {
        let temporary = try await TemporaryStore(backend)
        let directory = temporary.directory.appendingPathComponent("exact")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data(Self.list([Self.pod(uid: "m", phase: "Succeeded", start: "2024-05-01T23:30:00Z",
                                     finished: "2024-05-02T00:30:00Z", cpu: "1500m", disk: "10Gi")]).utf8)
            .write(to: directory.appendingPathComponent("2024-05-02T01:00:00Z.json"))
        try await ingest(temporary, directory, platform: .kubernetes)
        let days = try await temporary.store.report(ReportQuery(period: .day))
        #expect(days.rows.map(\.amounts.coreSeconds) == [2700, 2700])
        #expect(days.total.coreSeconds == 5400)
        #expect(days.total.diskMiBSeconds == 10 * 1024 * 3600)
        #expect(days.metrics.contains(.diskGBHours))
        #expect(Metric.diskGBHours.value(days.total, unit: .hours) == 10)
        let job = try #require(try await temporary.store.jobs(JobQuery()).first)
        #expect(job.cores == 2 && job.milliCores == 1500 && job.diskAllocated == 10 << 30)
        // A configuration change re-reads the stored facts: still exact.
        let text = "[[alias]]\nkind = \"account\"\nfrom = \"team-a\"\nto = \"team\"\n"
        _ = try await temporary.store.apply(try ConfigLoader.parse(text).configuration, text: text)
        #expect(try await temporary.store.report(ReportQuery(period: .total)).total.coreSeconds == 5400)

        let nomad = temporary.directory.appendingPathComponent("nomad-disk")
        try FileManager.default.createDirectory(at: nomad, withIntermediateDirectories: true)
        try Data("""
            [{"ID": "alloc-d", "JobID": "d", "Namespace": "ai4", "ClientStatus": "complete",
              "AllocatedResources": {"Tasks": {"main": {"Cpu": {"ReservedCores": [0]}, "Memory": {"MemoryMB": 100}}},
                                     "Shared": {"DiskMB": 2048}},
              "TaskStates": {"main": {"State": "dead", "StartedAt": "2024-05-03T10:00:00Z", "FinishedAt": "2024-05-03T12:00:00Z"}}}]
            """.utf8).write(to: nomad.appendingPathComponent("20240503T130000.json"))
        try await ingest(temporary, nomad, platform: .nomad)
        let window = utc("2024-05-03")..<utc("2024-05-04")
        let nomadDay = try await temporary.store.report(ReportQuery(window: window, period: .total))
        #expect(nomadDay.total.diskMiBSeconds == 2048 * 7200)
    }

    static func ai4(_ status: String, start: String, end: String? = nil) -> String {
        """
        {"ai4-ns": [{"job_ID": "j7", "alloc_ID": "a7", "name": "module-y", "owner": "carol", "status": "\(status)",
                     "alloc_start": "\(start)", "alloc_end": "\(end ?? "0001-01-01T00:00:00Z")",
                     "resources": {"cpu_num": 4, "gpu_num": 0, "memory_MB": 1000, "disk_MB": 0}},
                    {"job_ID": "j8", "alloc_ID": "", "name": "module-z", "owner": "carol", "status": "queued",
                     "resources": {"cpu_num": 1}}]}
        """
    }

    /// An allocation that runs, stops and runs again under the same id (ai4-accounting keeps one
    /// alloc_ID): both runs are charged, 4 + 4 core hours; a run still going is charged up to
    /// the snapshot but not counted in `jobs` until it ends; a queued job is skipped, counted.
    @Test(arguments: Backend.all) func aRestartedDeploymentIsChargedForEveryRun(backend: Backend) async throws {
        let temporary = try await TemporaryStore(backend)
        let directory = temporary.directory.appendingPathComponent("restarts")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let snapshots = [
            ("2024-05-01T09:30:00Z.json", Self.ai4("running", start: "2024-05-01T09:00:00Z")),
            ("2024-05-01T10:30:00Z.json", Self.ai4("dead", start: "2024-05-01T09:00:00Z", end: "2024-05-01T10:00:00Z")),
            ("2024-05-01T11:30:00Z.json", Self.ai4("running", start: "2024-05-01T10:45:00.5Z")),
        ]
        for (name, text) in snapshots { try Data(text.utf8).write(to: directory.appendingPathComponent(name)) }
        try await ingest(temporary, directory, platform: .nomad)
        var report = try await temporary.store.report(ReportQuery(period: .total))
        #expect(report.total.coreSeconds == 4 * 3600 + 4 * 45 * 60)
        #expect(report.total.jobs == 1)  // the second run has not ended
        try Data(Self.ai4("dead", start: "2024-05-01T10:45:00.5Z", end: "2024-05-01T11:45:00Z").utf8)
            .write(to: directory.appendingPathComponent("2024-05-01T12:30:00Z.json"))
        try await ingest(temporary, directory, platform: .nomad)
        report = try await temporary.store.report(ReportQuery(period: .total))
        #expect(report.total.coreSeconds == 8 * 3600)
        #expect(report.total.jobs == 2)
        let runs = try await temporary.store.jobs(JobQuery()).filter { $0.localJobID == "j7/a7" }
        #expect(runs.map(\.start) == [utc("2024-05-01T09:00:00"), utc("2024-05-01T10:45:00")])
        #expect(runs.allSatisfy { $0.state == .completed })
        #expect(try await temporary.store.jobs(JobQuery()).count == 2)  // the queued job was skipped
    }

    @Test(arguments: Backend.all) func nomadAllocationsAndAi4Snapshots(backend: Backend) async throws {
        let temporary = try await TemporaryStore(backend)
        let directory = temporary.directory.appendingPathComponent("nomad")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let allocations = """
            [{"ID": "alloc-1", "JobID": "train", "Namespace": "ai4", "NodeName": "gpu-07", "TaskGroup": "usergroup",
              "ClientStatus": "complete", "CreateTime": 1714554000000000000,
              "AllocatedResources": {"Tasks": {"main": {"Cpu": {"CpuShares": 4000, "ReservedCores": [0, 1, 2, 3]},
                 "Memory": {"MemoryMB": 8000},
                 "Devices": [{"Vendor": "nvidia", "Type": "gpu", "Name": "Tesla V100", "DeviceIDs": ["g0", "g1"]}]}}},
              "TaskStates": {"main": {"State": "dead", "StartedAt": "2024-05-01T09:00:05.12Z", "FinishedAt": "2024-05-01T10:00:05Z"},
                             "sidecar": {"State": "dead", "StartedAt": "2024-05-01T09:00:00Z", "FinishedAt": "0001-01-01T00:00:00Z"}}}]
            """
        try Data(allocations.utf8).write(to: directory.appendingPathComponent("20240501T110000.json"))
        let ai4 = """
            {"ai4-ns": [{"job_ID": "j2", "alloc_ID": "a2", "name": "module-x", "owner": "bob", "status": "running",
                         "alloc_start": "2024-05-01T10:30:00.000000000Z", "alloc_end": "0001-01-01T00:00:00Z",
                         "resources": {"cpu_num": 0, "cpu_MHz": 2, "gpu_num": 0, "memory_MB": 2000, "disk_MB": 10}}]}
            """
        try Data(ai4.utf8).write(to: directory.appendingPathComponent("20240501T120000.json"))
        try await ingest(temporary, directory, platform: .nomad)
        let jobs = try await temporary.store.jobs(JobQuery())
        let train = try #require(jobs.first { $0.localJobID == "alloc-1" })
        #expect(train.cores == 4)
        #expect(train.gpus == 2)
        #expect(train.gpuModel == "Tesla V100")
        #expect(train.start == utc("2024-05-01T09:00:00"))
        #expect(train.end == utc("2024-05-01T10:00:05"))
        #expect(train.state == .completed)
        let module = try #require(jobs.first { $0.localJobID == "j2/a2" })
        #expect(module.state == .running)
        #expect(module.cores == 2)  // cpu_num 0: MHz stands in, as ai4-accounting does
        #expect(module.wallSeconds == 5400)  // 10:30 to the 12:00 snapshot that saw it running
    }

    @Test func timesAndQuantities() {
        #expect(RFC3339.parse("2024-05-02T10:11:12.123456789Z") == utc("2024-05-02T10:11:12"))
        #expect(RFC3339.parse("2024-05-02T10:11:12Z") == utc("2024-05-02T10:11:12"))
        #expect(RFC3339.parse("2024-05-02T12:11:12.5+02:00") == utc("2024-05-02T10:11:12"))
        #expect(RFC3339.parse("0001-01-01T00:00:00Z") == nil)
        #expect(KubernetesQuantity.parse("500m") == 0.5)
        #expect(KubernetesQuantity.parse("512Mi") == 536_870_912)
        #expect(KubernetesQuantity.parse("1G") == 1e9)
        #expect(KubernetesQuantity.parse("1e3") == 1000)
        #expect(SnapshotSeries.time(inName: "2024-05-02T10:00:00Z.json") == utc("2024-05-02T10:00:00"))
        #expect(SnapshotSeries.time(inName: "snap-20240502_1000.json.gz") == utc("2024-05-02T10:00:00"))
        let gaps = SnapshotGaps.find([0, 3600, 7200, 10_800, 30_000, 33_600], gcThreshold: 4 * 3600)
        #expect(gaps.map(\.from) == [10_800])
        #expect(gaps.first?.reason.contains("GC threshold") == true)
        // ai4-accounting's documented 6-hour cadence: no interval is a gap but the late one, and
        // the cadence itself (not shorter than Nomad's 4-hour GC threshold) is said once.
        let sixHourly: [Int64] = [0, 21_600, 43_200, 64_800, 86_400, 122_400, 144_000]
        #expect(SnapshotGaps.find(sixHourly, gcThreshold: 4 * 3600).map(\.from) == [86_400])
        #expect(SnapshotGaps.cadenceWarning(sixHourly, gcThreshold: 4 * 3600)?.contains("360 min") == true)
        #expect(SnapshotGaps.cadenceWarning([0, 3600, 7200], gcThreshold: 4 * 3600) == nil)
    }
}
