import NIOCore

/// Rendered summaries by query.
typealias SummaryCache = ComputationCache<ByteBuffer>

/// Computed values by key, valid while the data they were computed from is unchanged (the
/// store's generation). Concurrent requests for the same key share one computation, so a
/// dashboard's burst costs one report, not sixty-four.
actor ComputationCache<Value: Sendable> {
    private struct Entry {
        var generation: String
        var task: Task<Value, Error>
        var used: UInt64
    }

    private var entries: [String: Entry] = [:]
    private var clock: UInt64 = 0
    private let capacity: Int

    init(capacity: Int = 256) { self.capacity = capacity }

    func value(for key: String, generation: String,
               compute: @escaping @Sendable () async throws -> Value) async throws -> Value {
        clock += 1
        if var entry = entries[key], entry.generation == generation {
            entry.used = clock
            entries[key] = entry
            return try await entry.task.value
        }
        let task = Task { try await compute() }
        entries[key] = Entry(generation: generation, task: task, used: clock)
        if entries.count > capacity, let oldest = entries.min(by: { $0.value.used < $1.value.used })?.key {
            entries[oldest] = nil
        }
        do {
            return try await task.value
        } catch {
            // A failed computation is not remembered.
            if entries[key]?.generation == generation { entries[key] = nil }
            throw error
        }
    }
}
