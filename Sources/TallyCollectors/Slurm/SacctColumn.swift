import Foundation
import TallyCore

/// The sacct columns Tally reads, and the value kind of others it knows, so a line whose free-text
/// fields hold the delimiter can be put back together (formats-and-policies §1.1: no escaping).
public enum SacctColumn: Int, Sendable, CaseIterable {
    case jobID, jobIDRaw, jobName
    case user, group, account, partition, qos, cluster
    case submit, eligible, start, end
    case elapsed, elapsedRaw, totalCPU
    case nCPUs, allocCPUs, reqCPUs
    case nNodes, allocNodes, nodeList
    case allocTRES, reqTRES, reqMem, maxRSS
    case consumedEnergyRaw
    case state, exitCode
    /// Slurm before TRES (≤ 17.x) and many site scripts print GPUs only here: `gpu:v100:2`.
    case allocGRES, reqGRES

    /// The header name in lower case, as sacct's `--format` takes it.
    public var headerName: String { Self.names[rawValue] }

    private static let names = [
        "jobid", "jobidraw", "jobname", "user", "group", "account", "partition", "qos", "cluster",
        "submit", "eligible", "start", "end", "elapsed", "elapsedraw", "totalcpu", "ncpus", "alloccpus", "reqcpus",
        "nnodes", "allocnodes", "nodelist", "alloctres", "reqtres", "reqmem", "maxrss", "consumedenergyraw",
        "state", "exitcode", "allocgres", "reqgres",
    ]

    private static let byName: [String: SacctColumn] = Dictionary(
        uniqueKeysWithValues: allCases.map { ($0.headerName, $0) })

    /// Case-insensitive lookup of a header name (`AllocTRES`, `alloctres`, `NCPUS`).
    public static func named(_ name: some StringProtocol) -> SacctColumn? {
        byName[name.lowercased()]
    }
}

/// What a column's values look like, for telling a real field boundary from a `|` inside text.
enum SacctValueKind: Sendable {
    case freeText, timestamp, duration, integer, tres, size, exitCode, state, token, any

    static func of(header name: String) -> SacctValueKind {
        switch name.lowercased() {
        case "jobname", "comment", "admincomment", "systemcomment", "submitline", "workdir", "constraints",
             "wckey", "container", "stdin", "stdout", "stderr", "extra", "reservation", "mcslabel", "licenses":
            .freeText
        case "submit", "eligible", "start", "end": .timestamp
        case "elapsed", "cputime", "totalcpu", "usercpu", "systemcpu", "timelimit", "suspended", "resvcpu",
             "avecpu", "mincpu", "planned", "plannedcpu", "reserved":
            .duration
        case "jobidraw", "elapsedraw", "cputimeraw", "ncpus", "alloccpus", "reqcpus", "nnodes", "allocnodes",
             "reqnodes", "uid", "gid", "associd", "dbindex", "timelimitraw", "qosraw", "priority", "ntasks",
             "resvcpuraw", "consumedenergyraw", "wckeyid", "reservationid", "reqcpufreqmin", "reqcpufreqmax",
             "reqcpufreq", "maxpages", "avepages", "maxdiskreadtask", "maxdiskwritetask", "maxpagestask",
             "maxrsstask", "maxvmsizetask", "mincputask", "plannedraw":
            .integer
        case "alloctres", "reqtres", "tresusageintot", "tresusageinave", "tresusageinmax", "tresusageinmin",
             "tresusageinmaxnode", "tresusageinmaxtask", "tresusageinminnode", "tresusageinmintask",
             "tresusageoutave", "tresusageoutmax", "tresusageoutmin", "tresusageouttot", "tresusageoutmaxnode",
             "tresusageoutmaxtask", "tresusageoutminnode", "tresusageoutmintask":
            .tres
        case "reqmem", "maxrss", "averss", "maxvmsize", "avevmsize", "maxdiskread", "maxdiskwrite",
             "avediskread", "avediskwrite", "consumedenergy", "avecpufreq":
            .size
        case "exitcode", "derivedexitcode": .exitCode
        case "state": .state
        case "user", "group", "account", "partition", "qos", "cluster", "jobid", "nodelist", "reason", "flags",
             "layout", "blockid", "maxdiskreadnode", "maxdiskwritenode", "maxpagesnode", "maxrssnode",
             "maxvmsizenode", "mincpunode", "reqcpufreqgov", "allocgres", "reqgres", "gres":
            .token
        default: .any
        }
    }

    /// Whether `bytes` could be a value of this kind (permissive: only rules out clear misfits).
    func admits(_ bytes: Bytes) -> Bool {
        if bytes.isEmpty { return true }
        switch self {
        case .freeText, .any: return true
        case .timestamp:
            var converter = Self.utcConverter
            return SlurmValues.timestamp(bytes, converter: &converter) != nil
        case .duration: return SlurmValues.durationMillis(bytes) != nil
        case .integer: return SlurmValues.isSentinel(bytes) || SlurmValues.integer(bytes) != nil
        case .tres: return !bytes.contains(byte: UInt8(ascii: " ")) && (bytes.contains(byte: UInt8(ascii: "=")))
        case .size: return SlurmValues.size(bytes, baseUnit: 1) != nil
        case .exitCode: return SlurmValues.exitCode(bytes) != nil
        case .state:
            let first = bytes[0]
            return first >= UInt8(ascii: "A") && first <= UInt8(ascii: "Z")
        case .token:
            return !bytes.contains(byte: UInt8(ascii: " ")) || SlurmValues.isSentinel(bytes)
        }
    }

    private static let utcConverter = LocalTimeConverter(timeZone: .gmt)
}
