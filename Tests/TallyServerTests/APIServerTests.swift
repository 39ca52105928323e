import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import Testing
import TallyApp
import TallyCollectors
import TallyCore
import TallyServer
import TallyStore
import Crypto
import TallyTestSupport

/// A real `tally serve` application on a loopback port, driven over HTTP by async-http-client.
final class RunningServer: Sendable {
    let directory: URL
    let store: any UsageStore
    /// What `--db` takes to open the same store.
    let location: String
    let port: Int
    let task: Task<Void, Error>

    /// swift-metrics can be bootstrapped once per process: every test server shares the registry.
    static let registry = APIServer.bootstrapMetrics()

    static func start(_ backend: Backend = .sqlite, maxBodyBytes: Int = 64 << 20,
                      metricsTop: Int = 20) async throws -> RunningServer {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tally-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let (store, location) = try await backend.makeStore(in: directory)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "tally.serve.test")
        logger.logLevel = .critical  // cancelling the server at the end of a test is not an error
        var server = APIServer(store: store, port: 0, maxBodyBytes: maxBodyBytes, registry: registry, logger: logger)
        server.metricsTopAccounts = metricsTop
        let app = try server.application { continuation.yield($0) }
        let task = Task { try await app.run() }
        var iterator = ports.makeAsyncIterator()
        let port = await iterator.next() ?? 0
        return RunningServer(directory: directory, store: store, location: location, port: port, task: task)
    }

    private init(directory: URL, store: any UsageStore, location: String, port: Int, task: Task<Void, Error>) {
        self.directory = directory; self.store = store; self.location = location; self.port = port; self.task = task
    }

    deinit {
        task.cancel()
        try? FileManager.default.removeItem(at: directory)
    }

    func token(scopes: [String], sites: [String] = []) async throws -> String {
        let secret = TokenSecret.generate()
        _ = try await store.createToken(name: "t-\(scopes.joined())-\(sites.joined())", hash: TokenSecret.hash(secret),
                                        scopes: scopes, sites: sites)
        return secret
    }

    struct Reply {
        var status: Int
        var body: String
        var json: Any? { try? JSONSerialization.jsonObject(with: Data(body.utf8)) }
        var object: [String: Any] { json as? [String: Any] ?? [:] }
    }

    func call(_ method: HTTPMethod, _ path: String, token: String? = nil, body: String? = nil,
              headers: [(String, String)] = []) async throws -> Reply {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 256 << 20)
        return Reply(status: Int(response.status.code), body: String(buffer: bytes))
    }
}

func recordJSON(_ id: Int, site: String = "siteA", user: String = "alice", start: Int64 = 1_719_828_000,
                wall: Int64 = 3600, cores: Int = 4) -> String {
    """
    {"site":"\(site)","cluster":"c1","job_id":"\(id)","user":"\(user)","account":"proj","partition":"cpu",\
    "submit":\(start - 60),"start":\(start),"end":\(start + wall),"wall_seconds":\(wall),"cores":\(cores),"state":"completed"}
    """
}

@Suite(.serialized) struct APIServerTests {
    @Test(arguments: Backend.all) func authenticationAndScopes(backend: Backend) async throws {
        let server = try await RunningServer.start(backend)
        #expect(try await server.call(.GET, "/healthz").status == 200)
        #expect(try await server.call(.GET, "/api/v1/status").status == 401)
        #expect(try await server.call(.GET, "/api/v1/status", token: "tly_nope").status == 401)
        let reader = try await server.token(scopes: ["read"])
        let status = try await server.call(.GET, "/api/v1/status", token: reader)
        #expect(status.status == 200)
        #expect(status.object["records"] as? Int == 0)
        // A read token cannot write; a write token only its own sites.
        let denied = try await server.call(.POST, "/api/v1/records", token: reader, body: "[\(recordJSON(1))]")
        #expect(denied.status == 403)
        let writerA = try await server.call(.POST, "/api/v1/records", token: try await server.token(scopes: ["write"], sites: ["siteA"]),
                                            body: "[\(recordJSON(1)),\(recordJSON(2, site: "siteB"))]")
        #expect(writerA.status == 403)
        #expect((writerA.object["error"] as? String)?.contains("may not write records of site 'siteB'") == true)
        // Nothing of a refused batch is kept.
        #expect(try await server.store.status().records == 0)
    }

