import Foundation
import TallyCore

/// Reads HTCondor job history (formats-and-policies §3): `condor_history -l` long ClassAds
/// (`Attr = value` lines; an ad ends at a blank line, a `*** Offset = …` banner, or the end of
/// the file; a repeated attribute's last value wins, as in per-job history files) and
/// `condor_history -json` / `-jsonl` (each object parsed as soon as its braces close).
///
/// * Key: `GlobalJobId` (pool-unique), else schedd-less `ClusterId.ProcId#QDate`.
/// * Cores: `CpusProvisioned` ?? `MachineAttrCpus0` ?? `RequestCpus` (when a number) ?? 1;
///   GPUs: `GPUsProvisioned` ?? `RequestGPUs`; memory: `MemoryProvisioned` ?? `RequestMemory` (MiB).
/// * Wall: `RemoteWallClockTime` minus `CumulativeSuspensionTime` (cumulative over all runs),
///   placed to end at `CompletionDate` (or `EnteredCurrentStatus` for removed jobs): earlier runs
///   fall before the last one, as the reference suggests when epoch history is not available.
/// * User: `AcctGroupUser` ?? `Owner`; account: `AcctGroup` ?? the VO (`x509UserProxyVOName`).
public struct HTCondorCollector: LineCollector {
    public struct Options: Sendable {
        public var site: String
        /// Cluster name; default: the schedd named in `GlobalJobId`.
        public var cluster: String?

        public init(site: String = "local", cluster: String? = nil) {
            self.site = site; self.cluster = cluster
        }
    }

    public let format = SourceFormat.htcondor
    public let file: String
    public let options: Options
    private var attributes: [String: ClassAdValue] = [:]
    private var adStart = 0
    private var json: JSONAccumulator?
    private var decidedMode = false

    public init(file: String, options: Options) {
        self.file = file
        self.options = options
    }

    public mutating func consume(_ line: Bytes, number: Int, into batch: inout CollectedBatch) throws(UnusableInput) {
        batch.linesRead += 1
        let text = line.trimmingSpaces
        if !decidedMode, !text.isEmpty {
            decidedMode = true
            if text[0] == UInt8(ascii: "[") || text[0] == UInt8(ascii: "{") { json = JSONAccumulator() }
        }
        if json != nil {
            consumeJSON(text, number: number, into: &batch)
            return
        }
        if text.isEmpty || (text.count >= 3 && text[0] == UInt8(ascii: "*") && text[1] == UInt8(ascii: "*")) {
            if text.isEmpty { batch.skipped[.blank, default: 0] += 1 } else { batch.skipped[.header, default: 0] += 1 }
            flushAd(into: &batch)
            return
        }
        guard let equals = text.firstIndex(of: UInt8(ascii: "=")) else {
            reject(number, nil, "not an Attr = value line", line, &batch)
            return
        }
        if attributes.isEmpty { adStart = number }
        // Only attributes Tally reads become values: an ad has a hundred or more.
        guard let name = Self.knownName(text.slice(0, equals).trimmingSpaces) else { return }
        attributes[name] = ClassAdValue(oldSyntax: text.slice(equals + 1, text.count).trimmingSpaces.string)
    }

    public mutating func finish(into batch: inout CollectedBatch) throws(UnusableInput) {
        if json != nil {
            if json?.isInsideObject == true {
                reject(json!.objectStart, nil, "JSON object not closed at the end of the input", nil, &batch)
            }
            return
        }
        flushAd(into: &batch)
    }

    // MARK: JSON

    private mutating func consumeJSON(_ text: Bytes, number: Int, into batch: inout CollectedBatch) {
        for object in json!.feed(text, line: number) {
            guard let parsed = try? JSONSerialization.jsonObject(with: object.data) as? [String: Any] else {
                reject(object.line, nil, "malformed JSON object", nil, &batch)
                continue
            }
            var ad: [String: ClassAdValue] = [:]
            for (key, value) in parsed { ad[key.lowercased()] = ClassAdValue(json: value) }
            emit(ad, number: object.line, into: &batch)
        }
    }

    // MARK: Ads

    private mutating func flushAd(into batch: inout CollectedBatch) {
        guard !attributes.isEmpty else { return }
        let ad = attributes
        attributes = [:]
        emit(ad, number: adStart, into: &batch)
    }

