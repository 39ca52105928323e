import Foundation
import Testing
import TallyCore
import TallyTestSupport

/// `tally ship apel` against a real Apache ActiveMQ (Debian's, started by scripts/test.sh through
/// scripts/activemq.sh) and read back by a stomp.py consumer that checks every signature with
/// openssl, as APEL's receiver does.
enum Broker {
    static let environment = ProcessInfo.processInfo.environment
    static let address = environment["TALLY_TEST_ACTIVEMQ"]
    static let python = environment["TALLY_STOMP_PYTHON"]
    static var available: Bool { address != nil && python != nil }
    /// The broker's stomp+ssl connector, which wants a client certificate its CA signed.
    static let tlsAddress = environment["TALLY_TEST_ACTIVEMQ_TLS"]
    /// Where scripts/activemq.sh put that CA and a client certificate and key (ca.pem, client.*).
    static let tlsDirectory = environment["TALLY_TEST_ACTIVEMQ_TLS_DIR"]
    static var tlsAvailable: Bool { available && tlsAddress != nil && tlsDirectory != nil }

    /// `scripts/activemq.sh COMMAND` on the test's broker (its directory and port come from the
    /// environment scripts/test.sh set).
    static func control(_ command: String) throws {
        let result = try TestPKI.run("/bin/bash", [Fixtures.project.appendingPathComponent("scripts/activemq.sh").path, command])
        guard result.status == 0 else {
            throw CocoaError(.featureUnsupported, userInfo: [NSLocalizedDescriptionKey: "activemq.sh \(command): \(result.error)"])
        }
    }
}

/// A site database of real Slurm jobs (CCR's phillips cluster), its APEL messages queued as
/// `tally export apel --out` queues them, and a PKI.
final class APELQueueRig: @unchecked Sendable {
    let directory: URL
    let pki: TestPKI
    let destination = "/queue/tally-test-\(UUID().uuidString.lowercased())"
    var queue: String { directory.appendingPathComponent("outgoing").path }
    var database: String { directory.appendingPathComponent("site.db").path }
    /// What was queued: message id (bucket/name) → text.
    private(set) var originals: [String: String] = [:]
    private(set) var jobRecords = 0

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("tally-apel-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        pki = try TestPKI()
        let fields = "jobid,jobidraw,cluster,partition,qos,account,group,gid,user,uid,submit,eligible,start,end,elapsed,exitcode,"
            + "state,nnodes,ncpus,reqcpus,reqmem,reqtres,alloctres,timelimit,nodelist,jobname"
        try Self.tally(["ingest", "slurm", "--quiet", "--db", database, "--site", "ccr", "--timezone", "UTC", "--fields", fields,
                        Fixtures.example("slurm/ccr-phillips.sacct.log")])
        let config = directory.appendingPathComponent("tally.toml").path
        try "[site]\nname = \"TEST-CCR\"\n[[benchmark]]\nscore = 11.5\ntype = \"HS23\"\n".write(toFile: config, atomically: true, encoding: .utf8)
        // Small messages, so that there are hundreds to send and a restart lands among them.
        let exported = try Self.tally(["export", "apel", "--db", database, "--config", config, "--kind", "job", "--month", "2016-12",
                                       "--records-per-message", "10", "--out", queue])
        jobRecords = Int(exported.stderr.components(separatedBy: ": ").last?.split(separator: " ").first ?? "") ?? 0
        for kind in ["summary", "sync"] {
            try Self.tally(["export", "apel", "--db", database, "--config", config, "--kind", kind, "--month", "2016-12", "--out", queue])
        }
        for element in try DirectoryQueue.elements(in: queue) { originals[element.id] = try DirectoryQueue.read(element) }
    }

    deinit {
        pki.remove()
        try? FileManager.default.removeItem(at: directory)
    }

    @discardableResult
    static func tally(_ arguments: [String]) throws -> TallyProcess.Result {
        let result = try TallyProcess.run(arguments)
        guard result.status == 0 else {
            throw CocoaError(.featureUnsupported, userInfo: [NSLocalizedDescriptionKey: "tally \(arguments.prefix(2)): \(result.stderr)"])
        }
        return result
    }

