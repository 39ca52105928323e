import TallyCore

/// A value a collector could not use: which field, and why. Becomes a `Rejection`.
struct FieldError: Error {
    var field: String?
    var reason: String
}

extension CollectedBatch {
    /// Records a rejected line, with the start of its text for the operator.
    mutating func reject(_ file: String, line number: Int, field: String?, _ reason: String, excerpt: String) {
        rejections.append(Rejection(position: SourcePosition(file: file, line: number), field: field,
                                    reason: reason, excerpt: excerpt))
    }
}
