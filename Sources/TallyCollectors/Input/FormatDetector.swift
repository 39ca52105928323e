import TallyCore

/// Guesses an input's format from its first lines (decompressed if gzip), for `ingest auto`.
public enum FormatDetector {
    public struct Guess: Sendable, Hashable, CustomStringConvertible {
        public var format: SourceFormat
        public var reason: String
        public var description: String { "\(format.rawValue) (\(reason))" }
    }

    /// The format most of the first 50 non-blank lines look like, or nil.
    public static func detect(path: String) throws -> Guess? {
        var reader = try LineReader(path: path, chunkSize: 1 << 16)
        var votes: [SourceFormat: Int] = [:]
        var reasons: [SourceFormat: String] = [:]
        var seen = 0
        var done = false
        while !done, try reader.readChunk({ line in
            guard !done else { return }
            let text = String(decoding: line.bytes.prefix(4096), as: UTF8.self)
            guard !text.allSatisfy({ $0 == " " || $0 == "\t" }) else { return }
            seen += 1
            if seen > 50 { done = true; return }
            if let (format, reason) = classify(text) {
                votes[format, default: 0] += 1
                reasons[format] = reasons[format] ?? reason
            }
        }) {}
        guard let best = votes.max(by: { $0.value < $1.value }) else { return nil }
        return Guess(format: best.key, reason: reasons[best.key]!)
    }

    static func classify(_ line: String) -> (SourceFormat, String)? {
        if line.trimmingCharacters(in: .whitespaces).hasPrefix("APEL-individual-job-message:") {
            return (.apel, "APEL individual job message header")
        }
        let bars = line.split(separator: "|", omittingEmptySubsequences: false)
        if bars.count >= 2, bars.contains(where: { ["jobid", "jobidraw"].contains($0.lowercased()) }) {
            return (.slurm, "sacct header line")
        }
        if isPBS(line) { return (.pbs, "date;type;id;key=value records") }
        if let equals = line.firstIndex(of: "="), line[..<equals].hasSuffix(" "),
           line[..<equals].trimmingCharacters(in: .whitespaces).allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }),
           ["MyType", "ClusterId", "GlobalJobId", "Owner", "QDate", "JobStatus", "ProcId", "TargetType"]
            .contains(line[..<equals].trimmingCharacters(in: .whitespaces)) {
            return (.htcondor, "ClassAd attribute lines")
        }
        if line.contains("\"GlobalJobId\"") || line.contains("\"ClusterId\"") { return (.htcondor, "condor_history JSON") }
        if line.hasPrefix(";") {
            let key = line.dropFirst().trimmingCharacters(in: .whitespaces)
            if ["Version:", "UnixStartTime:", "MaxJobs:", "Computer:", "MaxProcs:"].contains(where: key.hasPrefix) {
                return (.swf, "SWF header comments")
            }
            return nil
        }
        let colons = line.split(separator: ":", omittingEmptySubsequences: false)
        if colons.count >= 43, Int64(colons[5]) != nil, Int64(colons[8]) != nil, Int64(colons[9]) != nil {
            return (.sge, "\(colons.count) colon-separated accounting fields")
        }
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        if words.count >= 18, words.prefix(18).allSatisfy({ Double($0) != nil }) {
            return (.swf, "18 numeric fields per job")
        }
        if bars.count >= 5, Int64(bars[0].split(separator: "_").first ?? "") != nil {
            return (.slurm, "sacct-like '|' fields (give --fields if there is no header)")
        }
        return nil
    }

    /// `MM/DD/YYYY HH:MM:SS;X;` optionally after a `YYYYMMDD:` file-name prefix.
    static func isPBS(_ line: String) -> Bool {
        var text = Substring(line)
        if text.count > 9, text.prefix(8).allSatisfy(\.isNumber), text.dropFirst(8).first == ":" {
            text = text.dropFirst(9)
        }
        let parts = text.split(separator: ";", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count >= 3, parts[1].count == 1 else { return false }
        let stamp = Array(parts[0])
        return stamp.count == 19 && stamp[2] == "/" && stamp[5] == "/" && stamp[10] == " " && stamp[13] == ":"
    }
}
