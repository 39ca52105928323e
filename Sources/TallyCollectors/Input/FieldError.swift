import TallyCore

/// A value a collector could not use: which field, and why. Becomes a `Rejection`.
struct FieldError: Error {
    var field: String?
    var reason: String

    /// Whether a scheduler's charged wall time and its end − start differ enough to flag: more
    /// than a minute and 1 % (MOM and server clocks, rounding to seconds, are within that).
    static func wallClocksDisagree(_ used: Int64, _ span: Int64) -> Bool {
        let difference = abs(used - span)
        return difference > 60 && difference * 100 > max(used, span)
    }
}

extension CollectedBatch {
    /// Records a rejected line, with the start of its text for the operator.
    mutating func reject(_ file: String, line number: Int, field: String?, _ reason: String, excerpt: String) {
        rejections.append(Rejection(position: SourcePosition(file: file, line: number), field: field,
                                    reason: reason, excerpt: excerpt))
    }
}
