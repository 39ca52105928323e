import Foundation

/// The agent's durable outbox: one file per batch under `pending/`, written to a temporary name,
/// synced and renamed (a crash leaves a whole batch or none), and removed only once the server
/// has acknowledged it. `state` remembers how far records have been queued.
public struct Outbox: Sendable {
    public let directory: String
    var pending: String { directory + "/pending" }
    var rejected: String { directory + "/rejected" }
    var statePath: String { directory + "/state" }

    /// A queued batch: what identifies it, and the request body.
    public struct Batch: Sendable, Hashable {
        public var id: String
        public var site: String
        /// Largest record id in the batch (queueing resumes after it).
        public var lastRecordID: Int64
        public var records: Int
        /// SHA-256 of the body and its signature, made when the batch was queued: a body changed
        /// in the outbox no longer matches them.
        public var contentHash: String
        public var signature: String?
        public var body: Data
        public var path: String
    }

    public init(directory: String) throws {
        self.directory = directory
        for folder in [directory, directory + "/pending", directory + "/rejected"] {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
    }

    /// How far records are queued: the state file, or a batch written after it.
    public func queuedThrough() throws -> Int64 {
        var through: Int64 = 0
        if let text = try? String(contentsOfFile: statePath, encoding: .utf8), let value = Int64(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
            through = value
        }
        for batch in try batches() { through = max(through, batch.lastRecordID) }
        return through
    }

    public func setQueuedThrough(_ id: Int64) throws {
        try Self.writeAtomically(Data("\(id)\n".utf8), to: statePath)
    }

    /// Adds a batch; its file name orders batches by the records they hold.
    @discardableResult
    public func add(id: String, site: String, lastRecordID: Int64, records: Int, contentHash: String, signature: String?,
                    body: Data) throws -> Batch {
        let header = "\(id) \(site) \(lastRecordID) \(records) \(contentHash) \(signature ?? "-")\n"
        let path = pending + "/" + String(format: "%020lld", lastRecordID) + "-" + id + ".batch"
        try Self.writeAtomically(Data(header.utf8) + body, to: path)
        return Batch(id: id, site: site, lastRecordID: lastRecordID, records: records, contentHash: contentHash,
                     signature: signature, body: body, path: path)
    }

    /// Pending batches, oldest first.
    public func batches() throws -> [Batch] {
        let names = try FileManager.default.contentsOfDirectory(atPath: pending).filter { $0.hasSuffix(".batch") }.sorted()
        return try names.map { name in
            let path = pending + "/" + name
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            guard let newline = data.firstIndex(of: 0x0A) else { throw OutboxError.damaged(path) }
            let fields = String(decoding: data[..<newline], as: UTF8.self).split(separator: " ")
            guard fields.count == 6, let last = Int64(fields[2]), let count = Int(fields[3]) else {
                throw OutboxError.damaged(path)
            }
            return Batch(id: String(fields[0]), site: String(fields[1]), lastRecordID: last, records: count,
                         contentHash: String(fields[4]), signature: fields[5] == "-" ? nil : String(fields[5]),
                         body: Data(data[data.index(after: newline)...]), path: path)
        }
    }

    /// Acknowledged: gone for good.
    public func remove(_ batch: Batch) throws {
        try FileManager.default.removeItem(atPath: batch.path)
        Self.syncDirectory(pending)
    }

    /// Refused by the server for good (tampered, malformed): kept aside with the reason, not resent.
    public func reject(_ batch: Batch, reason: String) throws {
        let name = (batch.path as NSString).lastPathComponent
        try FileManager.default.moveItem(atPath: batch.path, toPath: rejected + "/" + name)
        try Self.writeAtomically(Data((reason + "\n").utf8), to: rejected + "/" + name + ".reason")
        Self.syncDirectory(pending)
    }

    public func rejectedCount() throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: rejected).filter { $0.hasSuffix(".batch") }.count
    }

    static func writeAtomically(_ data: Data, to path: String) throws {
        let temporary = path + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: data) else { throw OutboxError.cannotWrite(temporary) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: temporary))
        try handle.synchronize()
        try handle.close()
        guard rename(temporary, path) == 0 else { throw OutboxError.cannotWrite(path) }
        syncDirectory((path as NSString).deletingLastPathComponent)
    }

    /// The rename itself must reach the disk too.
    static func syncDirectory(_ path: String) {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { return }
        fsync(descriptor)
        close(descriptor)
    }
}

public enum OutboxError: Error, CustomStringConvertible {
    case damaged(String)
    case cannotWrite(String)

    public var description: String {
        switch self {
        case let .damaged(path): "\(path): not a batch file (move it away to go on)"
        case let .cannotWrite(path): "cannot write \(path)"
        }
    }
}
