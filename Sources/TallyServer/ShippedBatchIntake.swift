import Foundation
import Hummingbird
import HTTPTypes
import TallyStore

/// `POST /api/v1/records` with what shipping adds: a batch id makes a resend (after a lost
/// acknowledgement) answer the first outcome and change nothing; a signature must verify against
/// the site's registered key, and a site with a registered key must sign.
struct ShippedBatchIntake {
    let store: any UsageStore

    func accept(_ body: ByteBuffer, headers: HTTPFields, from principal: Principal) async throws -> Response {
        func header(_ name: String) -> String? { HTTPField.Name(name).flatMap { headers[$0] } }
        let data = Data(buffer: body)
        let hash = BatchSigning.contentHash(data)
        let batchID = header(BatchSigning.batchIDHeader)
        if let batchID {
            guard !batchID.isEmpty, batchID.count <= 200 else { throw APIError(.badRequest, "bad batch id") }
            if let known = try await store.receivedBatch(id: batchID) {
                guard known.contentHash == hash else {
                    throw APIError(.conflict, "batch \(batchID) was received before with other content")
                }
                return Response(status: .ok, headers: [.contentType: "application/json", HTTPField.Name(BatchSigning.replayHeader)!: "true"],
                                body: .init(byteBuffer: ByteBuffer(string: known.outcome)))
            }
        }
        let batch = try RecordBatch.decode(data, contentType: headers[.contentType])
        let sites = Set(batch.elements.compactMap { try? $0.get().site })
        if let signature = header(BatchSigning.signatureHeader) {
            guard let site = header(BatchSigning.siteHeader), let batchID else {
                throw APIError(.badRequest, "a signed batch names its site (\(BatchSigning.siteHeader)) and id (\(BatchSigning.batchIDHeader))")
            }
            if let claimed = header(BatchSigning.hashHeader), claimed != hash {
                throw APIError(.badRequest, "batch \(batchID): the body does not match its \(BatchSigning.hashHeader) (changed after signing?)")
            }
            let keys = try await store.siteKeys(site: site)
            guard !keys.isEmpty else { throw APIError(.unauthorized, "no signing key is registered for site '\(site)' (tally site register)") }
            guard BatchSigning.verify(signature: signature, batchID: batchID, site: site, hash: hash, publicKeys: keys) else {
                throw APIError(.unauthorized, "batch \(batchID): the signature does not verify with site '\(site)''s key (tampered, or signed with another key)")
            }
            if let other = sites.first(where: { $0 != site }) {
                throw APIError(.forbidden, "batch \(batchID) is signed for site '\(site)' but holds records of '\(other)'")
            }
        } else {
            for site in sites.sorted() where !(try await store.siteKeys(site: site)).isEmpty {
                throw APIError(.unauthorized, "site '\(site)' has a registered signing key: its batches must be signed")
            }
        }
        let (outcome, status) = try await RecordIntake(store: store).store(batch, from: principal)
        let response = try json(outcome, status: status)
        if let batchID, status.code == 200 || status.code == 207 {
            let text = String(decoding: try jsonBytes(outcome), as: UTF8.self)
            try await store.recordReceivedBatch(ReceivedBatch(
                id: batchID, site: header(BatchSigning.siteHeader) ?? sites.sorted().first ?? "", contentHash: hash,
                outcome: text, receivedAt: Int64(Date().timeIntervalSince1970)))
        }
        return response
    }
}