    @Test(arguments: Backend.all) func batchesKeepGoodRecordsReportBadOnesAndResendsChangeNothing(backend: Backend) async throws {
        let server = try await RunningServer.start(backend)
        let writer = try await server.token(scopes: ["write"], sites: ["siteA"])
        let batch = "[\(recordJSON(1)),\(recordJSON(2)),{\"site\":\"siteA\",\"cluster\":\"c1\",\"state\":\"completed\"},\(recordJSON(3, start: 100, wall: -5))]"
        let first = try await server.call(.POST, "/api/v1/records", token: writer, body: batch)
        #expect(first.status == 207)
        #expect(first.object["inserted"] as? Int == 2)
        let errors = first.object["errors"] as? [[String: Any]] ?? []
        #expect(errors.map { $0["index"] as? Int } == [2, 3])
        #expect((errors.first?["reason"] as? String)?.contains("missing field 'job_id'") == true)
        #expect((errors.last?["reason"] as? String)?.contains("is before start") == true)

        let again = try await server.call(.POST, "/api/v1/records", token: writer, body: "[\(recordJSON(1)),\(recordJSON(2))]")
        #expect(again.status == 200)
        #expect(again.object["inserted"] as? Int == 0)
        #expect(again.object["unchanged"] as? Int == 2)
        #expect(try await server.store.status().records == 2)

        // NDJSON works the same; a broken line is that line's error.
        let ndjson = recordJSON(4) + "\n{not json\n" + recordJSON(5) + "\n"
        let lines = try await server.call(.POST, "/api/v1/records", token: writer, body: ndjson,
                                          headers: [("Content-Type", "application/x-ndjson")])
        #expect(lines.status == 207)
        #expect(lines.object["inserted"] as? Int == 2)

        let malformed = try await server.call(.POST, "/api/v1/records", token: writer, body: "[{\"site\": ")
        #expect(malformed.status == 400)
        #expect((malformed.object["error"] as? String)?.contains("not valid JSON") == true)

        // Prometheus text: requests by route and the records counted above.
        let metrics = try await server.call(.GET, "/api/v1/metrics", token: try await server.token(scopes: ["read"]))
        #expect(metrics.status == 200)
        #expect(metrics.body.contains("tally_records_inserted_total"))
        #expect(metrics.body.contains("tally_records_rejected_total"))
        #expect(metrics.body.contains("hb_requests"))
    }

    @Test func oversizedBodiesAre413() async throws {
        let server = try await RunningServer.start(maxBodyBytes: 10_000)
        let writer = try await server.token(scopes: ["write"], sites: ["siteA"])
        let big = "[" + (1...100).map { recordJSON($0) }.joined(separator: ",") + "]"
        let reply = try await server.call(.POST, "/api/v1/records", token: writer, body: big)
        #expect(reply.status == 413)
        #expect(try await server.store.status().records == 0)
    }

