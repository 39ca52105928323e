/// How far an input file was read, and what identifies it, so the next read of the same path
/// skips it, resumes where it stopped, or rereads it if it was rotated or rewritten.
public struct Checkpoint: Sendable, Hashable {
    public var format: String
    public var path: String
    public var device: Int64
    public var inode: Int64
    public var size: Int64
    /// Modification time, nanoseconds since the epoch.
    public var mtime: Int64
    /// How many leading bytes `headHash` covers (the file's size when shorter than 4 KiB).
    public var headLength: Int64
    public var headHash: Int64
    /// Just past the last complete line read, and that line's number.
    public var offset: Int64
    public var line: Int
    public var compressed: Bool
    public var resumeState: [UInt8]

    public init(format: String, path: String, device: Int64, inode: Int64, size: Int64, mtime: Int64,
                headLength: Int64, headHash: Int64, offset: Int64, line: Int, compressed: Bool,
                resumeState: [UInt8]) {
        self.format = format; self.path = path; self.device = device; self.inode = inode; self.size = size
        self.mtime = mtime; self.headLength = headLength; self.headHash = headHash; self.offset = offset
        self.line = line; self.compressed = compressed; self.resumeState = resumeState
    }
}
