import AsyncAlgorithms
import Foundation
import Logging
import TallyCollectors
import TallyCore
import TallyStore

/// Reads inputs through a collector into a store, parsing and writing concurrently: the parser
/// fills batches on one task while the store commits the previous batch on another, with at most
/// a couple of batches in flight, so memory stays flat whatever the input size.
public struct IngestPipeline: Sendable {
    public struct Progress: Sendable {
        public var path: String
        public var totals: IngestTotals
        public var elapsed: Double
    }

    public struct FileResult: Sendable {
        public var path: String
        public var totals: IngestTotals
        public var rejections: [Rejection]
        /// The first flagged records (kept, with a repair or a doubt), for the summary.
        public var flags: [Rejection] = []
        public var skipped: [SkipReason: Int]
        public var failure: String?
        /// Where the read ended and the collector's header state: what a checkpoint keeps.
        public var end: CollectorDriver.End?
        public var resumeState: [UInt8] = []
        /// How a checkpoint decided this read (skipped, resumed, reread).
        public var note: String?
    }

    public let store: any UsageStore
    public let batchSize: Int
    public let strict: Bool
    /// Keep at most this many rejections per file in memory for the summary (all are stored).
    public let rejectionSampleLimit = 20
    let logger: Logger

    /// `batchSize` defaults to what suits the store.
    public init(store: any UsageStore, batchSize: Int? = nil, strict: Bool = false,
                logger: Logger = Logger(label: "tally.ingest")) {
        self.store = store; self.batchSize = batchSize ?? store.preferredBatchSize; self.strict = strict; self.logger = logger
    }

    /// Ingests one input. Unusable input (missing file, no header) and, under `strict`, the
    /// first rejected line end the file with `failure` set; records already committed stay.
    public func ingest<C: LineCollector>(
        path: String, collector: C, from start: CollectorDriver.End? = nil,
        progress: (@Sendable (Progress) -> Void)? = nil
    ) async throws -> FileResult {
        let run = try await store.beginIngest(format: collector.format, path: path)
        let channel = AsyncThrowingChannel<CollectedBatch, Error>()
        let batchSize = self.batchSize
        let strict = self.strict
        let producer = Task { () -> (CollectorDriver.End, [UInt8])? in
            var collector = collector
            do {
                let end = try await CollectorDriver.run(path: path, collector: &collector, batchSize: batchSize,
                                                        from: start) { batch in
                    if strict, let first = batch.rejections.first {
                        var partial = batch
                        partial.records = batch.records.filter { $0.origin.line < first.position.line }
                        partial.rejections = [first]
                        await channel.send(partial)
                        throw StrictStop(rejection: first)
                    }
                    await channel.send(batch)
                }
                channel.finish()
                return (end, collector.resumeState)
            } catch {
                channel.fail(error)
                return nil
            }
        }
        let started = Date()
        var result = FileResult(path: path, totals: IngestTotals(), rejections: [], skipped: [:], failure: nil, end: nil)
        do {
            for try await batch in channel {
                let outcome = try await store.write(batch, in: run)
                result.totals.add(batch, outcome)
                for (reason, count) in batch.skipped { result.skipped[reason, default: 0] += count }
                for rejection in batch.rejections.prefix(rejectionSampleLimit - result.rejections.count) {
                    result.rejections.append(rejection)
                }
                result.flags += batch.flags.prefix(rejectionSampleLimit - result.flags.count)
                progress?(Progress(path: path, totals: result.totals, elapsed: Date().timeIntervalSince(started)))
            }
        } catch let stop as StrictStop {
            result.failure = "stopped at the first rejected line (--strict): \(stop.rejection)"
        } catch let error as UnusableInput {
            result.failure = error.description
        } catch let error as InputError {
            result.failure = "\(path): \(error)"
        } catch {
            producer.cancel()
            try? await store.finishIngest(run, totals: result.totals, status: .failed)
            throw error
        }
        if let (end, state) = await producer.value {
            result.end = end
            result.resumeState = state
        }
        try await store.finishIngest(run, totals: result.totals, status: result.failure == nil ? .finished : .failed)
        if let failure = result.failure { logger.debug("ingest failed", metadata: ["path": "\(path)", "reason": "\(failure)"]) }
        return result
    }

    struct StrictStop: Error {
        var rejection: Rejection
    }
}