    @Test(arguments: Backend.all) func pagesReturnEveryRecordExactlyOnce(backend: Backend) async throws {
        let server = try await RunningServer.start(backend)
        let writer = try await server.token(scopes: ["write"], sites: ["siteA"])
        for chunk in stride(from: 0, to: 2500, by: 500) {
            let body = "[" + (chunk..<(chunk + 500)).map { recordJSON($0, start: 1_719_828_000 + Int64($0)) }.joined(separator: ",") + "]"
            #expect(try await server.call(.POST, "/api/v1/records", token: writer, body: body).status == 200)
        }
        let reader = try await server.token(scopes: ["read"])
        var seen: [String] = []
        var cursor: String?
        var pages = 0
        repeat {
            let reply = try await server.call(.GET, "/api/v1/records?limit=700" + (cursor.map { "&cursor=\($0)" } ?? ""), token: reader)
            #expect(reply.status == 200)
            seen += (reply.object["records"] as? [[String: Any]] ?? []).compactMap { $0["job_id"] as? String }
            cursor = reply.object["next_cursor"] as? String
            pages += 1
        } while cursor != nil && pages < 10
        #expect(pages == 4)
        #expect(seen.count == 2500)
        #expect(Set(seen).count == 2500)
        // Filters on recorded names.
        let none = try await server.call(.GET, "/api/v1/records?user=bob", token: reader)
        #expect((none.object["records"] as? [Any])?.isEmpty == true)
        #expect(try await server.call(.GET, "/api/v1/records?limit=0", token: reader).status == 400)
    }

    @Test(arguments: Backend.all) func summariesEqualTallyReport(backend: Backend) async throws {
        let server = try await RunningServer.start(backend)
        let path = Fixtures.path("slurm-sandbox/sacct-duplicates.txt")
        let pipeline = IngestPipeline(store: server.store)
        _ = try await pipeline.ingest(path: path, collector: SacctCollector(file: path, options: .init(timeZone: TimeZone(identifier: "UTC")!)))
        let reader = try await server.token(scopes: ["read"])
        let api = try await server.call(.GET, "/api/v1/summaries?period=total&by=account,user&unit=seconds", token: reader)
        #expect(api.status == 200)
        let cli = try TallyProcess.run(["report", "--db", server.location,
                                        "--period", "total", "--by", "account,user", "--unit", "seconds", "--format", "json"])
        #expect(cli.status == 0)
        #expect(api.body == cli.stdout)
        let csv = try await server.call(.GET, "/api/v1/summaries?period=day&by=gpu-model&where=state=completed", token: reader,
                                        headers: [("Accept", "text/csv")])
        let cliCSV = try TallyProcess.run(["report", "--db", server.location,
                                           "--period", "day", "--by", "gpu-model", "--where", "state=completed", "--format", "csv"])
        #expect(csv.body == cliCSV.stdout)
        #expect(try await server.call(.GET, "/api/v1/summaries?period=fortnight", token: reader).status == 400)

        // Answers are cached per query until the data changes: a new record shows at once.
        let query = "/api/v1/summaries?period=total&by=account&metrics=jobs"
        let before = try await server.call(.GET, query, token: reader)
        #expect(try await server.call(.GET, query, token: reader).body == before.body)
        #expect(!before.body.contains("newacct"))
        let admin = try await server.token(scopes: ["admin"])
        let posted = try await server.call(.POST, "/api/v1/records", token: admin,
                                           body: "[\(recordJSON(9, site: "local", user: "zed").replacingOccurrences(of: "\"proj\"", with: "\"newacct\""))]")
        #expect(posted.status == 200)
        #expect(try await server.call(.GET, query, token: reader).body.contains("newacct"))
    }
}

@Suite struct OpenAPITests {
    @Test func theDocumentListsExactlyTheRoutesTheServerAnswers() async throws {
        let server = try await RunningServer.start()
        let reply = try await server.call(.GET, "/openapi.json")
        #expect(reply.status == 200)
        let document = try #require(reply.json as? [String: Any])
        #expect(document["openapi"] as? String == "3.1.0")
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var documented = Set<String>()
        for (path, operations) in paths {
            for method in operations.keys { documented.insert("\(method.uppercased()) \(path)") }
        }
        let registered = Set(APIServer(store: server.store).registeredRoutes().map { "\($0.method) \($0.path)" })
        #expect(registered == documented)
        // And each documented route is really answered (not 404) by the running server.
        let admin = try await server.token(scopes: ["admin"])
        for route in documented {
            let parts = route.split(separator: " ")
            let method: HTTPMethod = parts[0] == "POST" ? .POST : parts[0] == "PUT" ? .PUT : .GET
            let path = String(parts[1]).replacingOccurrences(of: "{record_id}", with: "none").replacingOccurrences(of: "{name}", with: "none")
            let answer = try await server.call(method, path, token: admin, body: method == .GET ? nil : "[]")
            // A 404 from a handler names what is missing; the router's own has no body.
            #expect(answer.status != 404 || answer.body.contains("no record") || answer.body.contains("no allocation"), "\(route)")
        }
    }
}

