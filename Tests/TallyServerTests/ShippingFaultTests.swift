import Foundation
import Testing
import TallyApp
import TallyCore
import TallyShip
import TallyStore
import TallyTestSupport

/// A site and a central server as real processes on loopback, and the faults shipping must
/// survive: a server killed mid-shipment again and again, a server that never answers, an agent
/// killed mid-batch, a batch changed in the outbox.
final class ShippingRig: @unchecked Sendable {
    let directory: URL
    let port: Int
    var server: Process?
    let siteRecords: Int

    var site: String { directory.appendingPathComponent("site.db").path }
    var central: String { directory.appendingPathComponent("central.db").path }
    var outbox: String { directory.appendingPathComponent("outbox").path }
    var tokenFile: String { directory.appendingPathComponent("s1.token").path }
    var keyFile: String { directory.appendingPathComponent("s1.key").path }

    init(jobs: Int) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("tally-ship-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        port = try Self.freePort()
        var generator = SacctGenerator(seed: 5, start: 1_704_067_200, days: 20, users: 5, accounts: 3, expectedJobs: jobs)
        var bytes = Array((generator.header + "\n").utf8)
        for _ in 0..<jobs { generator.appendJob(to: &bytes) }
        let log = directory.appendingPathComponent("sacct.txt")
        try Data(bytes).write(to: log)
        let ingested = try TallyProcess.run(["ingest", "slurm", "--quiet", "--db", directory.appendingPathComponent("site.db").path,
                                             "--site", "s1", "--timezone", "UTC", log.path])
        precondition(ingested.status == 0, ingested.stderr)
        let token = try TallyProcess.run(["token", "create", "--db", directory.appendingPathComponent("central.db").path,
                                          "--name", "s1", "--scope", "write", "--site", "s1"])
        try Data(token.stdout.utf8).write(to: directory.appendingPathComponent("s1.token"))
        let key = try TallyProcess.run(["keys", "generate", "--out", directory.appendingPathComponent("s1.key").path])
        let publicKey = key.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let registered = try TallyProcess.run(["site", "register", "--db", directory.appendingPathComponent("central.db").path,
                                               "--site", "s1", "--public-key", publicKey])
        precondition(registered.status == 0, registered.stderr)
        siteRecords = jobs
    }

    deinit {
        if let server, server.isRunning { kill(server.processIdentifier, SIGKILL); server.waitUntilExit() }
        try? FileManager.default.removeItem(at: directory)
    }

    static func freePort() throws -> Int { try LoopbackPort.free() }

    /// Starts `tally serve` on the rig's port and waits until it listens. Another test's client
    /// socket may hold the port for a moment between a kill and a restart: try again then.
    func startServer() throws {
        for _ in 0..<50 {
            let (process, said) = try TallyProcess.startServer(["serve", "--db", central, "--port", String(port)])
            server = process
            if process.isRunning, said.hasPrefix("http") { return }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            usleep(100_000)
        }
        throw CocoaError(.featureUnsupported, userInfo: [NSLocalizedDescriptionKey: "tally serve would not start on port \(port)"])
    }

    func killServer() {
        guard let server, server.isRunning else { return }
        kill(server.processIdentifier, SIGKILL)
        server.waitUntilExit()
    }

    /// The agent, started; its standard error goes to a file.
    func startAgent(_ extra: [String] = [], url: String? = nil) throws -> (Process, URL) {
        let log = directory.appendingPathComponent("agent-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let process = Process()
        process.executableURL = TallyProcess.executable
        process.arguments = ["ship", "--db", site, "--to", url ?? "http://127.0.0.1:\(port)", "--token-file", tokenFile,
                             "--site", "s1", "--key", keyFile, "--outbox", outbox] + extra
        let handle = try FileHandle(forWritingTo: log)
        process.standardError = handle
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return (process, log)
    }

    static func wait(_ process: Process, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        return !process.isRunning
    }

    /// Natural keys the central database holds, and how many rows.
    func centralKeys() async throws -> (keys: Set<String>, rows: Int) {
        let store = try SQLiteStore(path: central)
        let records = try await store.jobs(JobQuery())
        return (Set(records.map(\.naturalKey)), records.count)
    }

    func siteKeys() async throws -> Set<String> {
        Set(try await SQLiteStore(path: site).jobs(JobQuery()).map(\.naturalKey))
    }
}

@Suite(.serialized) struct ShippingFaultTests {
    @Test func serverKilledTwentyTimesMidShipmentEveryRecordArrivesOnce() async throws {
        let rig = try ShippingRig(jobs: 3000)
        try rig.startServer()
        let (agent, log) = try rig.startAgent(["--batch-size", "10", "--attempts", "100000", "--retry-cap", "0.2",
                                               "--connect-timeout", "1", "--request-timeout", "3"])
        func acknowledged() -> Int {
            ((try? String(contentsOf: log, encoding: .utf8)) ?? "").components(separatedBy: "batch acknowledged").count - 1
        }
        // Each kill comes once the agent has made progress since the last restart, at a random
        // moment after that: the kills land mid-shipment however fast or slow the machine is.
        var kills = 0
        for _ in 0..<20 {
            let before = acknowledged()
            let deadline = Date().addingTimeInterval(30)
            while agent.isRunning, acknowledged() == before, Date() < deadline { usleep(5_000) }
            usleep(UInt32.random(in: 0...40_000))
            guard agent.isRunning else { break }
            rig.killServer()
            kills += 1
            usleep(UInt32.random(in: 0...80_000))
            try rig.startServer()
        }
        #expect(ShippingRig.wait(agent, seconds: 120))
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        #expect(agent.terminationStatus == 0, "\(text.suffix(2000))")
        #expect(kills == 20, "the agent finished after \(kills) kills")
        #expect(text.contains("retrying"))
        let central = try await rig.centralKeys()
        #expect(central.rows == rig.siteRecords, "\(central.rows) rows centrally for \(rig.siteRecords) at the site")
        #expect(central.keys == (try await rig.siteKeys()))
        #expect(try Outbox(directory: rig.outbox).batches().isEmpty)
    }

