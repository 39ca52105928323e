import Foundation
import Testing
import TallyTestSupport

/// AUDITOR's own Python client (python-auditor from PyPI, in the virtual environment
/// scripts/test.sh makes and names in TALLY_AUDITOR_PYTHON) against the real `tally serve` binary
/// on loopback: add, bulk insert, update, get one, every advanced-query filter, and the same
/// records through Tally's own API (Tests/conformance/auditor_client.py).
@Suite(.serialized) struct AuditorConformanceTests {
    static var python: String? { ProcessInfo.processInfo.environment["TALLY_AUDITOR_PYTHON"] }

    @Test(arguments: Backend.all) func pythonAuditorClientAgainstTallyServe(backend: Backend) async throws {
        guard let python = Self.python else {
            // Only `swift test` by hand gets here; under CI the variable must be set.
            #expect(ProcessInfo.processInfo.environment["CI"] == nil,
                    "TALLY_AUDITOR_PYTHON is not set: run the tests with scripts/test.sh")
            return
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tally-auditor-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let location = try await backend.makeStore(in: directory).location

        let writer = try TallyProcess.run(["token", "create", "--db", location, "--name", "auditor-collectors",
                                           "--scope", "read,write", "--site", "siteA"])
        #expect(writer.status == 0)
        let reader = try TallyProcess.run(["token", "create", "--db", location, "--name", "reader", "--scope", "read"])
        let readToken = reader.stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        let (server, url) = try TallyProcess.startServer(["serve", "--db", location, "--port", "0", "--auditor-token",
                                                           "auditor-collectors"])
        defer { server.terminate(); server.waitUntilExit() }
        let port = String(url.split(separator: ":").last ?? "")
        #expect(Int(port) != nil)

        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("conformance/auditor_client.py").path
        let client = Process()
        client.executableURL = URL(fileURLWithPath: python)
        client.arguments = [script, port, readToken]
        let clientOutput = Pipe()
        client.standardOutput = clientOutput
        client.standardError = clientOutput
        try client.run()
        let text = String(decoding: clientOutput.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        client.waitUntilExit()
        #expect(client.terminationStatus == 0, "\(text)")
        #expect(text.contains(" checks, 0 failed"), "\(text)")
    }
}
