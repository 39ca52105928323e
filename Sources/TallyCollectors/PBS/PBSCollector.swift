import Foundation
import TallyCore

/// Reads PBS Pro / OpenPBS and Torque accounting logs (formats-and-policies §4):
/// `MM/DD/YYYY HH:MM:SS;<type>;<id>;key=value …`.
///
/// * Times come from the epoch keys in the message (`ctime`, `etime`, `start`, `end`), never from
///   the line's local timestamp, which is used (in `--timezone`) only when `end` is missing.
/// * `E` (end) and `R` (rerun: the usage of an interrupted run) records are charged, each run
///   keyed by job id and start time. `S` (start) records a running job that its `E` replaces.
///   `D`, `A`, `Q` and the other event records carry no usage and are counted, not charged.
///   Array parents (`123[]`) are skipped: their subjobs carry the usage.
/// * Cores: `resources_used.ncpus`, `total_execution_slots`, Σ `ncpus` of `exec_vnode`, the
///   CPUs of `exec_host`, `Resource_List.ncpus`, then `nodes=N:ppn=P`. GPUs: Σ `ngpus` of
///   `exec_vnode`, `Resource_List.ngpus`, then `gpus=` (or `gpu=`) in `Resource_List.nodes`
///   or a node spec written into `Resource_List.nodect` (per node).
/// * `Exit_status` ≥ 256 is a kill by signal `Exit_status − 256`; −29 walltime, −27 memory.
/// * Wall time is `resources_used.walltime` (§8, as APEL charges it), else `end − start`; a
///   record whose two differ by more than a minute and 1 % is kept and flagged.
/// * Salvaged, flagged and still charged: a numeric value glued to the next known key
///   (`etime=1317509574start=1317509945`, APEL's test log), and an `end` before `start`
///   (clock skew or Torque's saved resources): the run then ends at `start + walltime`, or at
///   `start` with no usage when no walltime is known (§9).
public struct PBSCollector: LineCollector {
    public struct Options: Sendable {
        public var site: String
        /// Cluster name; default: the server name in the job ids, else "default".
        public var cluster: String?
        /// The zone of the server's line timestamps (used only when a record has no `end`).
        public var timeZone: TimeZone

        public init(site: String = "local", cluster: String? = nil, timeZone: TimeZone = .current) {
            self.site = site; self.cluster = cluster; self.timeZone = timeZone
        }
    }

    public let format = SourceFormat.pbs
    public let file: String
    public let options: Options
    private var converter: LocalTimeConverter

    public init(file: String, options: Options) {
        self.file = file
        self.options = options
        converter = LocalTimeConverter(timeZone: options.timeZone)
    }

