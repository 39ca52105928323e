import Foundation
import Testing
@testable import TallyShip

/// Tally's S/MIME against openssl's own verifier, as APEL's receiver runs it.
@Suite(.serialized) struct SMIMESignerTests {
    static let message = """
        APEL-summary-job-message: v0.2
        Site: TEST-SITE
        Month: 9
        Year: 2024
        GlobalUserName: /C=UK/O=eScience/CN=Some User
        VO: atlas
        WallDuration: 3600
        CpuDuration: 3000
        NumberOfJobs: 1
        %%

        """

    @Test func openSSLVerifiesTheSignatureAndGivesBackTheText() throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let signer = try SMIMESigner(certificateFile: pki.siteCertificate, keyFile: pki.siteKey)
        #expect(signer.signerDN == pki.siteDN)
        let signed = try signer.sign(Self.message)
        #expect(signed.hasPrefix("MIME-Version: 1.0\nContent-Type: multipart/signed; protocol=\"application/x-pkcs7-signature\"; micalg=\"sha-256\""))
        let verified = try pki.openssl(["smime", "-verify", "-CAfile", pki.caFile, "-text"], input: Data(signed.utf8))
        #expect(verified.status == 0, "\(verified.error)")
        #expect(verified.error.contains("Verification successful"))
        #expect(String(decoding: verified.output, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n") == Self.message)
        // The signer as SSM's receiver reads it: the certificate inside the signature.
        let pk7 = try pki.openssl(["smime", "-pk7out"], input: Data(signed.utf8)).output
        let certificates = try pki.openssl(["pkcs7", "-print_certs"], input: pk7).output
        let subject = try pki.openssl(["x509", "-noout", "-subject", "-nameopt", "compat"], input: certificates).output
        #expect(String(decoding: subject, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) == "subject=" + pki.siteDN)
    }

    @Test func aChangedByteOrAnotherCAFailsVerification() throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let signed = try SMIMESigner(certificateFile: pki.siteCertificate, keyFile: pki.siteKey).sign(Self.message)
        let tampered = signed.replacingOccurrences(of: "WallDuration: 3600", with: "WallDuration: 9600")
        #expect(tampered != signed)
        #expect(try pki.openssl(["smime", "-verify", "-CAfile", pki.caFile], input: Data(tampered.utf8)).status != 0)
        // Signed by a certificate the receiver's CAs did not issue.
        let stranger = try SMIMESigner(certificateFile: pki.strangerCertificate, keyFile: pki.strangerKey).sign(Self.message)
        #expect(try pki.openssl(["smime", "-verify", "-CAfile", pki.caFile], input: Data(stranger.utf8)).status != 0)
    }

    @Test func ecKeysSignToo() throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let signed = try SMIMESigner(certificateFile: pki.ecCertificate, keyFile: pki.ecKey).sign(Self.message)
        let verified = try pki.openssl(["smime", "-verify", "-CAfile", pki.caFile, "-text"], input: Data(signed.utf8))
        #expect(verified.status == 0, "\(verified.error)")
    }

    @Test func linesWithoutAFinalNewlineAndCRLFTextVerify() throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let signer = try SMIMESigner(certificateFile: pki.siteCertificate, keyFile: pki.siteKey)
        for text in ["no final newline", "crlf\r\nlines\r\n", String(repeating: "a long line ", count: 400) + "\n"] {
            let verified = try pki.openssl(["smime", "-verify", "-CAfile", pki.caFile, "-text"], input: Data(try signer.sign(text).utf8))
            #expect(verified.status == 0, "\(verified.error)")
            #expect(String(decoding: verified.output, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n")
                    == text.replacingOccurrences(of: "\r\n", with: "\n"))
        }
    }

    @Test func aKeyThatIsNotTheCertificatesOrAnExpiredCertificateIsRefused() throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        #expect {
            try SMIMESigner(certificateFile: pki.siteCertificate, keyFile: pki.strangerKey)
        } throws: { error in
            "\(error)".contains("is not the private key of the certificate")
        }
        #expect {
            try SMIMESigner(certificateFile: pki.siteCertificate, keyFile: pki.siteKey, now: Date().addingTimeInterval(60 * 86_400))
        } throws: { error in
            "\(error)".contains("expired on")
        }
        #expect {
            try SMIMESigner(certificateFile: pki.siteKey, keyFile: pki.siteKey)
        } throws: { error in
            "\(error)".contains("not a PEM certificate")
        }
    }
}
