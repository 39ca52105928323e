import TallyCore

/// What a report needs of one job, in a fixed-width slot: its usage facts, recorded dimension
/// ids and touched span. Slots are packed by job id into blocks (`FactBlock`), so a report reads
/// a few hundred blobs and loops over plain memory instead of decoding a million rows: its cost
/// follows the number of jobs, not the number of name combinations (issue 17).
///
/// Layout (little-endian): t0, t1, start, end, submit, eligible, wall, cpu as Int64 (`Int64.min`
/// for nil), memory and disk MiB as UInt32, cores as Int32 (a fractional allocation as minus
/// its milli-cores), GPUs as Int32, the nine recorded ids as UInt32, then the dictionary id of
/// the first host (0 when unknown; host rules match it).
/// An empty slot (no job, or one that contributes nothing) has t0 = `Int64.min`.
struct FactSlot: Equatable {
    var touched: Range<Int64>
    var facts: UsageFacts
    var ids: DimensionIDs

    static let byteCount = 120
    static let none = Int64.min
    private static let idsOffset = 80
    private static let hostOffset = 116

    @inline(__always)
    static func isEmpty(_ pointer: UnsafeRawPointer) -> Bool {
        Int64(littleEndian: pointer.loadUnaligned(as: Int64.self)) == none
    }

    /// Writes the slot of a job at `pointer` (`byteCount` bytes).
    static func encode(_ facts: UsageFacts, ids: DimensionIDs, host: Int64, into pointer: UnsafeMutableRawPointer) {
        guard let span = facts.touchSpan else {
            clear(pointer)
            return
        }
        func put(_ value: Int64, _ offset: Int) { pointer.storeBytes(of: value.littleEndian, toByteOffset: offset, as: Int64.self) }
        put(span.lowerBound, 0)
        put(span.upperBound, 8)
        put(facts.start ?? none, 16)
        put(facts.end ?? none, 24)
        put(facts.submit ?? none, 32)
        put(facts.eligible ?? none, 40)
        put(facts.wallSeconds, 48)
        put(facts.cpuSeconds ?? none, 56)
        pointer.storeBytes(of: UInt32(clamping: facts.memoryMiB).littleEndian, toByteOffset: 64, as: UInt32.self)
        pointer.storeBytes(of: UInt32(clamping: facts.diskMiB).littleEndian, toByteOffset: 68, as: UInt32.self)
        let cores = facts.milliCores.map { -Int32(clamping: $0) } ?? Int32(clamping: facts.cores)
        pointer.storeBytes(of: cores.littleEndian, toByteOffset: 72, as: Int32.self)
        pointer.storeBytes(of: Int32(clamping: facts.gpus).littleEndian, toByteOffset: 76, as: Int32.self)
        for index in 0..<DimensionIDs.recordedCount {
            pointer.storeBytes(of: UInt32(truncatingIfNeeded: ids[index]).littleEndian,
                               toByteOffset: idsOffset + 4 * index, as: UInt32.self)
        }
        pointer.storeBytes(of: UInt32(truncatingIfNeeded: host).littleEndian, toByteOffset: hostOffset, as: UInt32.self)
    }

    static func clear(_ pointer: UnsafeMutableRawPointer) {
        pointer.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
        pointer.storeBytes(of: none.littleEndian, as: Int64.self)
    }

    @inline(__always)
    static func int(_ pointer: UnsafeRawPointer, _ offset: Int) -> Int64 {
        Int64(littleEndian: pointer.loadUnaligned(fromByteOffset: offset, as: Int64.self))
    }

    @inline(__always)
    static func optional(_ pointer: UnsafeRawPointer, _ offset: Int) -> Int64? {
        let value = int(pointer, offset)
        return value == none ? nil : value
    }

    /// The touched span of a non-empty slot.
    @inline(__always)
    static func touched(_ pointer: UnsafeRawPointer) -> Range<Int64> { int(pointer, 0)..<int(pointer, 8) }

    /// One recorded id (in `DimensionColumn.all` order).
    @inline(__always)
    static func id(_ pointer: UnsafeRawPointer, _ index: Int) -> Int64 {
        Int64(UInt32(littleEndian: pointer.loadUnaligned(fromByteOffset: idsOffset + 4 * index, as: UInt32.self)))
    }

    /// The first host's dictionary id (0 when unknown).
    @inline(__always)
    static func host(_ pointer: UnsafeRawPointer) -> Int64 {
        Int64(UInt32(littleEndian: pointer.loadUnaligned(fromByteOffset: hostOffset, as: UInt32.self)))
    }

    @inline(__always)
    static func ids(_ pointer: UnsafeRawPointer) -> DimensionIDs {
        var ids = DimensionIDs()
        ids.site = id(pointer, 0); ids.cluster = id(pointer, 1); ids.account = id(pointer, 2)
        ids.group = id(pointer, 3); ids.user = id(pointer, 4); ids.partition = id(pointer, 5)
        ids.qos = id(pointer, 6); ids.state = id(pointer, 7); ids.gpuModel = id(pointer, 8)
        return ids
    }

    @inline(__always)
    static func facts(_ pointer: UnsafeRawPointer, state: JobState) -> UsageFacts {
        let cores = Int64(Int32(littleEndian: pointer.loadUnaligned(fromByteOffset: 72, as: Int32.self)))
        let milli: Int64? = cores < 0 ? -cores : nil
        return UsageFacts(start: optional(pointer, 16), wallSeconds: int(pointer, 48), end: optional(pointer, 24),
                          submit: optional(pointer, 32), state: state,
                          cores: milli.map(UsageFacts.wholeCores(milli:)) ?? cores,
                          gpus: Int64(Int32(littleEndian: pointer.loadUnaligned(fromByteOffset: 76, as: Int32.self))),
                          memoryMiB: Int64(UInt32(littleEndian: pointer.loadUnaligned(fromByteOffset: 64, as: UInt32.self))),
                          cpuSeconds: optional(pointer, 56), eligible: optional(pointer, 40), milliCores: milli,
                          diskMiB: Int64(UInt32(littleEndian: pointer.loadUnaligned(fromByteOffset: 68, as: UInt32.self))))
    }
}

/// Slots packed by job id: block `b` holds the jobs with ids `[b · slots, (b + 1) · slots)`.
enum FactBlock {
    static let slots = 4096
    static let byteCount = slots * FactSlot.byteCount

    static func block(of jobID: Int64) -> Int64 { jobID / Int64(slots) }
    static func slot(of jobID: Int64) -> Int { Int(jobID % Int64(slots)) }

    /// A block with every slot empty.
    static func empty() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: byteCount)
        bytes.withUnsafeMutableBytes { buffer in
            for slot in 0..<slots { FactSlot.clear(buffer.baseAddress! + slot * FactSlot.byteCount) }
        }
        return bytes
    }

    /// The smallest t0 and largest t1 of a block's jobs (nil when it has none), for skipping
    /// blocks outside a report's window.
    static func span(_ bytes: UnsafeRawBufferPointer) -> Range<Int64>? {
        var low = Int64.max, high = Int64.min
        for slot in 0..<slots {
            let pointer = bytes.baseAddress! + slot * FactSlot.byteCount
            if FactSlot.isEmpty(pointer) { continue }
            let touched = FactSlot.touched(pointer)
            low = min(low, touched.lowerBound)
            high = max(high, touched.upperBound)
        }
        return low < high ? low..<high : nil
    }
}