    public mutating func consume(_ line: Bytes, number: Int, into batch: inout CollectedBatch) throws(UnusableInput) {
        batch.linesRead += 1
        var text = line.trimmingSpaces
        if text.isEmpty {
            batch.skipped[.blank, default: 0] += 1
            return
        }
        // `grep` over several daily files prefixes each line with its file name (20150327:).
        if text.count > 9, text[8] == UInt8(ascii: ":"), text.prefix(8).allSatisfy({ $0 >= 48 && $0 <= 57 }) {
            text = text.slice(9, text.count)
        }
        let parts = text.split(separator: UInt8(ascii: ";"), maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count >= 3, parts[1].count == 1 else {
            reject(number, nil, "not a PBS accounting record (date;type;id;message)", line, &batch)
            return
        }
        let type = Character(UnicodeScalar(parts[1].first!))
        guard "ESR".contains(type) else {
            batch.skipped[.event, default: 0] += 1
            return
        }
        let id = String(decoding: parts[2], as: UTF8.self)
        if id.contains("[]") {
            batch.skipped[.arrayParent, default: 0] += 1
            return
        }
        let attributes: PBSAttributes
        do {
            attributes = try PBSAttributes(parts.count > 3 ? Array(parts[3]) : [])
        } catch {
            reject(number, nil, error.reason, line, &batch)
            return
        }
        do {
            let stamp = String(decoding: parts[0], as: UTF8.self)
            var repairs = attributes.repairs
            batch.records.append(try record(type: type, id: id, attributes, stamp: stamp, line: number,
                                            repairs: &repairs))
            for repair in repairs {
                batch.flags.append(Rejection(position: SourcePosition(file: file, line: number), field: repair.field,
                                             reason: repair.reason, excerpt: line.excerpt()))
            }
        } catch {
            reject(number, error.field, error.reason, line, &batch)
        }
    }

    public mutating func finish(into batch: inout CollectedBatch) throws(UnusableInput) {}

    private mutating func record(type: Character, id: String, _ attributes: PBSAttributes, stamp: String,
                                 line: Int, repairs: inout [FieldError]) throws(FieldError) -> UsageRecord {
        func epoch(_ key: String) throws(FieldError) -> Int64? {
            guard let text = attributes[key], !text.isEmpty else { return nil }
            guard let value = Int64(text), value >= 0 else { throw FieldError(field: key, reason: "not an epoch time: '\(text)'") }
            return value == 0 ? nil : value
        }
        func duration(_ key: String) throws(FieldError) -> Int64? {
            guard let text = attributes[key], !text.isEmpty else { return nil }
            guard let value = PBSValues.duration(text) else { throw FieldError(field: key, reason: "not a duration: '\(text)'") }
            return value
        }
        func size(_ key: String) throws(FieldError) -> Int64? {
            guard let text = attributes[key], !text.isEmpty else { return nil }
            guard let value = PBSValues.size(text) else { throw FieldError(field: key, reason: "not a size: '\(text)'") }
            return value
        }
        /// Requested resources are only fallbacks: an odd value there is ignored, not fatal.
        func requested(_ key: String) -> Int64? {
            attributes[key].flatMap { Int64($0) }.flatMap { $0 >= 0 ? $0 : nil }
        }
        func count(_ key: String) throws(FieldError) -> Int64? {
            guard let text = attributes[key], !text.isEmpty else { return nil }
            guard let value = Int64(text), value >= 0 else { throw FieldError(field: key, reason: "not a count: '\(text)'") }
            return value
        }

        let dot = id.firstIndex(of: ".")
        let jobNumber = String(dot.map { id[..<$0] } ?? id[...])
        let server = dot.map { String(id[id.index(after: $0)...]) }
        let cluster = options.cluster ?? server.map { String($0.split(separator: ".").first ?? "") } ?? "default"
        let submit = try epoch("ctime")
        let start = try epoch("start")
        let recordedEnd = try epoch("end")
        var end = type == "S" ? nil : recordedEnd
        if type != "S", end == nil, start != nil, let local = PBSValues.localStamp(stamp) {
            end = converter.utc(fromLocal: local)
        }
        let usedWall = try duration("resources_used.walltime")
        if let start, let recorded = end, recorded < start {
            end = start + (usedWall ?? 0)
            repairs.append(FieldError(field: "end", reason: "end (\(recorded)) is before start (\(start)): "
                + (usedWall.map { "run taken as start + resources_used.walltime (\($0) s)" } ?? "no usage charged")))
        }
        var wall: Int64 = 0
        if let usedWall {
            wall = usedWall
            if let start, let end, FieldError.wallClocksDisagree(usedWall, end - start) {
                repairs.append(FieldError(field: "resources_used.walltime", reason: "walltime \(usedWall) s charged; "
                    + "end − start is \(end - start) s"))
            }
        } else if let start, let end {
            wall = end - start
        }

        let vnodes = PBSValues.vnodeTotals(attributes["exec_vnode"])
        let hosts = PBSValues.execHosts(attributes["exec_host"])
        let nodeSpec = PBSValues.nodeSpec(attributes["Resource_List.nodes"])
        let usedCPUs = try count("resources_used.ncpus")
        let slots = try count("total_execution_slots")
        let listedCPUs = requested("Resource_List.ncpus")
        let cores = usedCPUs ?? slots ?? vnodes.cpus ?? hosts.cpus ?? listedCPUs ?? nodeSpec.cpus ?? 0
        let listedGPUs = requested("Resource_List.ngpus")
        // Some Torque sites write the node spec into `Resource_List.nodect` (`1:ppn=24:gpu=4`).
        let gpus = vnodes.gpus ?? listedGPUs ?? nodeSpec.gpus ?? PBSValues.nodeSpec(attributes["Resource_List.nodect"]).gpus ?? 0
        let uniqueNodes = try count("unique_node_count")
        let listedNodes = requested("Resource_List.nodect")
        let nodes = uniqueNodes ?? (hosts.names.isEmpty ? nil : Int64(hosts.names.count)) ?? listedNodes ?? 0
        let listedMemory = attributes["Resource_List.mem"].flatMap(PBSValues.size)
        let usedMemory = try size("resources_used.mem")
        let cpuTime = try duration("resources_used.cput")
        let eligible = try epoch("etime")

        let status = attributes["Exit_status"].flatMap { Int($0) }
        var state: JobState = switch type {
        case "S": .running
        case "R": .requeued
        default: .completed
        }
        var signal: Int?
        var code = status
        if type == "E", let status {
            if status >= 256 {
                signal = status - 256
                code = 0
                state = .cancelled
            } else if status == -29 {
                state = .timeout
            } else if status == -27 {
                state = .outOfMemory
            } else if status != 0 {
                state = .failed
            }
        }
        let account = attributes["account"] ?? attributes["project"].flatMap { $0 == "_pbs_project_default" ? nil : $0 }
        let startKey = start.map(String.init) ?? "-"
        do {
            return try UsageRecord(
                site: options.site, cluster: cluster, source: .pbs, jobID: jobNumber, localJobID: id,
                naturalKey: "\(options.site)/pbs/\(cluster)/\(jobNumber)/\(startKey)", name: attributes["jobname"],
                user: attributes["user"], group: attributes["group"], account: account,
                partition: attributes["queue"], qos: nil, nodeCount: Int(nodes),
                nodeList: hosts.names.isEmpty ? nil : hosts.names.joined(separator: ","),
                submit: submit, eligible: eligible, start: start, end: end,
                wallSeconds: start == nil ? 0 : wall, cores: Int(cores), gpus: Int(gpus),
                memoryAllocated: vnodes.memory ?? listedMemory,
                memoryRequested: listedMemory, memoryUsedPeak: usedMemory,
                cpuSeconds: cpuTime, energyJoules: nil, billing: nil,
                state: state, rawState: status.map { "\(type) Exit_status=\($0)" } ?? String(type),
                exitCode: code, exitSignal: signal, origin: SourcePosition(file: file, line: line))
        } catch {
            throw FieldError(field: nil, reason: error.description)
        }
    }

    private func reject(_ number: Int, _ field: String?, _ reason: String, _ line: Bytes, _ batch: inout CollectedBatch) {
        batch.reject(file, line: number, field: field, reason, excerpt: line.excerpt())
    }
}

/// The `key=value` pairs of a PBS message that Tally reads (§4.5 quoting): the message is scanned
/// once as bytes, and only known keys become strings.
struct PBSAttributes {
    static let keys = [
        "user", "group", "account", "project", "jobname", "queue", "ctime", "etime", "start", "end",
        "exec_host", "exec_vnode", "Resource_List.ncpus", "Resource_List.nodes", "Resource_List.nodect",
        "Resource_List.ngpus", "Resource_List.mem", "resources_used.ncpus", "resources_used.walltime",
        "resources_used.mem", "resources_used.cput", "total_execution_slots", "unique_node_count", "Exit_status",
    ]
    private static let indexByName = Dictionary(uniqueKeysWithValues: keys.enumerated().map { ($1, $0) })
    private static let byLength: [Int: [(bytes: [UInt8], index: Int)]] = Dictionary(
        grouping: keys.enumerated().map { (bytes: Array($1.utf8), index: $0) }, by: { $0.bytes.count })