func auditorJSON(_ id: String, site: String = "siteA", cores: Int = 4, start: String = "2024-03-01T00:00:00Z",
                 stop: String? = "2024-03-01T02:00:00Z") -> String {
    """
    {"record_id":"\(id)","meta":{"site_id":["\(site)"],"user_id":["ann"],"group_id":["chem"]},\
    "components":[{"name":"Cores","amount":\(cores),"scores":[{"name":"HEPscore23","value":11.5}]}],\
    "start_time":"\(start)","stop_time":\(stop.map { "\"\($0)\"" } ?? "null")}
    """
}

/// The AUDITOR-compatible routes answer failures with proper status codes, never a 200.
@Suite(.serialized) struct AuditorRouteTests {
    @Test(arguments: Backend.all) func statusCodesAndResends(backend: Backend) async throws {
        let server = try await RunningServer.start(backend)
        let writer = try await server.token(scopes: ["read", "write"], sites: ["siteA"])
        #expect(try await server.call(.GET, "/health_check").status == 200)
        // No token and no --auditor-token binding: 401.
        #expect(try await server.call(.POST, "/record", body: auditorJSON("a-1")).status == 401)
        #expect(try await server.call(.POST, "/record", token: writer, body: auditorJSON("a-1")).status == 200)
        // An identical resend succeeds and changes nothing; other content under the id is a 409.
        #expect(try await server.call(.POST, "/record", token: writer, body: auditorJSON("a-1")).status == 200)
        let conflict = try await server.call(.POST, "/record", token: writer, body: auditorJSON("a-1", cores: 8))
        #expect(conflict.status == 409)
        #expect(conflict.body == "RECORD_EXISTS")
        #expect(try await server.call(.POST, "/record", token: writer, body: "{not json").status == 400)
        let stopBeforeStart = auditorJSON("a-2", start: "2024-03-02T00:00:00Z", stop: "2024-03-01T00:00:00Z")
        #expect(try await server.call(.POST, "/record", token: writer, body: stopBeforeStart).status == 400)
        #expect(try await server.call(.POST, "/record", token: writer, body: auditorJSON("b-1", site: "siteB")).status == 403)
        // Bulk: a result per record; mixed outcomes are a 207.
        let bulk = try await server.call(.POST, "/records", token: writer,
                                         body: "[\(auditorJSON("a-3")),\(auditorJSON("a-1", cores: 2)),\(auditorJSON("a-4", stop: nil))]")
        #expect(bulk.status == 207)
        let results = bulk.object["results"] as? [[String: Any]] ?? []
        #expect(results.map { $0["status"] as? String } == ["inserted", "conflict", "inserted"])
        // PUT sets the stop time of a known record; an unknown one is a 404.
        #expect(try await server.call(.PUT, "/record", token: writer,
                                      body: #"{"record_id":"a-4","stop_time":"2024-03-01T05:00:00Z"}"#).status == 200)
        #expect(try await server.call(.PUT, "/record", token: writer,
                                      body: #"{"record_id":"zzz","stop_time":"2024-03-01T05:00:00Z"}"#).status == 404)
        let one = try await server.call(.GET, "/record/a-4", token: writer)
        #expect(one.object["runtime"] as? Int == 5 * 3600)
        #expect(try await server.call(.GET, "/record/none", token: writer).status == 404)
        #expect(try await server.call(.GET, "/records?colour[gt]=3", token: writer).status == 400)
        #expect(try await server.call(.GET, "/records?runtime[gt]=1&runtime[gte]=2", token: writer).status == 400)
        let long = try await server.call(.GET, "/records?runtime[gte]=18000", token: writer)
        #expect((long.json as? [[String: Any]])?.map { $0["record_id"] as? String } == ["a-4"])
        // The usage is in Tally's own records, with the AUDITOR components mapped.
        let records = try await server.call(.GET, "/api/v1/records?site=siteA", token: writer)
        let rows = records.object["records"] as? [[String: Any]] ?? []
        #expect(rows.count == 3)
        #expect(rows.first { $0["job_id"] as? String == "a-4" }?["wall_seconds"] as? Int == 5 * 3600)
        #expect(rows.allSatisfy { $0["cores"] as? Int == 4 && $0["user"] as? String == "ann" })
    }
}

