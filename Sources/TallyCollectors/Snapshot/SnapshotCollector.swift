import Foundation
import TallyCore

/// Reads one periodic JSON snapshot of a platform that keeps no job log (formats-and-policies §7):
/// `kubectl get pods -A -o json`, a Nomad `/v1/allocations` list (allocations with
/// `AllocatedResources` and `TaskStates`), or an ai4-accounting snapshot (`{namespace: [job]}`).
///
/// Every run of a deployment becomes one record keyed by pod UID / allocation ID and the run's
/// start, so the same run seen in many snapshots is one job (each later snapshot replaces what
/// the earlier one said), and a deployment that stops and runs again under the same id is
/// charged for every run. Deployments not started yet are skipped (counted): they have no usage. Start and end come from the API's own timestamps where it gives them (exact
/// to the second, whatever the snapshot interval); a deployment still running is charged up to
/// the snapshot time, and a later snapshot extends it. One that vanished between snapshots
/// without an end time stays charged up to the last snapshot that saw it (an undercount that
/// `tally coverage` makes visible through gaps).
///
/// Kubernetes CPU requests are fractional (`500m`): records keep the exact milli-cores, and core
/// hours are charged from them (job-size buckets count the nearest whole core, at least one).
/// Local disk is charged as GB-hours: Kubernetes `ephemeral-storage` requests, Nomad's
/// `AllocatedResources.Shared.DiskMB`, ai4-accounting's `disk_MB`.
public struct SnapshotCollector: LineCollector {
    public struct Options: Sendable {
        /// `.kubernetes` or `.nomad`.
        public var platform: SourceFormat
        public var site: String
        public var cluster: String
        /// When the snapshot was taken (from its file name, else its modification time).
        public var takenAt: Int64
        /// The largest snapshot accepted (it is parsed whole).
        public var maxBytes: Int

        public init(platform: SourceFormat, site: String = "local", cluster: String = "default", takenAt: Int64,
                    maxBytes: Int = 1 << 30) {
            self.platform = platform; self.site = site; self.cluster = cluster; self.takenAt = takenAt
            self.maxBytes = maxBytes
        }
    }

    public var format: SourceFormat { options.platform }
    public let file: String
    public let options: Options
    private var text: [UInt8] = []
    private var lines = 0
    private var tooLarge = false

    public init(file: String, options: Options) {
        self.file = file
        self.options = options
    }

    public mutating func consume(_ line: Bytes, number: Int, into batch: inout CollectedBatch) throws(UnusableInput) {
        batch.linesRead += 1
        lines = number
        guard !tooLarge else { return }
        if text.count + line.count > options.maxBytes {
            tooLarge = true
            return
        }
        text.append(contentsOf: line)
        text.append(UInt8(ascii: "\n"))
    }

    public mutating func finish(into batch: inout CollectedBatch) throws(UnusableInput) {
        if tooLarge {
            throw UnusableInput(position: SourcePosition(file: file, line: lines),
                                reason: "snapshot larger than \(options.maxBytes) bytes")
        }
        guard !text.allSatisfy({ $0 == 32 || $0 == 10 || $0 == 9 || $0 == 13 }) else { return }
        let root: Any
        do {
            root = try JSONSerialization.jsonObject(with: Data(text))
        } catch {
            throw UnusableInput(position: SourcePosition(file: file, line: 1), reason: "not JSON: \(error.localizedDescription)")
        }
        text = []
        var observations: [Observation] = []
        if let list = root as? [String: Any], let items = list["items"] as? [[String: Any]] {
            guard format == .kubernetes else { throw wrongPlatform("a Kubernetes pod list", "kubernetes") }
            observations = items.map(Observation.init(pod:))
        } else if let allocations = root as? [[String: Any]] {
            guard format == .nomad else { throw wrongPlatform("a Nomad allocation list", "nomad") }
            observations = allocations.map(Observation.init(allocation:))
        } else if let namespaces = root as? [String: Any], namespaces.values.allSatisfy({ $0 is [Any] }) {
            guard format == .nomad else { throw wrongPlatform("an ai4-accounting (Nomad) snapshot", "nomad") }
            for (namespace, jobs) in namespaces.sorted(by: { $0.key < $1.key }) {
                for case let job as [String: Any] in jobs as! [Any] {
                    observations.append(Observation(ai4: job, namespace: namespace))
                }
            }
        } else {
            throw UnusableInput(position: SourcePosition(file: file, line: 1),
                                reason: "neither a Kubernetes pod list, a Nomad allocation list nor an ai4-accounting snapshot")
        }
        for (index, observation) in observations.enumerated() {
            if observation.state == .pending, observation.start == nil {
                batch.skipped[.notStarted, default: 0] += 1
                continue
            }
            do {
                batch.records.append(try record(observation))
            } catch {
                batch.reject(file, line: 1, field: "item \(index)", error.description, excerpt: observation.id ?? "")
            }
        }
    }