    /// `tally ship apel` started; its standard error goes to a file.
    func startSender(_ extra: [String], broker: String? = nil, certificate: String? = nil, key: String? = nil) throws -> (Process, URL) {
        let log = directory.appendingPathComponent("sender-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let process = Process()
        process.executableURL = TallyProcess.executable
        process.arguments = ["ship", "apel", "--queue", queue, "--broker", broker ?? Broker.address!, "--destination", destination,
                             "--cert", certificate ?? pki.siteCertificate, "--key", key ?? pki.siteKey] + extra
        process.standardError = try FileHandle(forWritingTo: log)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return (process, log)
    }

    struct Consumed: Decodable {
        var messages: Int
        var verified: Int
        var ids: [String]
        var signers: [String]
        var failures: [[String: String]]
    }

    /// Everything on the destination, read by stomp.py and verified with openssl; the verified
    /// texts land in `out` as NNNNN.body, in the order of `ids`.
    func consume(into out: String, caFile: String? = nil) throws -> Consumed {
        let script = Fixtures.project.appendingPathComponent("Tests/fixtures/apel-stomp/consume.py").path
        let result = try TestPKI.run(Broker.python!, [script, Broker.address!, destination, caFile ?? pki.caFile, out, "3"])
        guard result.status == 0 else {
            throw CocoaError(.featureUnsupported, userInfo: [NSLocalizedDescriptionKey: "consume.py: \(result.error)"])
        }
        return try JSONDecoder().decode(Consumed.self, from: result.output)
    }

    static func wait(_ process: Process, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        return !process.isRunning
    }
}

@Suite(.serialized, .enabled(if: Broker.available, "needs TALLY_TEST_ACTIVEMQ and TALLY_STOMP_PYTHON (scripts/test.sh sets both)"))
struct APELBrokerTests {
    @Test func aBrokerThatHangsThenRestartsMidSendLosesAndDuplicatesNothing() async throws {
        let rig = try APELQueueRig()
        let total = rig.originals.count
        #expect(total > 300, "the fixture should give hundreds of messages")
        #expect(rig.jobRecords == 3797)
        let (sender, log) = try rig.startSender(["--attempts", "100", "--retry-cap", "0.5", "--connect-timeout", "2",
                                                 "--answer-timeout", "2"])
        defer { if sender.isRunning { kill(sender.processIdentifier, SIGKILL) } }
        // As soon as the broker has acknowledged a first message, it stops answering (SIGSTOP):
        // the sender must give up waiting for the receipt. Then it dies (SIGKILL) and comes back
        // on the same store, and the sender must reconnect and go on.
        let deadline = Date().addingTimeInterval(60)
        while try DirectoryQueue.elements(in: rig.queue).count == total, sender.isRunning, Date() < deadline { usleep(2_000) }
        try Broker.control("freeze")
        let remaining = try DirectoryQueue.elements(in: rig.queue).count
        #expect(remaining > 0 && remaining < total, "the broker must stop mid-send (\(remaining) of \(total) left)")
        try await Task.sleep(for: .seconds(3.5))
        try Broker.control("restart")
        #expect(APELQueueRig.wait(sender, seconds: 120), "the sender did not finish after the restart")
        let said = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        #expect(sender.terminationStatus == 0, "\(said.suffix(2000))")
        #expect(said.contains("no answer from the broker within 2 s"), "the hung broker was not noticed: \(said.suffix(1500))")
        #expect(said.contains("reconnecting") || said.contains("retrying"))
        #expect(said.contains("sent \(remaining) APEL messages") || said.contains("APEL messages"))
        #expect(try DirectoryQueue.elements(in: rig.queue).isEmpty, "messages stayed in the queue")

        let out = rig.directory.appendingPathComponent("received").path
        let consumed = try rig.consume(into: out)
        #expect(consumed.failures.isEmpty, "\(consumed.failures.prefix(3))")
        #expect(consumed.verified == consumed.messages)
        #expect(Set(consumed.signers) == [rig.pki.siteDN])
        // Nothing lost: every queued message arrived. A message whose receipt the hang swallowed
        // may arrive twice, with the same empa-id and the same text.
        #expect(Set(consumed.ids) == Set(rig.originals.keys))
        #expect(consumed.messages - Set(consumed.ids).count <= 1, "more repeats than one lost receipt explains")
        var jobBodies: [String] = []
        for (index, id) in consumed.ids.enumerated() {
            let path = out + "/" + String(format: "%05d", index) + ".body"
            let text = try String(contentsOfFile: path, encoding: .utf8)
            #expect(text == rig.originals[id], "message \(id) arrived changed")
            if text.hasPrefix("APEL-individual-job-message") { jobBodies.append(path) }
        }
        // Nothing counted twice: the received job messages, repeats and all, are the site's jobs.
        let central = rig.directory.appendingPathComponent("central.db").path
        try APELQueueRig.tally(["ingest", "apel", "--quiet", "--db", central] + jobBodies)
        let report = try APELQueueRig.tally(["report", "--db", central, "--period", "total", "--format", "csv", "--metrics", "jobs"])
        #expect(report.stdout.split(separator: "\n").last?.split(separator: ",").last == "\(rig.jobRecords)")
    }

