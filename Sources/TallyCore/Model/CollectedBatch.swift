
/// A line the collector could not use, with where it was and why.
public struct Rejection: Sendable, Hashable, Codable, CustomStringConvertible {
    public var position: SourcePosition
    public var field: String?
    public var reason: String
    /// The start of the offending line, decoded leniently, for the operator to look at.
    public var excerpt: String

    public init(position: SourcePosition, field: String?, reason: String, excerpt: String) {
        self.position = position; self.field = field; self.reason = reason; self.excerpt = excerpt
    }

    public var description: String {
        "\(position): " + (field.map { "field \($0): " } ?? "") + reason
    }
}

/// Lines passed over on purpose (not errors), counted so nothing disappears unexplained.
public enum SkipReason: String, Sendable, Hashable, CaseIterable, Codable {
    case header
    case blank
    case stepFolded = "step_folded"
    case orphanStep = "orphan_step"
    case pendingArrayRemainder = "pending_array_remainder"
    /// PBS array parent (`123[]`): its subjobs carry the usage.
    case arrayParent = "array_parent"
    /// Scheduler events that carry no usage of their own (PBS Q, D, A, … records).
    case event
    /// Grid Engine parallel slave-task records: the master record (pe_taskid NONE) is charged.
    case parallelTask = "parallel_task"
    /// Snapshot deployments not started yet (pending, queued): no usage until a later snapshot
    /// sees them run.
    case notStarted = "not_started"
}

/// What a collector produced from a stretch of input.
public struct CollectedBatch: Sendable {
    public var records: [UsageRecord] = []
    public var rejections: [Rejection] = []
    /// Records kept after a repair the format's rules allow (a missing space between two keys, a
    /// clock-skewed end), or whose figures disagree in a way an operator should see. Each record
    /// is still charged; the flag says what was done and where.
    public var flags: [Rejection] = []
    public var skipped: [SkipReason: Int] = [:]
    public var linesRead = 0

    public init() {}

    public var isEmpty: Bool { records.isEmpty && rejections.isEmpty && flags.isEmpty && skipped.isEmpty && linesRead == 0 }
}

