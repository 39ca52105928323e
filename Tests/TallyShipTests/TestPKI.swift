import Foundation

/// A grid-like PKI made by the openssl command line (not by the code under test): a CA, a site
/// host certificate it signed (RSA, as grid host certificates are), an EC one, and a stranger's
/// certificate from another CA.
struct TestPKI {
    let directory: URL
    var caFile: String { path("ca.pem") }
    var siteCertificate: String { path("site.pem") }
    var siteKey: String { path("site.key") }
    var ecCertificate: String { path("ec.pem") }
    var ecKey: String { path("ec.key") }
    var strangerCertificate: String { path("stranger.pem") }
    var strangerKey: String { path("stranger.key") }
    let siteDN = "/C=UK/O=eScience/OU=CLRC/L=RAL/CN=apel-sender.example.org"

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("tally-pki-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path("ca.key"), "-out", path("ca.pem"),
                     "-days", "30", "-subj", "/C=UK/O=eScience/CN=Test Grid CA"])
        try openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", path("site.key"), "-out", path("site.csr"),
                     "-subj", "/C=UK/O=eScience/OU=CLRC/L=RAL/CN=apel-sender.example.org"])
        try openssl(["x509", "-req", "-in", path("site.csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"),
                     "-CAcreateserial", "-out", path("site.pem"), "-days", "30"])
        try openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", path("ec.key"),
                     "-out", path("ec.csr"), "-subj", "/C=UK/O=eScience/CN=ec-sender.example.org"])
        try openssl(["x509", "-req", "-in", path("ec.csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"),
                     "-CAcreateserial", "-out", path("ec.pem"), "-days", "30"])
        try openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path("stranger.key"),
                     "-out", path("stranger.pem"), "-days", "30", "-subj", "/C=XX/O=Elsewhere/CN=stranger.example.org"])
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }

    @discardableResult
    func openssl(_ arguments: [String], input: Data? = nil) throws -> (status: Int32, output: Data, error: String) {
        try Self.run("/usr/bin/openssl", arguments, input: input)
    }

    /// Runs a tool with files for its standard streams (no pipe can fill up and stall it).
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], input: Data? = nil) throws -> (status: Int32, output: Data, error: String) {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("tally-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let inFile = scratch.appendingPathComponent("in"), outFile = scratch.appendingPathComponent("out")
        let errFile = scratch.appendingPathComponent("err")
        try (input ?? Data()).write(to: inFile)
        _ = FileManager.default.createFile(atPath: outFile.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errFile.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = try FileHandle(forReadingFrom: inFile)
        process.standardOutput = try FileHandle(forWritingTo: outFile)
        process.standardError = try FileHandle(forWritingTo: errFile)
        try process.run()
        process.waitUntilExit()
        return (process.terminationStatus, try Data(contentsOf: outFile), String(decoding: try Data(contentsOf: errFile), as: UTF8.self))
    }
}