    @Test func aServerThatNeverAnswersTimesOutAndIsRetried() async throws {
        let rig = try ShippingRig(jobs: 50)
        // Accepts connections and never answers.
        let silent = Process()
        silent.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        silent.arguments = ["python3", "-c", """
            import socket, time
            s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", \(rig.port))); s.listen(64)
            held = []
            while True:
                c, _ = s.accept(); held.append(c)
            """]
        try silent.run()
        // SIGKILL: a child of the test process may inherit a mask that blocks SIGTERM.
        defer { kill(silent.processIdentifier, SIGKILL); silent.waitUntilExit() }
        usleep(300_000)
        let started = Date()
        let (agent, log) = try rig.startAgent(["--attempts", "3", "--retry-cap", "0.3", "--connect-timeout", "1",
                                               "--request-timeout", "1"])
        #expect(ShippingRig.wait(agent, seconds: 20))
        let elapsed = Date().timeIntervalSince(started)
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        #expect(agent.terminationStatus == 1)
        // Three attempts of at most a second each, and two short waits: well inside 10 s.
        #expect(elapsed < 10, "took \(elapsed) s")
        #expect(text.components(separatedBy: "retrying").count - 1 == 2, "\(text)")
        #expect(text.contains("timed out"), "\(text)")
        #expect(text.contains("stays in the outbox"), "\(text)")
        #expect(try Outbox(directory: rig.outbox).batches().count == 1)
    }

    @Test func agentKilledMidBatchResumesWithNothingLostOrDoubled() async throws {
        let rig = try ShippingRig(jobs: 2000)
        try rig.startServer()
        for _ in 0..<5 {
            let (agent, _) = try rig.startAgent(["--batch-size", "7"])
            usleep(UInt32.random(in: 30_000...250_000))
            if agent.isRunning { kill(agent.processIdentifier, SIGKILL) }
            agent.waitUntilExit()
        }
        let (agent, log) = try rig.startAgent(["--batch-size", "7"])
        #expect(ShippingRig.wait(agent, seconds: 120))
        #expect(agent.terminationStatus == 0, "\((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
        let central = try await rig.centralKeys()
        #expect(central.rows == rig.siteRecords)
        #expect(central.keys == (try await rig.siteKeys()))
    }

    @Test func aBatchChangedInTheOutboxIsRejectedAndReported() async throws {
        let rig = try ShippingRig(jobs: 300)
        try rig.startServer()
        let (queued, _) = try rig.startAgent(["--batch-size", "100", "--queue-only"])
        #expect(ShippingRig.wait(queued, seconds: 30))
        let batches = try Outbox(directory: rig.outbox).batches()
        #expect(batches.count == 3)
        // Someone edits a record in the second batch: more cores than the job had.
        var text = try String(contentsOfFile: batches[1].path, encoding: .utf8)
        let range = try #require(text.range(of: "\"cores\":"))
        text.replaceSubrange(range, with: "\"cores\":9")
        try Data(text.utf8).write(to: URL(fileURLWithPath: batches[1].path))

        let (agent, log) = try rig.startAgent([])
        #expect(ShippingRig.wait(agent, seconds: 30))
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        #expect(agent.terminationStatus == 1)
        #expect(output.contains("rejected batch \(batches[1].id)"), "\(output)")
        #expect(output.contains("does not match"), "\(output)")
        #expect(try Outbox(directory: rig.outbox).rejectedCount() == 1)
        #expect(try Outbox(directory: rig.outbox).batches().isEmpty)
        #expect(try await rig.centralKeys().rows == rig.siteRecords - batches[1].records)
    }
}
