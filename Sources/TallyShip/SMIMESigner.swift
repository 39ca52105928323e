import Crypto
import Foundation
@_spi(CMS) import X509

/// Signs a message as SSM does (`openssl smime -sign -text`): a clear-signed `multipart/signed`
/// S/MIME message whose first part is the text as `text/plain` with CRLF line ends, and whose
/// second is a detached CMS signature with the signer's certificate. APEL's receiver verifies it
/// with `openssl smime -verify` and takes the signer's DN from that certificate.
public struct SMIMESigner: Sendable {
    public let certificate: Certificate
    let privateKey: Certificate.PrivateKey

    public enum SignerError: Error, CustomStringConvertible {
        case unreadable(path: String, reason: String)
        case keyMismatch(certificate: String, key: String)
        case notValid(certificate: String, reason: String)

        public var description: String {
            switch self {
            case let .unreadable(path, reason): "\(path): \(reason)"
            case let .keyMismatch(certificate, key): "\(key) is not the private key of the certificate \(certificate)"
            case let .notValid(certificate, reason): "\(certificate): \(reason)"
            }
        }
    }

    public init(certificate: Certificate, privateKey: Certificate.PrivateKey) {
        self.certificate = certificate; self.privateKey = privateKey
    }

    /// Reads a PEM certificate and its PEM private key (PKCS #1 or #8, RSA or EC), and checks,
    /// as SSM does before sending, that they belong together and that the certificate is valid.
    public init(certificateFile: String, keyFile: String, now: Date = Date()) throws {
        let certificate: Certificate
        do {
            certificate = try Certificate(pemEncoded: try String(contentsOfFile: certificateFile, encoding: .utf8))
        } catch {
            throw SignerError.unreadable(path: certificateFile, reason: "not a PEM certificate (\(error))")
        }
        let key: Certificate.PrivateKey
        do {
            key = try Certificate.PrivateKey(pemEncoded: try String(contentsOfFile: keyFile, encoding: .utf8))
        } catch {
            throw SignerError.unreadable(path: keyFile, reason: "not an unencrypted PEM private key (\(error))")
        }
        guard key.publicKey == certificate.publicKey else {
            throw SignerError.keyMismatch(certificate: certificateFile, key: keyFile)
        }
        guard certificate.notValidBefore <= now else {
            throw SignerError.notValid(certificate: certificateFile, reason: "not valid before \(certificate.notValidBefore)")
        }
        guard certificate.notValidAfter > now else {
            throw SignerError.notValid(certificate: certificateFile, reason: "expired on \(certificate.notValidAfter)")
        }
        self.init(certificate: certificate, privateKey: key)
    }

    /// The signer's DN in the slash form APEL's DN lists use, e.g. `/C=UK/O=eScience/CN=host.example.org`.
    public var signerDN: String {
        // The RDNs in the certificate's order (country first, as grid DNs are written).
        certificate.subject.map { "/" + $0.description }.joined()
    }

    /// Days until the certificate expires (SSM refuses one that expires within a day).
    public func daysLeft(now: Date = Date()) -> Double {
        certificate.notValidAfter.timeIntervalSince(now) / 86_400
    }

    /// The message as `openssl smime -sign -text` writes it.
    public func sign(_ text: String, at time: Date = Date()) throws -> String {
        let content = "Content-Type: text/plain\r\n\r\n" + Self.canonical(text)
        let algorithm = Self.signatureAlgorithm(for: certificate.publicKey)
        let signature = try CMS.sign(Array(content.utf8), signatureAlgorithm: algorithm, certificate: certificate,
                                     privateKey: privateKey, signingTime: time, detached: true)
        let boundary = "----" + (0..<16).map { _ in String(format: "%02X", UInt8.random(in: 0...255)) }.joined()
        var out = "MIME-Version: 1.0\n"
        out += "Content-Type: multipart/signed; protocol=\"application/x-pkcs7-signature\"; micalg=\"\(Self.micalg(algorithm))\"; boundary=\"\(boundary)\"\n\n"
        out += "This is an S/MIME signed message\n\n"
        out += "--\(boundary)\n" + content + "\n"
        out += "--\(boundary)\n"
        out += "Content-Type: application/x-pkcs7-signature; name=\"smime.p7s\"\n"
        out += "Content-Transfer-Encoding: base64\n"
        out += "Content-Disposition: attachment; filename=\"smime.p7s\"\n\n"
        let encoded = Data(signature).base64EncodedString()
        var index = encoded.startIndex
        while index < encoded.endIndex {
            let end = encoded.index(index, offsetBy: 64, limitedBy: encoded.endIndex) ?? encoded.endIndex
            out += encoded[index..<end] + "\n"
            index = end
        }
        out += "\n--\(boundary)--\n\n"
        return out
    }

    /// What S/MIME signs in text mode: every line ended by CRLF.
    static func canonical(_ text: String) -> String {
        text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n")
    }

    /// SHA-256 with RSA (what grid host certificates are), or ECDSA with the curve's own hash.
    static func signatureAlgorithm(for key: Certificate.PublicKey) -> Certificate.SignatureAlgorithm {
        if P256.Signing.PublicKey(key) != nil { return .ecdsaWithSHA256 }
        if P384.Signing.PublicKey(key) != nil { return .ecdsaWithSHA384 }
        if P521.Signing.PublicKey(key) != nil { return .ecdsaWithSHA512 }
        return .sha256WithRSAEncryption
    }

    static func micalg(_ algorithm: Certificate.SignatureAlgorithm) -> String {
        switch algorithm {
        case .sha384WithRSAEncryption, .ecdsaWithSHA384: "sha-384"
        case .sha512WithRSAEncryption, .ecdsaWithSHA512: "sha-512"
        case .sha1WithRSAEncryption: "sha1"
        default: "sha-256"
        }
    }
}
