import PostgresNIO

extension PostgresStore {
    public func registerSiteKey(site: String, publicKey: String) async throws {
        try await client.query("""
            INSERT INTO site_key (site, public_key, registered_at) VALUES (\(site), \(publicKey), \(Self.now))
            ON CONFLICT DO NOTHING
            """, logger: logger)
    }

    public func siteKeys(site: String) async throws -> [String] {
        var keys: [String] = []
        for try await key in try await client.query(
            "SELECT public_key FROM site_key WHERE site = \(site) ORDER BY registered_at", logger: logger).decode(String.self) {
            keys.append(key)
        }
        return keys
    }

    public func receivedBatch(id: String) async throws -> ReceivedBatch? {
        for try await (batchID, site, hash, outcome, at) in try await client.query(
            "SELECT id, site, content_hash, outcome, received_at FROM received_batch WHERE id = \(id)", logger: logger)
            .decode((String, String, String, String, Int64).self) {
            return ReceivedBatch(id: batchID, site: site, contentHash: hash, outcome: outcome, receivedAt: at)
        }
        return nil
    }

    public func recordReceivedBatch(_ batch: ReceivedBatch) async throws {
        try await client.query("""
            INSERT INTO received_batch (id, site, content_hash, outcome, received_at)
            VALUES (\(batch.id), \(batch.site), \(batch.contentHash), \(batch.outcome), \(batch.receivedAt))
            ON CONFLICT DO NOTHING
            """, logger: logger)
    }
}