    private func wrongPlatform(_ what: String, _ command: String) -> UnusableInput {
        UnusableInput(position: SourcePosition(file: file, line: 1), reason: "this is \(what): use tally ingest \(command)")
    }

    private func record(_ seen: Observation) throws(RecordError) -> UsageRecord {
        guard let id = seen.id else { throw .missingIdentity }
        var state = seen.state
        var end = seen.end
        var start = seen.start
        if let known = start, known > options.takenAt { start = options.takenAt }  // clock skew
        if state.finality < 2 { end = nil }
        if let finished = end, let begun = start, finished < begun { end = begun }
        if state.finality == 2, end == nil, start != nil { end = options.takenAt; state = seen.state }
        let wall: Int64 = start.map { (end ?? options.takenAt) - $0 }.map { max(0, $0) } ?? 0
        let prefix = format == .kubernetes ? "k8s" : "nomad"
        return try UsageRecord(
            site: options.site, cluster: options.cluster, source: format, jobID: seen.name ?? id, localJobID: id,
            naturalKey: "\(options.site)/\(prefix)/\(options.cluster)/\(id)/\(seen.start.map(String.init) ?? "-")",
            name: seen.name,
            user: seen.user, group: seen.namespace, account: seen.namespace, partition: seen.pool, qos: nil,
            nodeCount: seen.node == nil ? 0 : 1, nodeList: seen.node,
            submit: seen.submit, start: start, end: end, wallSeconds: state == .pending ? 0 : wall,
            cores: seen.cores, gpus: seen.gpus, gpuModel: seen.gpuModel,
            memoryAllocated: seen.memoryBytes, memoryRequested: seen.memoryBytes,
            milliCores: seen.milliCores, diskAllocated: seen.diskBytes,
            state: state, rawState: seen.rawState, exitCode: seen.exitCode,
            origin: SourcePosition(file: file, line: 1))
    }
}

/// What one snapshot says about one deployment.
struct Observation {
    var id: String?
    var name: String?
    var namespace: String?
    var user: String?
    var pool: String?
    var node: String?
    var submit: Int64?
    var start: Int64?
    var end: Int64?
    var cores = 0
    var gpus = 0
    var gpuModel: String?
    var memoryBytes: Int64?
    /// Exact CPU request in thousandths of a core, when fractional.
    var milliCores: Int64?
    var diskBytes: Int64?
    var state = JobState.unknown
    var rawState = ""
    var exitCode: Int?

