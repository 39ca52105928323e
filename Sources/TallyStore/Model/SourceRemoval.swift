/// What `removeSource` took out of a store: the records an input last wrote, and its lines.
public struct SourceRemoval: Sendable, Hashable {
    public var sources = 0
    public var records: Int64 = 0
    public var rejectedLines: Int64 = 0
    public var flaggedLines: Int64 = 0

    public init() {}
}

extension StateCounts {
    /// Recounts every state from the job table (after rows were deleted).
    static let recount = """
        DELETE FROM state_count;
        INSERT INTO state_count (state, records)
            SELECT d.value, COUNT(*) FROM job j JOIN dim d ON d.id = j.state GROUP BY d.value
        """
}
