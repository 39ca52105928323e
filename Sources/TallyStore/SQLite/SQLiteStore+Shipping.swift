import Foundation
import GRDB

extension SQLiteStore {
    public func registerSiteKey(site: String, publicKey: String) async throws {
        let now = Int64(Date().timeIntervalSince1970)
        try await queue.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO site_key (site, public_key, registered_at) VALUES (?, ?, ?)",
                           arguments: [site, publicKey, now])
        }
    }

    public func siteKeys(site: String) async throws -> [String] {
        try await queue.read { db in
            try String.fetchAll(db, sql: "SELECT public_key FROM site_key WHERE site = ? ORDER BY registered_at",
                                arguments: [site])
        }
    }

    public func receivedBatch(id: String) async throws -> ReceivedBatch? {
        try await queue.read { db in
            try Row.fetchOne(db, sql: "SELECT id, site, content_hash, outcome, received_at FROM received_batch WHERE id = ?",
                             arguments: [id]).map {
                ReceivedBatch(id: $0[0], site: $0[1], contentHash: $0[2], outcome: $0[3], receivedAt: $0[4])
            }
        }
    }

    public func recordReceivedBatch(_ batch: ReceivedBatch) async throws {
        try await queue.write { db in
            try db.execute(sql: """
                INSERT OR IGNORE INTO received_batch (id, site, content_hash, outcome, received_at) VALUES (?, ?, ?, ?, ?)
                """, arguments: [batch.id, batch.site, batch.contentHash, batch.outcome, batch.receivedAt])
        }
    }
}
