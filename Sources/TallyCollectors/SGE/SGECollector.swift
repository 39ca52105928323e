import Foundation
import TallyCore

/// Reads Grid Engine (SGE, Son of Grid Engine, OGE, Univa/Altair) `accounting` files
/// (formats-and-policies §5.1): one finished job, array task or parallel task per line, 45
/// `:`-separated fields (43 in old versions; Univa appends more).
///
/// * Charge = `ru_wallclock` × `slots`, from master records only (`pe_taskid` NONE); slave-task
///   records of tightly integrated parallel jobs are counted and skipped. `end − start` stands in
///   only when ru_wallclock is empty; a record where the two disagree, or whose end is before its
///   start (taken as start + ru_wallclock), is kept and flagged.
/// * Univa writes times in epoch milliseconds: detected by magnitude (> 10^11).
/// * A `:` inside the free-text `category` (#40, e.g. `h_rt=3:00:00`) is put back by reading
///   fields 41–45 from the right when the left-anchored reading does not type-check.
/// * Each run is keyed by job number, task number, pe_taskid, start time and host, so a job
///   retried after a failed start is charged per attempt and re-reading changes nothing.
/// * GPUs: `gpu=`, `gpus=` or `ngpus=` in the `-l` requests of `category` (per job).
public struct SGECollector: LineCollector {
    public struct Options: Sendable {
        public var site: String
        public var cluster: String

        public init(site: String = "local", cluster: String = "default") {
            self.site = site; self.cluster = cluster
        }
    }

    public let format = SourceFormat.sge
    public let file: String
    public let options: Options

    public init(file: String, options: Options) {
        self.file = file
        self.options = options
    }

