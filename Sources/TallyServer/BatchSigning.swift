import Crypto
import Foundation

/// How shipped batches are identified and signed. The agent sends, with a batch's body:
/// `Tally-Batch-Id` (stable across resends), `Tally-Site`, `Tally-Content-SHA256` (hex of the
/// body) and `Tally-Signature`: base64 Ed25519 over `tally-batch-v1\nID\nSITE\nSHA256`.
/// The server checks the hash against the body and the signature against the site's registered
/// public keys, so a batch changed on the way (or in the outbox) is refused.
public enum BatchSigning {
    public static let batchIDHeader = "Tally-Batch-Id"
    public static let siteHeader = "Tally-Site"
    public static let hashHeader = "Tally-Content-SHA256"
    public static let signatureHeader = "Tally-Signature"
    public static let replayHeader = "Tally-Batch-Replay"

    public static func contentHash(_ body: some DataProtocol) -> String {
        SHA256.hash(data: body).map { String(format: "%02x", $0) }.joined()
    }

    static func signedText(batchID: String, site: String, hash: String) -> Data {
        Data("tally-batch-v1\n\(batchID)\n\(site)\n\(hash)".utf8)
    }

    public static func sign(batchID: String, site: String, hash: String, key: Curve25519.Signing.PrivateKey) throws -> String {
        try key.signature(for: signedText(batchID: batchID, site: site, hash: hash)).base64EncodedString()
    }

    /// True when `signature` verifies with one of `publicKeys` (base64 raw Ed25519 keys).
    public static func verify(signature: String, batchID: String, site: String, hash: String, publicKeys: [String]) -> Bool {
        guard let signatureBytes = Data(base64Encoded: signature) else { return false }
        let text = signedText(batchID: batchID, site: site, hash: hash)
        return publicKeys.contains { encoded in
            guard let raw = Data(base64Encoded: encoded),
                  let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else { return false }
            return key.isValidSignature(signatureBytes, for: text)
        }
    }

    /// A new key pair: the private key as base64 text for a file, the public key to register.
    public static func generateKey() -> (privateKey: String, publicKey: String) {
        let key = Curve25519.Signing.PrivateKey()
        return (key.rawRepresentation.base64EncodedString(), key.publicKey.rawRepresentation.base64EncodedString())
    }

    public static func privateKey(fromFile path: String) throws -> Curve25519.Signing.PrivateKey {
        let text = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let raw = Data(base64Encoded: text) else { throw KeyFileError(path: path) }
        do {
            return try Curve25519.Signing.PrivateKey(rawRepresentation: raw)
        } catch {
            throw KeyFileError(path: path)
        }
    }

    public static func publicKey(of key: Curve25519.Signing.PrivateKey) -> String {
        key.publicKey.rawRepresentation.base64EncodedString()
    }

    /// True when `text` is a base64 raw Ed25519 public key.
    public static func isPublicKey(_ text: String) -> Bool {
        guard let raw = Data(base64Encoded: text) else { return false }
        return (try? Curve25519.Signing.PublicKey(rawRepresentation: raw)) != nil
    }

    public struct KeyFileError: Error, CustomStringConvertible {
        public var path: String
        public var description: String { "\(path): not a Tally signing key (tally keys generate writes one)" }
    }
}
