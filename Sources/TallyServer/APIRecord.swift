import Foundation
import TallyCore

/// A usage record on the wire (`POST`/`GET /api/v1/records`): snake_case JSON, times in epoch
/// seconds (UTC), durations in seconds, memory in bytes, energy in joules. See docs/api.md.
public struct APIRecord: Codable, Sendable, Hashable {
    public var site: String
    public var cluster: String
    public var jobID: String
    public var localJobID: String?
    /// Identity across resends; defaults to `site/source/cluster/local_job_id/submit` and must
    /// start with the record's site.
    public var naturalKey: String?
    /// Which scheduler the record came from (slurm, pbs, …); default `api`.
    public var source: String?
    public var name: String?
    public var user: String?
    public var group: String?
    public var account: String?
    public var partition: String?
    public var qos: String?
    public var nodes: Int?
    public var nodeList: String?
    public var submit: Int64?
    public var eligible: Int64?
    public var start: Int64?
    public var end: Int64?
    public var wallSeconds: Int64?
    public var cores: Int?
    public var gpus: Int?
    public var gpuModel: String?
    public var memAllocBytes: Int64?
    public var memReqBytes: Int64?
    public var memUsedBytes: Int64?
    public var cpuSeconds: Int64?
    public var energyJoules: Int64?
    public var billing: Int64?
    /// Exact CPU allocation in thousandths of a core, when fractional (Kubernetes).
    public var milliCores: Int64?
    public var diskAllocBytes: Int64?
    public var state: String
    public var rawState: String?
    public var exitCode: Int?
    public var exitSignal: Int?

    enum CodingKeys: String, CodingKey {
        case site, cluster, jobID = "job_id", localJobID = "local_job_id", naturalKey = "natural_key", source, name
        case user, group, account, partition, qos, nodes, nodeList = "node_list", submit, eligible, start, end
        case wallSeconds = "wall_seconds", cores, gpus, gpuModel = "gpu_model", memAllocBytes = "mem_alloc_bytes"
        case memReqBytes = "mem_req_bytes", memUsedBytes = "mem_used_bytes", cpuSeconds = "cpu_seconds"
        case energyJoules = "energy_joules", billing, state, rawState = "raw_state", exitCode = "exit_code"
        case exitSignal = "exit_signal", milliCores = "milli_cores", diskAllocBytes = "disk_alloc_bytes"
    }

    /// A record with only what is required; set the rest field by field.
    public init(site: String, cluster: String, jobID: String, state: String) {
        self.site = site; self.cluster = cluster; self.jobID = jobID; self.state = state
    }

    public init(_ record: UsageRecord) {
        site = record.site; cluster = record.cluster; jobID = record.jobID; localJobID = record.localJobID
        naturalKey = record.naturalKey; source = record.source.rawValue; name = record.name
        user = record.user; group = record.group; account = record.account; partition = record.partition
        qos = record.qos; nodes = record.nodeCount; nodeList = record.nodeList; submit = record.submit
        eligible = record.eligible; start = record.start; end = record.end; wallSeconds = record.wallSeconds
        cores = record.cores; gpus = record.gpus; gpuModel = record.gpuModel; memAllocBytes = record.memoryAllocated
        memReqBytes = record.memoryRequested; memUsedBytes = record.memoryUsedPeak; cpuSeconds = record.cpuSeconds
        energyJoules = record.energyJoules; billing = record.billing; state = record.state.rawValue
        milliCores = record.milliCores; diskAllocBytes = record.diskAllocated
        rawState = record.rawState; exitCode = record.exitCode; exitSignal = record.exitSignal
    }

    /// The validated record, or why not.
    public func usageRecord(index: Int) throws(APIRecordError) -> UsageRecord {
        guard !site.isEmpty else { throw .invalid("site is empty") }
        guard !cluster.isEmpty else { throw .invalid("cluster is empty") }
        guard !jobID.isEmpty else { throw .invalid("job_id is empty") }
        let format = source.map { SourceFormat(rawValue: $0.lowercased()) } ?? .api
        guard let format else { throw .invalid("source '\(source ?? "")' is not one of \(SourceFormat.allCases.map(\.rawValue).joined(separator: ", "))") }
        let lowered = state.lowercased()
        let jobState = JobState(rawValue: lowered) ?? JobState(slurmName: state)
        let local = localJobID ?? jobID
        let key = naturalKey ?? "\(site)/\(format.rawValue)/\(cluster)/\(local)/\(submit.map(String.init) ?? "")"
        guard key.hasPrefix(site + "/") else { throw .invalid("natural_key must start with the record's site ('\(site)/')") }
        do {
            return try UsageRecord(
                site: site, cluster: cluster, source: format, jobID: jobID, localJobID: local, naturalKey: key, name: name,
                user: user, group: group, account: account, partition: partition, qos: qos, nodeCount: nodes ?? 0,
                nodeList: nodeList, submit: submit, eligible: eligible, start: start, end: end,
                wallSeconds: wallSeconds ?? (start != nil && end != nil ? max(0, end! - start!) : 0),
                cores: cores ?? 0, gpus: gpus ?? 0, gpuModel: gpuModel, memoryAllocated: memAllocBytes,
                memoryRequested: memReqBytes, memoryUsedPeak: memUsedBytes, cpuSeconds: cpuSeconds,
                energyJoules: energyJoules, billing: billing, milliCores: milliCores, diskAllocated: diskAllocBytes,
                state: jobState, rawState: rawState ?? state.uppercased(),
                exitCode: exitCode, exitSignal: exitSignal, origin: SourcePosition(file: "api", line: index))
        } catch {
            throw .invalid(error.description)
        }
    }
}

public enum APIRecordError: Error, Sendable, CustomStringConvertible {
    case invalid(String)
    public var description: String {
        switch self { case let .invalid(reason): reason }
    }
}

/// Decodes one element of a batch, keeping its error instead of failing the whole batch.
struct Decoded<Value: Decodable>: Decodable {
    let result: Result<Value, Error>

    init(from decoder: Decoder) throws {
        do { result = .success(try Value(from: decoder)) } catch { result = .failure(error) }
    }

    static func reason(_ error: Error) -> String {
        switch error {
        case let DecodingError.keyNotFound(key, _): return "missing field '\(key.stringValue)'"
        case let DecodingError.typeMismatch(type, context):
            return "field '\(context.codingPath.map(\.stringValue).joined(separator: "."))': expected \(type)"
        case let DecodingError.valueNotFound(type, context):
            return "field '\(context.codingPath.map(\.stringValue).joined(separator: "."))': null where \(type) is required"
        case let DecodingError.dataCorrupted(context):
            return "not valid JSON: \(context.debugDescription)"
        default: return "\(error)"
        }
    }
}
