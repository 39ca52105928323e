import TallyCore

/// The lines `tally ingest` prints per input.
public enum IngestSummary {
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
