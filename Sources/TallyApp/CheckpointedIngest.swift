import Foundation
import TallyCollectors
import TallyCore
import TallyStore

/// Reads input files once: a file already read whole is skipped, a file that grew is read from
/// where the last run stopped, and a file that was rotated or rewritten (other inode, other first
/// bytes, or shorter) is read again from the start, which the natural-key upsert makes safe.
public struct CheckpointedIngest: Sendable {
    public let pipeline: IngestPipeline
    /// Ignore checkpoints and read everything again.
    public let reread: Bool

    public init(pipeline: IngestPipeline, reread: Bool = false) {
        self.pipeline = pipeline
        self.reread = reread
    }

    public func ingest<C: LineCollector>(
        path: String, collector: C, progress: (@Sendable (IngestPipeline.Progress) -> Void)? = nil
    ) async throws -> IngestPipeline.FileResult {
        guard path != "-", let identity = try? FileIdentity(path: path) else {
            return try await pipeline.ingest(path: path, collector: collector, progress: progress)
        }
        let format = collector.format.rawValue
        var collector = collector
        var start: CollectorDriver.End?
        var note: String?
        if !reread, let saved = try await pipeline.store.checkpoint(format: format, path: path) {
            let same = saved.device == identity.device && saved.inode == identity.inode
                && identity.size >= saved.size
                && (try? FileIdentity.headHash(path: path, length: saved.headLength)) == saved.headHash
            if same, identity.size == saved.size, identity.mtime == saved.mtime {
                var skipped = IngestPipeline.FileResult(path: path, totals: IngestTotals(), rejections: [],
                                                        skipped: [:], failure: nil, end: nil)
                skipped.note = "unchanged since it was last read; skipped"
                return skipped
            } else if same, !saved.compressed {
                try collector.restore(saved.resumeState)
                start = CollectorDriver.End(offset: saved.offset, line: saved.line, compressed: false)
                note = "grew since it was last read; resumed after line \(saved.line)"
            } else {
                note = same ? "compressed file changed; read again" : "rotated or rewritten since it was last read; read again"
            }
        }
        var result = try await pipeline.ingest(path: path, collector: collector, from: start, progress: progress)
        result.note = note
        if result.failure == nil, let end = result.end {
            let headLength = min(identity.size, FileIdentity.headBytes)
            try await pipeline.store.saveCheckpoint(Checkpoint(
                format: format, path: path, device: identity.device, inode: identity.inode, size: identity.size,
                mtime: identity.mtime, headLength: headLength,
                headHash: try FileIdentity.headHash(path: path, length: headLength),
                offset: end.offset, line: end.line, compressed: end.compressed, resumeState: result.resumeState))
        }
        return result
    }
}

/// What identifies a file across reads: device, inode, size, modification time.
struct FileIdentity {
    static let headBytes: Int64 = 4096
    var device: Int64
    var inode: Int64
    var size: Int64
    var mtime: Int64

    init(path: String) throws {
        var info = stat()
        guard stat(path, &info) == 0 else { throw InputError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        device = Int64(info.st_dev)
        inode = Int64(info.st_ino)
        size = Int64(info.st_size)
        mtime = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
    }

    /// A stable hash of the file's first `length` bytes: a rotated file has other first lines.
    static func headHash(path: String, length: Int64) throws -> Int64 {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        let data = try handle.read(upToCount: Int(length)) ?? Data()
        var hash = StableHash()
        for byte in data { hash.combine(byte: byte) }
        hash.combine(Int64(data.count))
        return Int64(bitPattern: hash.value)
    }
}

/// Expands directories into the regular files inside them, in name order (daily accounting
/// files sort by date); hidden files are left out.
public enum InputFiles {
    /// Why a command that was given paths has nothing to read.
    public static func noneFound(in paths: [String]) -> String {
        "no input files in \(paths.joined(separator: " ")) (directories are read with their subdirectories)"
    }

    /// Files as given, and every file under a directory, descending into subdirectories (an SSM
    /// or `tally export apel --out` queue, a tree of daily logs), in name order. Hidden entries
    /// and a queue's half-written `.tmp` files are left out.
    public static func expand(_ paths: [String]) throws -> [String] {
        var result: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard path != "-", FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue
            else {
                result.append(path)
                continue
            }
            try collect(directory: path, into: &result)
        }
        return result
    }

    private static func collect(directory: String, into result: inout [String]) throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { !$0.hasPrefix(".") && !$0.hasSuffix(".tmp") }.sorted()
        for name in names {
            let full = (directory as NSString).appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory) else { continue }
            if isDirectory.boolValue {
                try collect(directory: full, into: &result)
            } else {
                result.append(full)
            }
        }
    }
}
