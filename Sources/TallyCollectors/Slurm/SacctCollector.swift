import Foundation
import TallyCore

/// Reads `sacct --parsable2` (or `--parsable`) output into job records.
///
/// * Field order comes from the header line, or from `Options.fields` for `--noheader` output.
/// * Step rows (`.batch`, `.extern`, `.0`, …) are folded into the job row before them: they add
///   peak memory and energy but never wall or core time (formats-and-policies §1.5).
/// * Pending array remainders (`123_[5-9]`) carry no usage and are skipped, counted.
/// * A `|` inside a free-text field (JobName, Comment, …) is repaired by trying where the extra
///   separators can go so that every typed column still parses; ambiguous lines are rejected.
/// * A record broken across lines (newlines inside SubmitLine, JobName or another text field,
///   as `--format=ALL` prints them) is joined back, whatever the number of lines, while the
///   parts are short of fields and together make one record (at most `maxRecordBytes`); a
///   rejection cites the record's first line and the lines it spans.
public struct SacctCollector: LineCollector {
    public struct Options: Sendable {
        public var site: String
        /// Used when the input has no Cluster column.
        public var cluster: String?
        /// The zone sacct printed its times in (the zone of the host that ran it).
        public var timeZone: TimeZone
        /// Column names for `--noheader` input, as given to `sacct --format`.
        public var fields: [String]?
        /// nil: `|`, or `,` when the header line has commas and no `|`.
        public var delimiter: UInt8?

        public init(site: String = "local", cluster: String? = nil, timeZone: TimeZone = .current,
                    fields: [String]? = nil, delimiter: UInt8? = nil) {
            self.site = site; self.cluster = cluster; self.timeZone = timeZone
            self.fields = fields; self.delimiter = delimiter
        }
    }

    public let format = SourceFormat.slurm
    public let file: String
    public let options: Options
    private var layout: SacctLayout?
    private var delimiter: UInt8
    private var headerBytes: [UInt8] = []
    private var converter: LocalTimeConverter
    private var pendingJob: PendingJob?
    private var heldLine: (bytes: [UInt8], number: Int, parts: Int, last: Int)?
    /// A record held for joining grows no larger than this (bounded memory on a file of short lines).
    static let maxRecordBytes = 1 << 20
    private var ranges: [Range<Int>] = []
    private var pieces: [Range<Int>] = []

    public init(file: String, options: Options) {
        self.file = file
        self.options = options
        self.converter = LocalTimeConverter(timeZone: options.timeZone)
        self.delimiter = options.delimiter ?? UInt8(ascii: "|")
        ranges.reserveCapacity(128)
        pieces.reserveCapacity(128)
    }

    public mutating func consume(_ line: Bytes, number: Int, into batch: inout CollectedBatch) throws(UnusableInput) {
        batch.linesRead += 1
        if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) {
            batch.skipped[.blank, default: 0] += 1
            return
        }
        if layout == nil, try readLayout(from: line, number: number, into: &batch) {
            return  // the line was the header
        }
        guard let layout else { return }
        if line.count == headerBytes.count, line.elementsEqual(headerBytes) {
            batch.skipped[.header, default: 0] += 1  // concatenated outputs repeat the header
            return
        }
        splitPieces(line)
        let expected = layout.columnCount

        if let held = heldLine {
            if pieces.count < expected {
                var joined = held.bytes
                joined.append(UInt8(ascii: "\n"))
                joined.append(contentsOf: line)
                let joinedParts = held.parts + pieces.count - 1
                if joinedParts < expected, joined.count <= Self.maxRecordBytes {
                    heldLine = (joined, held.number, joinedParts, number)
                    return
                }
                heldLine = nil
                if joinedParts >= expected {
                    var rejoined = false
                    joined.withUnsafeBufferPointer { bytes in
                        splitPieces(bytes)
                        if assignFields(layout: layout, line: bytes) {
                            rejoined = true
                            handleRow(bytes, number: held.number, layout: layout, into: &batch)
                        }
                    }
                    if rejoined { return }
                }
                rejectShort(held, into: &batch)
                splitPieces(line)
            } else {
                heldLine = nil
                rejectShort(held, into: &batch)
            }
        }