    private func emit(_ ad: [String: ClassAdValue], number: Int, into batch: inout CollectedBatch) {
        do {
            batch.records.append(try record(ad, number: number))
        } catch {
            batch.reject(file, line: number, field: error.field, error.reason, excerpt: ad["globaljobid"]?.text ?? "")
        }
    }

    private func record(_ ad: [String: ClassAdValue], number: Int) throws(FieldError) -> UsageRecord {
        func int(_ name: String) -> Int64? { ad[name.lowercased()]?.number.map { Int64($0.rounded()) } }
        func text(_ name: String) -> String? { ad[name.lowercased()]?.text.flatMap { $0.isEmpty ? nil : $0 } }
        func epoch(_ name: String) -> Int64? { int(name).flatMap { $0 > 0 ? $0 : nil } }

        let clusterID = int("ClusterId"), procID = int("ProcId")
        guard let clusterID else { throw FieldError(field: "ClusterId", reason: "ad has no ClusterId") }
        let jobID = "\(clusterID).\(procID ?? 0)"
        let global = text("GlobalJobId")
        let schedd = global.flatMap { $0.split(separator: "#").first.map(String.init) }
        let cluster = options.cluster ?? schedd ?? "default"
        let submit = epoch("QDate")
        let status = int("JobStatus") ?? 0
        let end = epoch("CompletionDate") ?? ((status == 3 || status == 4) ? epoch("EnteredCurrentStatus") : nil)
        let suspended = max(0, int("CumulativeSuspensionTime") ?? 0)
        let wall = max(0, (int("RemoteWallClockTime") ?? 0) - suspended)
        let lastStart = epoch("JobCurrentStartDate") ?? epoch("JobStartDate")
        var start: Int64? = nil
        if wall > 0 {
            if let end { start = end - wall } else { start = lastStart }
        } else if let lastStart, let end, lastStart <= end {
            start = lastStart
        }
        let cores = int("CpusProvisioned") ?? int("MachineAttrCpus0") ?? int("RequestCpus") ?? 1
        let gpus = int("GPUsProvisioned") ?? int("RequestGPUs") ?? 0
        let memoryMiB = int("MemoryProvisioned") ?? int("RequestMemory")
        let usedMiB = int("MemoryUsage") ?? int("ResidentSetSize").map { $0 / 1024 }
        let cpu = ad["remoteusercpu"]?.number.map { $0 + (ad["remotesyscpu"]?.number ?? 0) }
        let bySignal = ad["exitbysignal"]?.boolean ?? false
        let exitCode = int("ExitCode") ?? int("ExitStatus")
        var state: JobState
        switch status {
        case 1, 5: state = .pending
        case 2, 6: state = .running
        case 7: state = .suspended
        case 3: state = .cancelled
        case 4: state = bySignal ? .failed : (exitCode ?? 0) == 0 ? .completed : .failed
        default: state = .unknown
        }
        if state == .pending, wall > 0 { state = .running }
        let host = text("LastRemoteHost").map { String($0.split(separator: "@").last ?? "") }
        let group = text("AcctGroup")
        let key = global ?? "\(jobID)#\(submit.map(String.init) ?? "-")"
        do {
            return try UsageRecord(
                site: options.site, cluster: cluster, source: .htcondor, jobID: jobID, localJobID: global ?? jobID,
                naturalKey: "\(options.site)/htcondor/\(cluster)/\(key)", name: text("Cmd").map { ($0 as NSString).lastPathComponent },
                user: text("AcctGroupUser") ?? text("Owner"), group: group,
                account: group ?? text("x509UserProxyVOName"), partition: nil, qos: nil,
                nodeCount: host == nil ? 0 : 1, nodeList: host,
                submit: submit, start: start, end: end, wallSeconds: start == nil ? 0 : wall,
                cores: Int(max(0, cores)), gpus: Int(max(0, gpus)),
                memoryAllocated: memoryMiB.map { $0 * 1_048_576 }, memoryRequested: int("RequestMemory").map { $0 * 1_048_576 },
                memoryUsedPeak: usedMiB.map { $0 * 1_048_576 }, cpuSeconds: cpu.map { Int64($0.rounded()) },
                state: state, rawState: "JobStatus=\(status)",
                exitCode: bySignal ? nil : exitCode.map(Int.init), exitSignal: bySignal ? int("ExitSignal").map(Int.init) : nil,
                origin: SourcePosition(file: file, line: number))
        } catch {
            throw FieldError(field: error.field, reason: error.description)
        }
    }

