import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL
import Testing
import TallyTestSupport

/// The real `tally serve` binary: tokens from `tally token create`, HTTPS with a self-signed
/// certificate, and a clean exit on SIGTERM.
@Suite(.serialized) struct ServeProcessTests {
    @Test func servesHTTPSAndStopsCleanlyOnSIGTERM() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tally-serve-bin-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let db = directory.appendingPathComponent("tally.db").path
        let certificate = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate,
                             "-days", "1", "-subj", "/CN=127.0.0.1"]
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        #expect(openssl.terminationStatus == 0)

        let created = try TallyProcess.run(["token", "create", "--db", db, "--name", "dash", "--scope", "read"])
        #expect(created.status == 0)
        let secret = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(secret.hasPrefix("tly_"))
        #expect(created.stderr.contains("will not be shown again"))
        #expect(!(try TallyProcess.run(["token", "list", "--db", db]).stdout.contains(secret)))

        let (server, url) = try TallyProcess.startServer(["serve", "--db", db, "--port", "0", "--tls-cert", certificate,
                                                           "--tls-key", key])
        #expect(url.hasPrefix("https://127.0.0.1:"))
        let port = Int(url.split(separator: ":").last ?? "") ?? 0

        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(certificate)
        tls.certificateVerification = .noHostnameVerification
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        var request = HTTPClientRequest(url: "https://127.0.0.1:\(port)/api/v1/status")
        request.headers.add(name: "Authorization", value: "Bearer \(secret)")
        let response = try await client.execute(request, timeout: .seconds(30))
        #expect(response.status.code == 200)
        let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
        #expect(body.contains("\"records\":0"))
        try await client.shutdown()

        server.terminate()  // SIGTERM
        server.waitUntilExit()
        #expect(server.terminationReason == .exit)
        #expect(server.terminationStatus == 0)
    }
}
