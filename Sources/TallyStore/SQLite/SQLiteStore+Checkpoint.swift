import Foundation
import GRDB

extension SQLiteStore {
    public func checkpoint(format: String, path: String) async throws -> Checkpoint? {
        try await queue.read { db in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT device, inode, size, mtime, head_length, head_hash, offset, line, compressed, resume_state
                FROM checkpoint WHERE format = ? AND path = ?
                """, arguments: [format, path]) else { return nil }
            let state: Data = row[9]
            return Checkpoint(format: format, path: path, device: row[0], inode: row[1], size: row[2], mtime: row[3],
                              headLength: row[4], headHash: row[5], offset: row[6], line: row[7],
                              compressed: row[8], resumeState: Array(state))
        }
    }

    public func saveCheckpoint(_ checkpoint: Checkpoint) async throws {
        let now = Int64(Date().timeIntervalSince1970)
        try await queue.write { db in
            try db.execute(sql: """
                INSERT OR REPLACE INTO checkpoint (format, path, device, inode, size, mtime, head_length, head_hash,
                                                   offset, line, compressed, resume_state, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [checkpoint.format, checkpoint.path, checkpoint.device, checkpoint.inode,
                                 checkpoint.size, checkpoint.mtime, checkpoint.headLength, checkpoint.headHash,
                                 checkpoint.offset, checkpoint.line, checkpoint.compressed,
                                 Data(checkpoint.resumeState), now])
        }
    }
}