    /// A pod from `kubectl get pods -o json`: requests (limits when no request) of all containers.
    init(pod: [String: Any]) {
        let metadata = pod["metadata"] as? [String: Any] ?? [:]
        let spec = pod["spec"] as? [String: Any] ?? [:]
        let status = pod["status"] as? [String: Any] ?? [:]
        id = metadata["uid"] as? String
        name = metadata["name"] as? String
        namespace = metadata["namespace"] as? String
        let labels = metadata["labels"] as? [String: String] ?? [:]
        user = labels["user"] ?? labels["owner"] ?? labels["app.kubernetes.io/created-by"]
        node = spec["nodeName"] as? String
        submit = RFC3339.parse(metadata["creationTimestamp"])
        start = RFC3339.parse(status["startTime"])
        var milliCPU: Int64 = 0
        var memory: Int64 = 0
        var disk: Int64 = 0
        for case let container as [String: Any] in spec["containers"] as? [Any] ?? [] {
            let resources = container["resources"] as? [String: Any] ?? [:]
            let requests = resources["requests"] as? [String: Any] ?? [:]
            let limits = resources["limits"] as? [String: Any] ?? [:]
            func quantity(_ key: String) -> Double? {
                (requests[key] ?? limits[key]).flatMap { KubernetesQuantity.parse("\($0)") }
            }
            milliCPU += Int64(((quantity("cpu") ?? 0) * 1000).rounded())
            memory += Int64((quantity("memory") ?? 0).rounded())
            disk += Int64((quantity("ephemeral-storage") ?? 0).rounded())
            for key in ["nvidia.com/gpu", "amd.com/gpu", "gpu.intel.com/i915"] {
                if let count = quantity(key) { gpus += Int(count.rounded()) }
            }
        }
        cores = Int(UsageFacts.wholeCores(milli: milliCPU))
        milliCores = milliCPU % 1000 == 0 ? nil : milliCPU
        memoryBytes = memory > 0 ? memory : nil
        diskBytes = disk > 0 ? disk : nil
        var finished: [Int64] = []
        for case let container as [String: Any] in status["containerStatuses"] as? [Any] ?? [] {
            let stateInfo = container["state"] as? [String: Any] ?? [:]
            if let terminated = stateInfo["terminated"] as? [String: Any] {
                if let at = RFC3339.parse(terminated["finishedAt"]) { finished.append(at) }
                if start == nil { start = RFC3339.parse(terminated["startedAt"]) }
                exitCode = exitCode ?? (terminated["exitCode"] as? NSNumber)?.intValue
            }
            if start == nil, let running = stateInfo["running"] as? [String: Any] { start = RFC3339.parse(running["startedAt"]) }
        }
        end = finished.max()
        rawState = status["phase"] as? String ?? ""
        state = switch rawState {
        case "Running": .running
        case "Succeeded": .completed
        case "Failed": .failed
        case "Pending": .pending
        default: .unknown
        }
    }

    /// A Nomad allocation (`/v1/allocations` item or `/v1/allocation/<id>`).
    init(allocation: [String: Any]) {
        id = allocation["ID"] as? String
        name = allocation["JobID"] as? String
        namespace = allocation["Namespace"] as? String
        node = allocation["NodeName"] as? String
        pool = allocation["TaskGroup"] as? String
        submit = (allocation["CreateTime"] as? NSNumber).map { $0.int64Value / 1_000_000_000 }
        let tasks = (allocation["AllocatedResources"] as? [String: Any])?["Tasks"] as? [String: Any] ?? [:]
        var memory: Int64 = 0
        for case let task as [String: Any] in tasks.values {
            let cpu = task["Cpu"] as? [String: Any] ?? [:]
            cores += (cpu["ReservedCores"] as? [Any])?.count ?? 0
            memory += ((task["Memory"] as? [String: Any])?["MemoryMB"] as? NSNumber)?.int64Value ?? 0
            for case let device as [String: Any] in task["Devices"] as? [Any] ?? [] where (device["Type"] as? String) == "gpu" {
                gpus += (device["DeviceIDs"] as? [Any])?.count ?? 0
                gpuModel = device["Name"] as? String
            }
        }
        memoryBytes = memory > 0 ? memory * 1_048_576 : nil
        let shared = (allocation["AllocatedResources"] as? [String: Any])?["Shared"] as? [String: Any] ?? [:]
        diskBytes = ((shared["DiskMB"] as? NSNumber)?.int64Value).flatMap { $0 > 0 ? $0 * 1_048_576 : nil }
        let states = allocation["TaskStates"] as? [String: Any] ?? [:]
        let started = states.values.compactMap { ($0 as? [String: Any])?["StartedAt"] }.compactMap(RFC3339.parse)
        let finished = states.values.compactMap { ($0 as? [String: Any])?["FinishedAt"] }.compactMap(RFC3339.parse)
        start = started.min()
        end = finished.max()
        rawState = allocation["ClientStatus"] as? String ?? ""
        state = switch rawState {
        case "running": .running
        case "complete": .completed
        case "failed": .failed
        case "lost": .nodeFail
        case "pending": .pending
        default: .unknown
        }
    }