    private var values = [String?](repeating: nil, count: keys.count)
    /// What was salvaged while reading (a value glued to the next key).
    private(set) var repairs: [FieldError] = []

    subscript(name: String) -> String? { Self.indexByName[name].flatMap { values[$0] } }

    /// A known key glued to the end of a numeric value (digits and colons only, so `select`
    /// and `exec_vnode` values, which hold `=` of their own, are never split).
    private static func gluedKey(_ bytes: [UInt8], in range: Range<Int>) -> (at: Int, key: Int)? {
        var digitsEnd = range.lowerBound
        while digitsEnd < range.upperBound, bytes[digitsEnd] >= 48 && bytes[digitsEnd] <= 57 || bytes[digitsEnd] == 58 {
            digitsEnd += 1
        }
        guard digitsEnd > range.lowerBound, digitsEnd < range.upperBound,
              let equals = bytes[digitsEnd..<range.upperBound].firstIndex(of: UInt8(ascii: "=")),
              let candidates = byLength[equals - digitsEnd] else { return nil }
        for candidate in candidates where bytes[digitsEnd..<equals].elementsEqual(candidate.bytes) {
            return (digitsEnd, candidate.index)
        }
        return nil
    }

    /// Key up to the first `=`; a value starting with a quote runs to the matching quote,
    /// otherwise to the next space.
    init(_ bytes: [UInt8]) throws(FieldError) {
        var index = 0
        while index < bytes.count {
            while index < bytes.count, bytes[index] == UInt8(ascii: " ") { index += 1 }
            guard index < bytes.count else { break }
            let keyStart = index
            while index < bytes.count, bytes[index] != UInt8(ascii: "="), bytes[index] != UInt8(ascii: " ") { index += 1 }
            let keyEnd = index
            guard index < bytes.count, bytes[index] == UInt8(ascii: "=") else {
                let key = String(decoding: bytes[keyStart..<keyEnd], as: UTF8.self)
                throw FieldError(field: key, reason: "'\(key)' has no value (expected key=value)")
            }
            index += 1
            var valueRange: Range<Int>
            if index < bytes.count, bytes[index] == UInt8(ascii: "\"") || bytes[index] == UInt8(ascii: "'") {
                let quote = bytes[index]
                index += 1
                let valueStart = index
                while index < bytes.count, bytes[index] != quote { index += 1 }
                guard index < bytes.count else {
                    let key = String(decoding: bytes[keyStart..<keyEnd], as: UTF8.self)
                    throw FieldError(field: key, reason: "unterminated quote in \(key)")
                }
                valueRange = valueStart..<index
                index += 1
            } else {
                let valueStart = index
                while index < bytes.count, bytes[index] != UInt8(ascii: " ") { index += 1 }
                valueRange = valueStart..<index
                if let glued = Self.gluedKey(bytes, in: valueRange) {
                    // `etime=1317509574start=1317509945`: a lost space; read the next key from there.
                    let key = String(decoding: bytes[keyStart..<keyEnd], as: UTF8.self)
                    repairs.append(FieldError(field: key, reason: "no space between \(key) and "
                        + "\(Self.keys[glued.key]): read as two keys"))
                    valueRange = valueRange.lowerBound..<glued.at
                    index = glued.at
                }
            }
            guard let candidates = Self.byLength[keyEnd - keyStart] else { continue }
            for candidate in candidates where bytes[keyStart..<keyEnd].elementsEqual(candidate.bytes) {
                values[candidate.index] = String(decoding: bytes[valueRange], as: UTF8.self)
                break
            }
        }
    }
}
