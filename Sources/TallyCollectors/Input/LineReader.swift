#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a file (plain or gzip, told by its magic bytes) or standard input in large chunks and
/// hands out lines as bytes, without a `String` per line. Memory stays bounded by the chunk size plus the longest line (capped at
/// `maxLineLength`: a longer line is handed out truncated and flagged, the rest dropped).
public struct LineReader: ~Copyable {
    public struct Line {
        /// The line's bytes without `\n` or a trailing `\r`.
        public let bytes: UnsafeBufferPointer<UInt8>
        public let number: Int
        public let isTruncated: Bool
    }

    private let fd: Int32
    private let ownsDescriptor: Bool
    /// Set for gzip input (by name or by its magic bytes): bytes come through zlib.
    private let gzip: GzipDecoder?
    private let chunkSize: Int
    public let maxLineLength: Int
    public private(set) var bytesRead: Int64 = 0
    private var buffer: [UInt8]
    private var filled = 0
    private var lineNumber = 0
    /// File offset of `buffer[0]`.
    private var bufferOffset: Int64 = 0
    /// File offset just past the last newline-terminated line handed out, and its line number:
    /// where a later read of a growing file resumes.
    public private(set) var completeOffset: Int64 = 0
    public private(set) var completeLines = 0
    public var isCompressed: Bool { gzip != nil }
    private var skippingOverlong = false
    private var endOfInput = false

    /// Opens `path`, or standard input for `-`.
    /// Opens `path` (or `-`); `offset` and `line` resume a plain file where an earlier read
    /// stopped (ignored for gzip, which is always read from the start).
    public init(path: String, offset: Int64 = 0, line: Int = 0, chunkSize: Int = 1 << 20,
                maxLineLength: Int = 8 << 20) throws(InputError) {
        let (descriptor, owned) = try Self.open(path)
        var magic: [UInt8] = [0, 0]
        var decoder: GzipDecoder?
        if owned, pread(descriptor, &magic, 2, 0) == 2, magic == [0x1f, 0x8b] {
            do {
                decoder = try GzipDecoder(fd: descriptor)
            } catch {
                close(descriptor)
                throw error
            }
        }
        var start: Int64 = 0
        if decoder == nil, owned, offset > 0 {
            guard lseek(descriptor, off_t(offset), SEEK_SET) == off_t(offset) else {
                close(descriptor)
                throw InputError.readFailed(reason: "cannot seek to \(offset): \(String(cString: strerror(errno)))")
            }
            start = offset
        }
        fd = descriptor
        ownsDescriptor = owned
        gzip = decoder
        bufferOffset = start
        completeOffset = start
        lineNumber = start > 0 ? line : 0
        completeLines = lineNumber
        self.chunkSize = chunkSize
        self.maxLineLength = maxLineLength
        // Grows only when a line longer than the spare room arrives (up to `maxLineLength`).
        self.buffer = [UInt8](repeating: 0, count: chunkSize + 65_536)
    }

    private static func open(_ path: String) throws(InputError) -> (Int32, Bool) {
        if path == "-" { return (0, false) }
        let opened = Glibc.open(path, O_RDONLY)
        guard opened >= 0 else { throw InputError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        var info = stat()
        if fstat(opened, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
            close(opened)
            throw InputError.cannotOpen(path: path, reason: "is a directory")
        }
        return (opened, true)
    }

    deinit {
        if ownsDescriptor { close(fd) }
    }

    /// Reads the next chunk and calls `body` for each complete line in it (lines numbered from
    /// 1; a last line without `\n` is included). Returns false once the input is exhausted.
    public mutating func readChunk(_ body: (Line) throws -> Void) throws -> Bool {
        guard !endOfInput else { return false }
        if filled == buffer.count {
            buffer.append(contentsOf: repeatElement(0, count: min(buffer.count, chunkSize + maxLineLength - buffer.count + 1)))
        }
        let space = buffer.count - filled
        var count: Int
        let offset = filled
        if let gzip {
            count = try buffer.withUnsafeMutableBytes { raw in try gzip.read(into: raw.baseAddress! + offset, count: space) }
        } else {
            repeat {
                count = buffer.withUnsafeMutableBytes { raw in read(fd, raw.baseAddress! + offset, space) }
            } while count < 0 && errno == EINTR
            if count < 0 { throw InputError.readFailed(reason: String(cString: strerror(errno))) }
        }
        if count == 0 { endOfInput = true }
        bytesRead += Int64(count)
        filled += count
        var consumed = 0
        try buffer.withUnsafeBufferPointer { all in
            let base = all.baseAddress!
            while consumed < filled {
                guard let hit = memchr(base + consumed, 0x0A, filled - consumed) else { break }
                let newline = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                if skippingOverlong {
                    skippingOverlong = false
                } else {
                    try emit(base, from: consumed, length: newline - consumed, truncated: false, body)
                }
                consumed = newline + 1
                completeOffset = bufferOffset + Int64(consumed)
                completeLines = lineNumber
            }
            let pending = filled - consumed
            if skippingOverlong {
                consumed = filled
            } else if endOfInput, pending > 0 {
                try emit(base, from: consumed, length: pending, truncated: false, body)
                consumed = filled
            } else if pending >= maxLineLength {
                try emit(base, from: consumed, length: min(pending, 4096), truncated: true, body)
                skippingOverlong = true
                consumed = filled
            }
        }
        let pending = filled - consumed
        bufferOffset += Int64(consumed)
        if consumed > 0, pending > 0 {
            buffer.withUnsafeMutableBytes { raw in
                _ = memmove(raw.baseAddress!, raw.baseAddress! + consumed, pending)
            }
        }
        filled = pending
        return true
    }

    private mutating func emit(_ base: UnsafePointer<UInt8>, from start: Int, length: Int, truncated: Bool,
                               _ body: (Line) throws -> Void) throws {
        var length = length
        if length > 0, base[start + length - 1] == 0x0D { length -= 1 }
        lineNumber += 1
        try body(Line(bytes: UnsafeBufferPointer(start: base + start, count: length), number: lineNumber,
                      isTruncated: truncated))
    }
}

public enum InputError: Error, Sendable, Hashable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case readFailed(reason: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): "cannot open \(path): \(reason)"
        case let .readFailed(reason): "read failed: \(reason)"
        }
    }
}