    /// An ai4-accounting snapshot job record (take_snapshot.py).
    init(ai4 job: [String: Any], namespace: String) {
        let jobID = job["job_ID"] as? String
        let alloc = job["alloc_ID"] as? String
        id = jobID.map { alloc.map { "\(jobID!)/\($0)" } ?? $0 }
        name = job["name"] as? String
        self.namespace = namespace
        user = job["owner"] as? String
        pool = job["datacenter"] as? String
        submit = RFC3339.parse(job["submit_time"]) ?? (job["submit_time"] as? NSNumber).map { $0.int64Value / 1_000_000_000 }
        start = RFC3339.parse(job["alloc_start"])
        end = RFC3339.parse(job["alloc_end"])
        let resources = job["resources"] as? [String: Any] ?? [:]
        func number(_ key: String) -> Int64 { (resources[key] as? NSNumber)?.int64Value ?? 0 }
        // Old jobs set MHz instead of cores (usage_stats.py's work-around).
        cores = Int(number("cpu_num") > 0 ? number("cpu_num") : number("cpu_MHz"))
        gpus = Int(number("gpu_num"))
        memoryBytes = number("memory_MB") > 0 ? number("memory_MB") * 1_048_576 : nil
        diskBytes = number("disk_MB") > 0 ? number("disk_MB") * 1_048_576 : nil
        rawState = job["status"] as? String ?? ""
        state = switch rawState {
        case "running": .running
        case "dead": .completed
        case "starting", "queued": .pending
        case "error", "down": .failed
        default: .unknown
        }
    }
}

/// RFC 3339 timestamps with any number of fraction digits; Go's zero time is "not set".
enum RFC3339 {
    static func parse(_ value: Any?) -> Int64? {
        guard let text = value as? String, text.count >= 20, !text.hasPrefix("0001-01-01") else { return nil }
        let bytes = Array(text.utf8)
        func digits(_ from: Int, _ count: Int) -> Int64? {
            var result: Int64 = 0
            for index in from..<(from + count) {
                guard index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 else { return nil }
                result = result * 10 + Int64(bytes[index] - 48)
            }
            return result
        }
        guard let year = digits(0, 4), let month = digits(5, 2), let day = digits(8, 2),
              let hour = digits(11, 2), let minute = digits(14, 2), let second = digits(17, 2) else { return nil }
        var index = 19
        while index < bytes.count, bytes[index] == UInt8(ascii: ".") || (bytes[index] >= 48 && bytes[index] <= 57) { index += 1 }
        var offset: Int64 = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
            guard let hours = digits(index + 1, 2), let minutes = digits(index + 4, 2) else { return nil }
            offset = (hours * 3600 + minutes * 60) * (bytes[index] == UInt8(ascii: "-") ? -1 : 1)
        }
        return UTCDay.fromCivil(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second - offset
    }
}

/// Kubernetes resource quantities: `500m`, `2`, `1.5`, `512Mi`, `1G`, `1e3`.
enum KubernetesQuantity {
    static func parse(_ text: String) -> Double? {
        let suffixes: [(String, Double)] = [
            ("Ki", 1024), ("Mi", 1_048_576), ("Gi", 1_073_741_824), ("Ti", 1_099_511_627_776), ("Pi", 1_125_899_906_842_624),
            ("Ei", 1_152_921_504_606_846_976), ("m", 0.001), ("k", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12), ("P", 1e15), ("E", 1e18),
        ]
        for (suffix, scale) in suffixes where text.hasSuffix(suffix) {
            return Double(text.dropLast(suffix.count)).map { $0 * scale }
        }
        return Double(text)
    }
}