/// Shipping's additions to `POST /api/v1/records`: batch ids and signatures.
@Suite(.serialized) struct ShippedBatchTests {
    @Test(arguments: Backend.all) func batchIDsAndSignatures(backend: Backend) async throws {
        let server = try await RunningServer.start(backend)
        let writer = try await server.token(scopes: ["write", "read"], sites: ["siteA"])
        let body = "[\(recordJSON(1)),\(recordJSON(2))]"
        let hash = BatchSigning.contentHash(Data(body.utf8))
        // Unsigned, with a batch id: stored once; the resend answers the first outcome.
        let first = try await server.call(.POST, "/api/v1/records", token: writer, body: body,
                                          headers: [(BatchSigning.batchIDHeader, "b-1")])
        #expect(first.status == 200)
        #expect(first.object["inserted"] as? Int == 2)
        let again = try await server.call(.POST, "/api/v1/records", token: writer, body: body,
                                          headers: [(BatchSigning.batchIDHeader, "b-1")])
        #expect(again.status == 200)
        #expect(again.body == first.body)
        let other = try await server.call(.POST, "/api/v1/records", token: writer, body: "[\(recordJSON(3))]",
                                          headers: [(BatchSigning.batchIDHeader, "b-1")])
        #expect(other.status == 409)

        // Once siteA registers a key, its batches must be signed, with that key, over this body.
        let (privateText, publicKey) = BatchSigning.generateKey()
        try await server.store.registerSiteKey(site: "siteA", publicKey: publicKey)
        let key = try Curve25519.Signing.PrivateKey(rawRepresentation: Data(base64Encoded: privateText)!)
        let body2 = "[\(recordJSON(4))]"
        let hash2 = BatchSigning.contentHash(Data(body2.utf8))
        #expect(try await server.call(.POST, "/api/v1/records", token: writer, body: body2).status == 401)
        func signed(_ id: String, _ text: String, signedHash: String, with signingKey: Curve25519.Signing.PrivateKey) throws
            -> [(String, String)] {
            [(BatchSigning.batchIDHeader, id), (BatchSigning.siteHeader, "siteA"), (BatchSigning.hashHeader, signedHash),
             (BatchSigning.signatureHeader, try BatchSigning.sign(batchID: id, site: "siteA", hash: signedHash, key: signingKey))]
        }
        // Signed with another key: 401. Body changed after signing: 400.
        let stranger = Curve25519.Signing.PrivateKey()
        #expect(try await server.call(.POST, "/api/v1/records", token: writer, body: body2,
                                      headers: signed("b-2", body2, signedHash: hash2, with: stranger)).status == 401)
        #expect(try await server.call(.POST, "/api/v1/records", token: writer, body: body2,
                                      headers: signed("b-2", body2, signedHash: hash, with: key)).status == 400)
        let good = try await server.call(.POST, "/api/v1/records", token: writer, body: body2,
                                         headers: signed("b-2", body2, signedHash: hash2, with: key))
        #expect(good.status == 200)
        #expect(good.object["inserted"] as? Int == 1)
        #expect(try await server.store.status().records == 3)
    }
}