        if pieces.count < expected {
            heldLine = (Array(line), number, pieces.count, number)
            return
        }
        guard assignFields(layout: layout, line: line) else {
            batch.rejections.append(Rejection(
                position: position(number), field: nil,
                reason: "\(pieces.count) fields where the header has \(expected), and the extra separators "
                    + "cannot be placed unambiguously inside a free-text field",
                excerpt: line.excerpt()))
            return
        }
        handleRow(line, number: number, layout: layout, into: &batch)
    }

    /// The header line (when the layout came from one), so a resumed read knows the columns.
    public var resumeState: [UInt8] { headerBytes }

    public mutating func restore(_ state: [UInt8]) throws(UnusableInput) {
        guard !state.isEmpty else { return }
        var ignored = CollectedBatch()
        _ = try state.withUnsafeBufferPointer { bytes throws(UnusableInput) in
            try readLayout(from: bytes, number: 1, into: &ignored)
        }
    }

    public mutating func finish(into batch: inout CollectedBatch) throws(UnusableInput) {
        if let held = heldLine {
            heldLine = nil
            rejectShort(held, into: &batch)
        }
        flushPendingJob(into: &batch)
    }

    // MARK: - Layout

    /// Sets the column layout from the first line (a header) or `--fields`; true when the line was
    /// the header and so is used up.
    @discardableResult
    private mutating func readLayout(from line: Bytes, number: Int, into batch: inout CollectedBatch) throws(UnusableInput) -> Bool {
        if options.delimiter == nil, !line.contains(byte: UInt8(ascii: "|")), line.contains(byte: UInt8(ascii: ",")) {
            delimiter = UInt8(ascii: ",")
        }
        let names = line.split(separator: delimiter, omittingEmptySubsequences: false)
            .map { String(decoding: $0, as: UTF8.self) }
        do {
            if SacctLayout.looksLikeHeader(names) {
                layout = try SacctLayout(names: names, fromHeader: true)
                headerBytes = Array(line)
                batch.skipped[.header, default: 0] += 1
                return true
            }
            guard let fields = options.fields else {
                throw UnusableInput(position: position(number),
                                    reason: "no sacct header line; for --noheader output pass --fields with the --format list used")
            }
            layout = try SacctLayout(names: fields, fromHeader: false)
        } catch let error as UnusableInput {
            throw error
        } catch SacctLayout.LayoutError.noJobID {
            throw UnusableInput(position: position(number), reason: "the field list has neither JobID nor JobIDRaw")
        } catch {
            throw UnusableInput(position: position(number), reason: "the field list has an empty column name")
        }
        return false
    }

    // MARK: - Splitting and repair

    private mutating func splitPieces(_ line: Bytes) {
        pieces.removeAll(keepingCapacity: true)
        guard let base = line.baseAddress, !line.isEmpty else {
            pieces.append(0..<0)
            return
        }
        let delimiter = Int32(self.delimiter)
        var start = 0
        while start <= line.count {
            guard start < line.count, let hit = memchr(base + start, delimiter, line.count - start) else {
                pieces.append(start..<line.count)
                return
            }
            let index = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
            pieces.append(start..<index)
            start = index + 1
        }
    }

    /// Maps pieces onto columns in `ranges`. Extra pieces go into free-text columns; the one
    /// placement under which every typed column parses wins. False when none or several do.
    private mutating func assignFields(layout: SacctLayout, line: Bytes) -> Bool {
        let expected = layout.columnCount
        // `--parsable` adds one trailing delimiter.
        if layout.mayHaveTrailingDelimiter, pieces.count == expected + 1, pieces.last!.isEmpty { pieces.removeLast() }
        if pieces.count == expected {
            ranges.removeAll(keepingCapacity: true)
            ranges.append(contentsOf: pieces)
            return true
        }
        guard pieces.count > expected else { return false }
        return repair(layout: layout, line: line)
    }

    /// Depth-first search over how many extra pieces each free-text column absorbs, checking typed
    /// columns as it goes. Several valid placements are fine when they agree on every column Tally
    /// reads (two adjacent comment fields, say); otherwise the line is ambiguous and rejected.
    private mutating func repair(layout: SacctLayout, line: Bytes) -> Bool {
        let expected = layout.columnCount
        let extra = pieces.count - expected
        guard extra <= 16, layout.kinds.contains(.freeText) else { return false }
        var chosen: [Range<Int>] = []
        var solutions: [[Range<Int>]] = []
        var steps = 0
        let pieces = self.pieces
        func search(column: Int, piece: Int, remaining: Int) {
            if solutions.count > 64 || steps > 200_000 { return }
            steps += 1
            if column == expected {
                if remaining == 0 { solutions.append(chosen) }
                return
            }
            let kind = layout.kinds[column]
            let maxTake = kind == .freeText ? remaining : 0
            for take in 0...maxTake {
                let range = pieces[piece].lowerBound..<pieces[piece + take].upperBound
                if kind != .freeText, !kind.admits(line.slice(range.lowerBound, range.upperBound)) { continue }
                chosen.append(range)
                search(column: column + 1, piece: piece + 1 + take, remaining: remaining - take)
                chosen.removeLast()
            }
        }
        search(column: 0, piece: 0, remaining: extra)
        guard !solutions.isEmpty, solutions.count <= 64, steps <= 200_000 else { return false }
        if !agree(solutions, layout), let name = layout.index(of: .jobName) {
            // JobName is where a stray `|` usually is: prefer placements that give it the most.
            let widest = solutions.map { $0[name].count }.max()!
            solutions = solutions.filter { $0[name].count == widest }
        }
        guard agree(solutions, layout) else { return false }
        let first = solutions[0]
        ranges.removeAll(keepingCapacity: true)
        ranges.append(contentsOf: first)
        return true
    }

    private func agree(_ solutions: [[Range<Int>]], _ layout: SacctLayout) -> Bool {
        let first = solutions[0]
        for other in solutions.dropFirst() {
            for index in layout.usedIndexes where other[index] != first[index] { return false }
        }
        return true
    }

    // MARK: - Rows

    private mutating func handleRow(_ line: Bytes, number: Int, layout: SacctLayout, into batch: inout CollectedBatch) {
        let ranges = self.ranges
        func field(_ column: SacctColumn) -> Bytes? {
            guard let index = layout.index(of: column) else { return nil }
            let range = ranges[index]
            return line.slice(range.lowerBound, range.upperBound)
        }
        guard let rawID = field(.jobIDRaw) ?? field(.jobID), !rawID.isEmpty else {
            batch.rejections.append(Rejection(position: position(number), field: "JobID", reason: "empty job id",
                                              excerpt: line.excerpt()))
            return
        }
        let displayID = field(.jobID) ?? rawID
        if displayID.contains(byte: UInt8(ascii: "[")) {
            batch.skipped[.pendingArrayRemainder, default: 0] += 1
            return
        }
        if let dot = rawID.firstIndex(of: UInt8(ascii: ".")) {
            let parent = rawID.slice(0, dot)
            foldStep(parent: parent, line: line, number: number, field: field, into: &batch)
            return
        }
        flushPendingJob(into: &batch)
        do {
            let row = try SacctJobRow(line: line, number: number, rawID: rawID, displayID: displayID,
                                      field: field, options: options, converter: &converter)
            pendingJob = PendingJob(record: try row.record(site: options.site, file: file), rawID: row.rawID)
            for flag in row.flags {
                batch.flags.append(Rejection(position: position(number), field: flag.field, reason: flag.reason,
                                             excerpt: line.excerpt()))
            }
        } catch {
            batch.rejections.append(Rejection(position: position(number), field: error.field,
                                              reason: error.reason, excerpt: line.excerpt()))
        }
    }

    private mutating func foldStep(parent: Bytes, line: Bytes, number: Int, field: (SacctColumn) -> Bytes?,
                                   into batch: inout CollectedBatch) {
        guard pendingJob != nil, pendingJob!.rawID.utf8.elementsEqual(parent) else {
            batch.skipped[.orphanStep, default: 0] += 1
            return
        }
        if let bytes = field(.maxRSS) {
            guard let size = SlurmValues.size(bytes, baseUnit: 1) else {
                batch.rejections.append(Rejection(position: position(number), field: "MaxRSS",
                                                  reason: "not a size: '\(bytes.string)'", excerpt: line.excerpt()))
                return
            }
            if let value = size.value?.bytes { pendingJob!.stepPeakMemory = max(pendingJob!.stepPeakMemory, value) }
        }
        if let bytes = field(.consumedEnergyRaw), let energy = SlurmValues.integer(bytes), energy > 0 {
            pendingJob!.stepEnergy += energy
        }
        batch.skipped[.stepFolded, default: 0] += 1
    }

    private mutating func flushPendingJob(into batch: inout CollectedBatch) {
        guard var job = pendingJob.take() else { return }
        // Steps add the job's memory high-water mark (largest step MaxRSS, never a sum) and, when
        // the job row has none, their energy.
        job.record.foldSteps(memoryPeak: job.stepPeakMemory > 0 ? job.stepPeakMemory : nil,
                             energy: job.stepEnergy > 0 ? job.stepEnergy : nil)
        batch.records.append(job.record)
    }

    private func rejectShort(_ held: (bytes: [UInt8], number: Int, parts: Int, last: Int),
                             into batch: inout CollectedBatch) {
        let expected = layout?.columnCount ?? 0
        let excerpt = held.bytes.withUnsafeBufferPointer { $0.excerpt() }
        let span = held.last > held.number ? " (a record over lines \(held.number)–\(held.last))" : ""
        batch.rejections.append(Rejection(position: position(held.number), field: nil,
                                          reason: "too few fields: \(held.parts) of \(expected)" + span,
                                          excerpt: excerpt))
    }

    private func position(_ number: Int) -> SourcePosition { SourcePosition(file: file, line: number) }
}

/// A job row already turned into a record, waiting for the step rows that follow it.
struct PendingJob {
    var record: UsageRecord
    let rawID: String
    var stepPeakMemory: Int64 = 0
    var stepEnergy: Int64 = 0
}
