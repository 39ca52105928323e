import Foundation
import GRDB

/// An API token as stored: only a hash of the secret is kept.
public struct StoredToken: Sendable, Hashable {
    public var id: Int64
    public var name: String
    public var scopes: [String]
    /// Sites a write-scoped token may write records of (empty: none).
    public var sites: [String]
    public var createdAt: Int64
}

extension SQLiteStore {
    public func createToken(name: String, hash: String, scopes: [String], sites: [String]) async throws -> StoredToken {
        let now = Int64(Date().timeIntervalSince1970)
        return try await queue.write { db in
            try db.execute(sql: """
                INSERT INTO api_token (name, hash, scopes, sites, created_at) VALUES (?, ?, ?, ?, ?)
                """, arguments: [name, hash, scopes.joined(separator: ","), sites.joined(separator: ","), now])
            return StoredToken(id: db.lastInsertedRowID, name: name, scopes: scopes, sites: sites, createdAt: now)
        }
    }

    /// The token whose secret hashes to `hash`, if any.
    public func token(hash: String) async throws -> StoredToken? {
        try await queue.read { db in
            try Row.fetchOne(db, sql: "SELECT id, name, scopes, sites, created_at FROM api_token WHERE hash = ?",
                             arguments: [hash]).map(Self.token)
        }
    }

    public func tokens() async throws -> [StoredToken] {
        try await queue.read { db in
            try Row.fetchAll(db, sql: "SELECT id, name, scopes, sites, created_at FROM api_token ORDER BY id").map(Self.token)
        }
    }

    private static func token(_ row: Row) -> StoredToken {
        func list(_ text: String) -> [String] { text.split(separator: ",").map(String.init) }
        return StoredToken(id: row[0], name: row[1], scopes: list(row[2]), sites: list(row[3]), createdAt: row[4])
    }
}
