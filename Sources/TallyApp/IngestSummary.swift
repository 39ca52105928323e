import TallyCore

/// The lines `tally ingest` prints per input.
public enum IngestSummary {
    /// Why a read that found lines but kept no record is an error, not a quiet success: every
    /// line was rejected, so the file is most likely of another format.
    public static func nothingUsable(_ result: IngestPipeline.FileResult, format: SourceFormat) -> String? {
        let totals = result.totals
        guard result.failure == nil, result.end != nil, totals.records == 0, totals.rejected > 0 else { return nil }
        return "\(result.path): no records read: all \(totals.rejected) records in \(totals.linesRead) lines were "
            + "rejected; is this \(format.rawValue) input? (tally ingest auto detects the format; "
            + "tally source remove takes out what a mistaken read stored)"
    }

    public static func text(_ result: IngestPipeline.FileResult) -> String {
        let totals = result.totals
        if result.end == nil, result.failure == nil, let note = result.note { return "\(result.path): \(note)" }
        var out = "\(result.path): \(totals.linesRead) lines, \(totals.records) jobs (\(totals.inserted) new, "
            + "\(totals.updated) updated, \(totals.unchanged) unchanged), \(totals.rejected) rejected"
        let skipped = result.skipped.filter { $0.value > 0 }.sorted { $0.key.rawValue < $1.key.rawValue }
        if !skipped.isEmpty {
            out += "; skipped: " + skipped.map { "\($0.value) \($0.key.rawValue.replacingOccurrences(of: "_", with: " "))" }
                .joined(separator: ", ")
        }
        if totals.flagged > 0 { out += "; \(totals.flagged) kept with a flag" }
        if let note = result.note { out += " (\(note))" }
        for rejection in result.rejections {
            out += "\n  rejected \(rejection)"
        }
        for flag in result.flags {
            out += "\n  flagged \(flag)"
        }
        if totals.flagged > result.flags.count {
            out += "\n  … and \(totals.flagged - result.flags.count) more flagged (tally status lists them)"
        }
        if totals.rejected > result.rejections.count {
            out += "\n  … and \(totals.rejected - result.rejections.count) more (tally status lists them)"
        }
        return out
    }
}