    @Test func anUnreachableBrokerLeavesEveryMessageQueued() async throws {
        let rig = try APELQueueRig()
        let port = try LoopbackPort.free()
        let (sender, log) = try rig.startSender(["--attempts", "3", "--retry-cap", "0.2", "--connect-timeout", "1"],
                                                broker: "127.0.0.1:\(port)")
        #expect(APELQueueRig.wait(sender, seconds: 30))
        let said = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        #expect(sender.terminationStatus == 1)
        #expect(said.contains("no message acknowledged after 3 attempts"), "\(said)")
        #expect(said.contains("\(rig.originals.count) messages stay queued"), "\(said)")
        let left = try DirectoryQueue.elements(in: rig.queue)
        #expect(left.count == rig.originals.count)
        #expect(left.allSatisfy { !FileManager.default.fileExists(atPath: $0.path + ".lck") }, "a failed sender left locks")
    }

    @Test func messagesAnotherSenderHoldsAreLeftToIt() async throws {
        let rig = try APELQueueRig()
        let elements = try DirectoryQueue.elements(in: rig.queue)
        // An ssmsend working on the first message holds its lock.
        #expect(DirectoryQueue.lock(elements[0]))
        let (sender, log) = try rig.startSender(["--attempts", "3"])
        #expect(APELQueueRig.wait(sender, seconds: 60))
        let said = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        #expect(sender.terminationStatus == 0, "\(said)")
        #expect(said.contains("1 held by another sender"), "\(said)")
        #expect(try DirectoryQueue.elements(in: rig.queue) == [elements[0]])
        let consumed = try rig.consume(into: rig.directory.appendingPathComponent("received").path)
        #expect(Set(consumed.ids) == Set(elements.dropFirst().map(\.id)))
    }

    @Test(.enabled(if: Broker.tlsAvailable, "needs TALLY_TEST_ACTIVEMQ_TLS (scripts/test.sh sets it)"))
    func overTLSTheBrokerTakesOnlyACertificateItsCASigned() async throws {
        let rig = try APELQueueRig()
        let tls = Broker.tlsDirectory!
        // A certificate the broker's CA did not sign: the TLS handshake fails, nothing is sent.
        let (refused, refusedLog) = try rig.startSender(["--tls", "--ca-file", tls + "/ca.pem", "--attempts", "2", "--retry-cap", "0.2"],
                                                        broker: Broker.tlsAddress!)
        #expect(APELQueueRig.wait(refused, seconds: 60))
        #expect(refused.terminationStatus == 1, "\((try? String(contentsOf: refusedLog, encoding: .utf8)) ?? "")")
        #expect(try DirectoryQueue.elements(in: rig.queue).count == rig.originals.count)
        // The broker's own client certificate: TLS with a client certificate, as SSM's use_ssl,
        // and the same certificate signs the messages.
        let (sender, log) = try rig.startSender(["--tls", "--ca-file", tls + "/ca.pem", "--attempts", "20", "--retry-cap", "0.5"],
                                                broker: Broker.tlsAddress!, certificate: tls + "/client.pem", key: tls + "/client.key")
        #expect(APELQueueRig.wait(sender, seconds: 120))
        let said = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        #expect(sender.terminationStatus == 0, "\(said.suffix(1500))")
        #expect(said.contains("signed as /C=UK/O=Tally Test/CN=client.example.org"), "\(said)")
        #expect(try DirectoryQueue.elements(in: rig.queue).isEmpty)
        let consumed = try rig.consume(into: rig.directory.appendingPathComponent("received").path, caFile: tls + "/ca.pem")
        #expect(consumed.failures.isEmpty, "\(consumed.failures.prefix(3))")
        #expect(Set(consumed.ids) == Set(rig.originals.keys))
        #expect(Set(consumed.signers) == ["/C=UK/O=Tally Test/CN=client.example.org"])
    }
}