    /// The attributes records are built from, lower-cased (ClassAd names are case-insensitive).
    static let knownNames = [
        "clusterid", "procid", "globaljobid", "qdate", "jobstatus", "completiondate", "enteredcurrentstatus",
        "cumulativesuspensiontime", "remotewallclocktime", "jobcurrentstartdate", "jobstartdate", "cpusprovisioned",
        "machineattrcpus0", "requestcpus", "gpusprovisioned", "requestgpus", "memoryprovisioned", "requestmemory",
        "memoryusage", "residentsetsize", "remoteusercpu", "remotesyscpu", "exitbysignal", "exitcode", "exitstatus",
        "exitsignal", "lastremotehost", "acctgroup", "acctgroupuser", "owner", "x509userproxyvoname", "cmd",
    ]
    private static let namesByLength: [Int: [(bytes: [UInt8], name: String)]] = Dictionary(
        grouping: knownNames.map { (bytes: Array($0.utf8), name: $0) }, by: { $0.bytes.count })

    /// The known attribute `bytes` names, compared without case; nil for any other.
    static func knownName(_ bytes: Bytes) -> String? {
        guard let candidates = namesByLength[bytes.count] else { return nil }
        for candidate in candidates {
            var same = true
            for index in 0..<bytes.count where bytes[index] | 0x20 != candidate.bytes[index] | 0x20 {
                same = false
                break
            }
            if same { return candidate.name }
        }
        return nil
    }

    private func reject(_ number: Int, _ field: String?, _ reason: String, _ line: Bytes?, _ batch: inout CollectedBatch) {
        batch.reject(file, line: number, field: field, reason, excerpt: line?.excerpt() ?? "")
    }
}

/// A ClassAd value as accounting needs it: a number, a string, a boolean, or neither
/// (`undefined`, an unevaluated expression, `"\/Expr(…)\/"` in JSON).
enum ClassAdValue: Sendable {
    case number(Double)
    case string(String)
    case boolean(Bool)
    case other(String)

    init(oldSyntax raw: String) {
        if raw.count >= 2, raw.first == "\"", raw.last == "\"" {
            self = .string(String(raw.dropFirst().dropLast()).replacingOccurrences(of: "\\\"", with: "\""))
        } else if let number = Double(raw) {
            self = .number(number)
        } else if raw.lowercased() == "true" || raw.lowercased() == "false" {
            self = .boolean(raw.lowercased() == "true")
        } else {
            self = .other(raw)
        }
    }

    init(json value: Any) {
        switch value {
        case let number as NSNumber:
            // JSON true/false arrive as NSNumber of type char ("c"); numbers as "i", "q" or "d".
            if String(cString: number.objCType) == "c" { self = .boolean(number.boolValue) } else { self = .number(number.doubleValue) }
        case let text as String:
            self = text.hasPrefix("/Expr(") || text.hasPrefix("\\/Expr(") ? .other(text) : .string(text)
        default:
            self = .other("\(value)")
        }
    }

    var number: Double? {
        if case let .number(value) = self { return value }
        return nil
    }

    var text: String? {
        if case let .string(value) = self { return value }
        return nil
    }

    var boolean: Bool? {
        if case let .boolean(value) = self { return value }
        return nil
    }
}

/// Cuts a stream of JSON text into its top-level objects by brace depth outside strings, so an
/// array of millions of job ads is parsed one ad at a time.
struct JSONAccumulator: Sendable {
    private var buffer: [UInt8] = []
    private var depth = 0
    private var inString = false
    private var escaped = false
    private(set) var objectStart = 0

    var isInsideObject: Bool { depth > 0 }

    mutating func feed(_ text: Bytes, line: Int) -> [(data: Data, line: Int)] {
        var objects: [(data: Data, line: Int)] = []
        for byte in text {
            if depth == 0 {
                if byte == UInt8(ascii: "{") {
                    depth = 1
                    buffer = [byte]
                    objectStart = line
                }
                continue
            }
            buffer.append(byte)
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"): depth += 1
            case UInt8(ascii: "}"):
                depth -= 1
                if depth == 0 {
                    objects.append((Data(buffer), objectStart))
                    buffer = []
                }
            default: break
            }
        }
        if depth > 0 { buffer.append(UInt8(ascii: "\n")) }
        return objects
    }
}
