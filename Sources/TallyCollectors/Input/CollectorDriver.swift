import TallyCore

/// Streams one input through a collector and hands out batches as they fill.
public enum CollectorDriver {
    /// Reads `path` (or `-`) with `collector`, calling `emit` whenever `batchSize` records are
    /// ready and once at the end. Lines longer than the reader's cap are rejected, not parsed.
    /// Where a read ended: the offset just past its last complete line, and that line's number.
    public struct End: Sendable, Hashable {
        public var offset: Int64
        public var line: Int
        public var compressed: Bool

        public init(offset: Int64, line: Int, compressed: Bool) {
            self.offset = offset; self.line = line; self.compressed = compressed
        }
    }

    @discardableResult
    public static func run<C: LineCollector>(
        path: String, collector: inout C, batchSize: Int = 8192, from start: End? = nil,
        emit: (CollectedBatch) async throws -> Void
    ) async throws -> End {
        var reader = try LineReader(path: path, offset: start?.offset ?? 0, line: start?.line ?? 0)
        // A batch is emitted after the chunk that fills it, so it overshoots by up to a chunk's
        // records: room for that too, or the array doubles (and is copied) at the end of every batch.
        let reserved = batchSize + batchSize / 4
        var batch = CollectedBatch()
        batch.records.reserveCapacity(reserved)
        let cap = reader.maxLineLength
        var more = true
        while more {
            do {
                more = try reader.readChunk { line in
                if line.isTruncated {
                    batch.linesRead += 1
                    batch.rejections.append(Rejection(
                        position: SourcePosition(file: path, line: line.number), field: nil,
                        reason: "line longer than \(cap) bytes", excerpt: line.bytes.excerpt()))
                    return
                }
                try collector.consume(line.bytes, number: line.number, into: &batch)
                }
            } catch let error as InputError {
                // A read that fails part-way (a truncated .gz, an I/O error) keeps what came before.
                try collector.finish(into: &batch)
                try await emit(batch)
                throw error
            }
            if !more { try collector.finish(into: &batch) }
            if batch.records.count >= batchSize || !more {
                try await emit(batch)
                batch = CollectedBatch()
                batch.records.reserveCapacity(reserved)
            }
        }
        return End(offset: reader.completeOffset, line: reader.completeLines, compressed: reader.isCompressed)
    }
}