    public mutating func consume(_ line: Bytes, number: Int, into batch: inout CollectedBatch) throws(UnusableInput) {
        batch.linesRead += 1
        let text = line.trimmingSpaces
        if text.count <= 1 || text[0] == UInt8(ascii: "#") {
            batch.skipped[text.count <= 1 ? .blank : .header, default: 0] += 1
            return
        }
        // Substrings of one decoded line, split on the byte: no string per field, no Character walk.
        let decoded = String(decoding: text, as: UTF8.self)
        let raw = decoded.utf8.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false).map { Substring($0) }
        guard raw.count >= 43 else {
            reject(number, nil, "too few fields: \(raw.count) of 45", line, &batch)
            return
        }
        guard let fields = Self.placeCategory(raw) else {
            reject(number, "category", "\(raw.count) fields, and the extra ':' cannot be placed inside category",
                   line, &batch)
            return
        }
        if fields[41] != "NONE", !fields[41].isEmpty {
            batch.skipped[.parallelTask, default: 0] += 1
            return
        }
        do {
            var flags: [FieldError] = []
            batch.records.append(try record(fields, number: number, flags: &flags))
            for flag in flags {
                batch.flags.append(Rejection(position: SourcePosition(file: file, line: number), field: flag.field,
                                             reason: flag.reason, excerpt: line.excerpt()))
            }
        } catch {
            reject(number, error.field, error.reason, line, &batch)
        }
    }

    public mutating func finish(into batch: inout CollectedBatch) throws(UnusableInput) {}

    static let names = [
        "qname", "hostname", "group", "owner", "job_name", "job_number", "account", "priority", "submission_time",
        "start_time", "end_time", "failed", "exit_status", "ru_wallclock", "ru_utime", "ru_stime", "ru_maxrss",
        "ru_ixrss", "ru_ismrss", "ru_idrss", "ru_isrss", "ru_minflt", "ru_majflt", "ru_nswap", "ru_inblock",
        "ru_oublock", "ru_msgsnd", "ru_msgrcv", "ru_nsignals", "ru_nvcsw", "ru_nivcsw", "project", "department",
        "granted_pe", "slots", "task_number", "cpu", "mem", "io", "category", "iow", "pe_taskid", "maxvmem",
        "arid", "ar_sub_time",
    ]

    /// The 45 fields in order (43-field lines padded). Extra fields are Univa's appended ones when
    /// fields 41–45 type-check where they stand; otherwise colons from `category`.
    static func placeCategory(_ raw: [Substring]) -> [Substring]? {
        var fields = raw
        while fields.count < 45 { fields.append("") }
        if fields.count == 45 || tailTypeChecks(Array(fields[40..<45])) { return Array(fields.prefix(45)) }
        let extra = fields.count - 45
        let tail = Array(fields.suffix(5))
        guard tailTypeChecks(tail) else { return nil }
        let category = Substring(fields[39...(39 + extra)].joined(separator: ":"))
        return Array(fields[0..<39]) + [category] + tail
    }

    /// iow (float), pe_taskid (NONE or n.host), maxvmem (float), arid (int), ar_sub_time (int).
    private static func tailTypeChecks(_ tail: [Substring]) -> Bool {
        Double(tail[0]) != nil && !tail[1].contains(" ") && Double(tail[2]) != nil
            && (tail[3].isEmpty || Int64(tail[3]) != nil) && (tail[4].isEmpty || Int64(tail[4]) != nil)
    }

    private func record(_ fields: [Substring], number: Int, flags: inout [FieldError]) throws(FieldError) -> UsageRecord {
        func integer(_ index: Int) throws(FieldError) -> Int64 {
            guard let value = Int64(fields[index]) ?? Double(fields[index]).map({ Int64($0.rounded()) }) else {
                throw FieldError(field: Self.names[index], reason: "not a number: '\(fields[index])'")
            }
            return value
        }
        func real(_ index: Int) throws(FieldError) -> Double {
            guard let value = Double(fields[index]) else {
                throw FieldError(field: Self.names[index], reason: "not a number: '\(fields[index])'")
            }
            return value
        }
        /// Epoch seconds; Univa's milliseconds are recognised by magnitude. 0 means "never".
        func time(_ index: Int) throws(FieldError) -> Int64? {
            let value = try integer(index)
            guard value >= 0 else { throw FieldError(field: Self.names[index], reason: "negative time \(value)") }
            if value == 0 { return nil }
            return value > 100_000_000_000 ? value / 1000 : value
        }
        func text(_ index: Int, none: String = "NONE") -> String? {
            fields[index].isEmpty || fields[index] == none ? nil : String(fields[index])
        }

        let jobNumber = try integer(5)
        let task = try integer(35)
        let submit = try time(8)
        let start = try time(9)
        var end = try time(10)
        let failed = try integer(11)
        let exitStatus = try integer(12)
        let slots = try integer(34)
        let cpu = try real(36)
        let maxRSS = try real(16)
        guard slots >= 0, cpu >= 0, maxRSS >= 0 else {
            throw FieldError(field: slots < 0 ? "slots" : cpu < 0 ? "cpu" : "ru_maxrss", reason: "negative value")
        }
        // Wall time is ru_wallclock (§8, what qacct and APEL charge); end − start only where it is
        // missing. An end before start is clock skew: the run is taken as start + ru_wallclock.
        let wallclock = fields[13].isEmpty ? nil : try integer(13)
        if let wallclock, wallclock < 0 { throw FieldError(field: "ru_wallclock", reason: "negative value") }
        if let start, let recorded = end, recorded < start {
            end = start + (wallclock ?? 0)
            flags.append(FieldError(field: "end_time", reason: "end (\(recorded)) is before start (\(start)): run "
                + "taken as start + ru_wallclock (\(wallclock ?? 0) s)"))
        }
        var wall: Int64 = 0
        if let start, let end {
            wall = wallclock ?? (end - start)
            if let wallclock, FieldError.wallClocksDisagree(wallclock, end - start) {
                flags.append(FieldError(field: "ru_wallclock", reason: "ru_wallclock \(wallclock) s charged; "
                    + "end − start is \(end - start) s"))
            }
        }
        var state: JobState = .completed
        var signal: Int?
        var code = Int(exitStatus)
        if failed != 0 {
            state = .failed
        } else if exitStatus > 128 {
            signal = Int(exitStatus - 128)
            code = 0
            state = signal == 9 || signal == 15 ? .cancelled : .failed
        } else if exitStatus != 0 {
            state = .failed
        }
        let host = String(fields[1])
        let id = task > 0 ? "\(jobNumber).\(task)" : "\(jobNumber)"
        let account = text(6, none: "sge") ?? text(31)
        do {
            return try UsageRecord(
                site: options.site, cluster: options.cluster, source: .sge, jobID: id, localJobID: id,
                naturalKey: "\(options.site)/sge/\(options.cluster)/\(id)/\(start.map(String.init) ?? "-")/\(host)",
                name: text(4), user: text(3), group: text(2), account: account,
                partition: text(0), qos: nil, nodeCount: host.isEmpty ? 0 : 1, nodeList: host.isEmpty ? nil : host,
                submit: submit, start: start, end: end, wallSeconds: start == nil ? 0 : wall,
                cores: Int(slots), gpus: Self.gpus(in: String(fields[39])),
                memoryUsedPeak: Int64(maxRSS * 1024), cpuSeconds: Int64(cpu.rounded()),
                state: state, rawState: "failed=\(failed) exit_status=\(exitStatus)",
                exitCode: code, exitSignal: signal, origin: SourcePosition(file: file, line: number))
        } catch {
            throw FieldError(field: nil, reason: error.description)
        }
    }

    /// `gpu=2`, `gpus=2` or `ngpus=2` among the `-l` resource requests of `category`.
    static func gpus(in category: String) -> Int {
        let words = category.split(separator: " ")
        var total = 0
        for (index, word) in words.enumerated() where word == "-l" && index + 1 < words.count {
            for request in words[index + 1].split(separator: ",") {
                let pair = request.split(separator: "=", maxSplits: 1)
                if pair.count == 2, ["gpu", "gpus", "ngpus"].contains(pair[0]), let count = Int(pair[1]) { total += count }
            }
        }
        return total
    }

    private func reject(_ number: Int, _ field: String?, _ reason: String, _ line: Bytes, _ batch: inout CollectedBatch) {
        batch.reject(file, line: number, field: field, reason, excerpt: line.excerpt())
    }
}
