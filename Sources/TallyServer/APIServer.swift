import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOSSL
import Logging
import Metrics
import Prometheus
import TallyCore
import TallyStore

/// `tally serve`: records in, records and summaries out, over HTTP with scoped bearer tokens.
public struct APIServer: Sendable {
    public let store: any UsageStore
    public let host: String
    public let port: Int
    /// Larger `POST` bodies are refused with 413.
    public let maxBodyBytes: Int
    /// Where `/metrics` reads from: the registry swift-metrics was bootstrapped with.
    public let registry: PrometheusCollectorRegistry?
    /// PEM certificate chain and private key: serve HTTPS instead of HTTP.
    public var tls: (certificate: String, key: String)?
    /// The token AUDITOR clients (which send none) act as on the AUDITOR-compatible routes.
    public var auditorToken: String?
    /// The dashboard without a token (read-only figures for anyone who can reach the server).
    public var publicDashboard = false
    /// Accounts per cluster in the usage metrics of `/api/v1/metrics`; the rest are summed as "other".
    public var metricsTopAccounts = 20
    public let logger: Logger
    /// Signs dashboard session cookies (a key per server process: a restart signs everyone out).
    let sessions = DashboardSessions()

    public init(store: any UsageStore, host: String = "127.0.0.1", port: Int = 8080, maxBodyBytes: Int = 64 << 20,
                registry: PrometheusCollectorRegistry? = nil, logger: Logger = Logger(label: "tally.serve")) {
        self.store = store; self.host = host; self.port = port; self.maxBodyBytes = maxBodyBytes
        self.registry = registry; self.logger = logger
    }

    /// Sends swift-metrics (requests, durations, records ingested and rejected) to a Prometheus
    /// registry. Once per process.
    public static func bootstrapMetrics() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }

    /// The application; `onRunning` gets the bound port (useful with port 0).
    public func application(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) throws -> some ApplicationProtocol {
        var server = HTTPServerBuilder.http1()
        if let tls {
            let chain = try NIOSSLCertificate.fromPEMFile(tls.certificate).map { NIOSSLCertificateSource.certificate($0) }
            let key = try NIOSSLPrivateKey(file: tls.key, format: .pem)
            server = try .tls(.http1(), tlsConfiguration: .makeServerConfiguration(certificateChain: chain,
                                                                                    privateKey: .privateKey(key)))
        }
        return Application(router: router(), server: server,
                           configuration: .init(address: .hostname(host, port: port), serverName: "tally"),
                           onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) }, logger: logger)
    }

    func router() -> Router<TallyRequestContext> { routes().router }

    /// The router, and every method and path it answers (the OpenAPI document must list them all).
    func routes() -> (router: Router<TallyRequestContext>, registered: [(method: String, path: String)]) {
        let router = Router(context: TallyRequestContext.self)
        // Request counts and durations by route (hb_requests, hb_request_duration…).
        router.add(middleware: MetricsMiddleware())
        let api = router.group("api/v1").add(middleware: AuthMiddleware(store: store))
        let auditor = router.group("").add(middleware: AuditorAuthMiddleware(store: store, boundToken: auditorToken))
        var registered: [(method: String, path: String)] = []
        func on(_ method: HTTPRequest.Method, _ path: String, authenticated: Bool = true,
                _ handler: @escaping @Sendable (Request, TallyRequestContext) async throws -> Response) {
            if authenticated {
                api.on(RouterPath(path), method: method) { try await handler($0, $1) }
                registered.append((method.rawValue, "/api/v1/" + path))
            } else {
                router.on(RouterPath(path), method: method) { try await handler($0, $1) }
                registered.append((method.rawValue, "/" + path))
            }
        }
        /// AUDITOR's routes, at the root as AUDITOR serves them.
        func onAuditor(_ method: HTTPRequest.Method, _ path: String,
                       _ handler: @escaping @Sendable (Request, TallyRequestContext) async throws -> Response) {
            auditor.on(RouterPath(path), method: method) { try await handler($0, $1) }
            registered.append((method.rawValue, "/" + path))
        }
        let store = self.store
        let limit = maxBodyBytes
        let cache = SummaryCache()
        on(.get, "healthz", authenticated: false) { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "ok\n")))
        }
        on(.get, "openapi.json", authenticated: false) { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"],
                     body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
        }
        let registry = self.registry
        let usageMetrics = UsageMetrics(store: store, top: metricsTopAccounts)
        let metricsCache = ComputationCache<UsageMetrics.Snapshot>(capacity: 1)
        on(.get, "metrics") { _, context in
            _ = try context.requireAllAccounts(.read)
            guard let registry else { throw APIError(.notFound, "metrics are not enabled on this server") }
            var body = ByteBuffer(bytes: registry.emitToBuffer())
            // Usage, sources and coverage are recomputed when the data changes; ages are counted
            // from them at each scrape; allocations' burn rates, which move with the clock, at
            // most once a minute.
            let now = Int64(Date().timeIntervalSince1970)
            let generation = try await store.summaryGeneration()
            let snapshot = try await metricsCache.value(for: "metrics", generation: generation) {
                try await usageMetrics.snapshot()
            }
            body.writeBytes(snapshot.text)
            body.writeBytes(usageMetrics.ages(snapshot, now: now))
            var allocations = try await cache.value(for: "metrics-allocations", generation: generation + "@" + String(now / 60)) {
                ByteBuffer(bytes: try await usageMetrics.allocations(now: now))
            }
            body.writeBuffer(&allocations)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                            body: .init(byteBuffer: body))
        }
        on(.get, "status") { _, context in
            _ = try context.requireAllAccounts(.read)
            return try json(StatusBody(try await store.status()))
        }
        on(.get, "summaries") { request, context in
            let principal = try context.require(.read)
            var asked = try SummaryRequest(request.uri.queryParameters, site: await store.currentConfiguration().site)
            // A token limited to some accounts sees only their figures, whatever it asks.
            asked.query.filters = principal.limit(asked.query.filters)
            let summary = asked
            let wantsCSV = request.headers[.accept]?.contains("text/csv") == true
            // Relative windows ("to" defaulting to now) are not cached: their answer moves with time.
            let key = (wantsCSV ? "csv?" : "json?") + (request.uri.query ?? "") + principal.cacheScope
            // Kept as a buffer: every hit shares its bytes, nothing is copied per request.
            let render: @Sendable () async throws -> ByteBuffer = {
                let report = try await store.report(summary.query)
                return ByteBuffer(string: report.table(unit: summary.unit, metrics: summary.metrics).render(wantsCSV ? .csv : .json))
            }
            let body: ByteBuffer
            if summary.isStable {
                body = try await cache.value(for: key, generation: try await store.summaryGeneration(), compute: render)
            } else {
                body = try await render()
            }
            let headers: HTTPFields = [.contentType: wantsCSV ? "text/csv; charset=utf-8" : "application/json"]
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
        }
        on(.get, "records") { request, context in
            let principal = try context.require(.read)
            var page = try RecordsRequest(request.uri.queryParameters)
            page.query.filters = principal.limit(page.query.filters)
            let rows = try await store.jobPage(page.query)
            let more = rows.count > page.limit
            let shown = rows.prefix(page.limit)
            let body = RecordsBody(records: shown.map { APIRecord($0.record) },
                                   nextCursor: more ? shown.last.map { String($0.id) } : nil)
            return try json(body)
        }
        on(.post, "records") { request, context in
            let principal = try context.require(.write)
            let body: ByteBuffer
            do {
                body = try await request.body.collect(upTo: limit)
            } catch {
                throw APIError(.contentTooLarge, "the body exceeds \(limit) bytes: send smaller batches")
            }
            return try await ShippedBatchIntake(store: store).accept(body, headers: request.headers, from: principal)
        }
        addAuditorRoutes(onAuditor, on)
        addPolicyRoutes(on)
        let pages = DashboardPages(store: store)
        let sessions = self.sessions
        let dashboard = router.group("").add(middleware: DashboardAuthMiddleware(store: store, isPublic: publicDashboard,
                                                                                  sessions: sessions))
        // Pages are cached per URL (and account limit) until the data or configuration changes.
        let pageCache = SummaryCache()
        typealias PageHandler = @Sendable (Request, Principal) async throws -> ByteBuffer
        let handlers: [(String, PageHandler)] = [
            ("/", pages.overview), ("explore", pages.explorer), ("explore.csv", pages.explorerCSV),
            ("explore.svg", pages.explorerSVG), ("gpu", pages.gpu),
            ("quality", pages.quality), ("allocations", pages.allocations), ("allocation", pages.allocation),
        ]
        for (path, handler) in handlers {
            let isCSV = path.hasSuffix(".csv") || path.hasSuffix(".svg")
            let type = path.hasSuffix(".svg") ? "image/svg+xml" : isCSV ? "text/csv; charset=utf-8" : "text/html; charset=utf-8"
            dashboard.get(RouterPath(path)) { request, context in
                let principal = try context.require(.read)
                do {
                    let body: ByteBuffer
                    // Burn-down projections move with the clock: cached for the minute only.
                    let clock = path.hasPrefix("allocation") ? "#\(Int64(Date().timeIntervalSince1970) / 60)" : ""
                    if DashboardPages.isStable(request) {
                        body = try await pageCache.value(for: path + "?" + (request.uri.query ?? "") + principal.cacheScope + clock,
                                                         generation: try await store.summaryGeneration()) {
                            try await handler(request, principal)
                        }
                    } else {
                        body = try await handler(request, principal)
                    }
                    var headers: HTTPFields = [.contentType: type]
                    if isCSV { headers[.contentDisposition] = "attachment; filename=\"tally.\(path.suffix(3))\"" }
                    return Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
                } catch let error as APIError where !isCSV {
                    // A person reads this: an HTML page that says what to fix, not JSON.
                    return DashboardPages.errorPage(error.status, message: error.message, request: request)
                }
            }
            registered.append(("GET", path == "/" ? "/" : "/" + path))
        }
        let secure = tls != nil
        on(.get, "login", authenticated: false) { request, _ in
            DashboardLogin.form(next: request.uri.queryParameters.get("next"))
        }
        on(.post, "login", authenticated: false) { request, _ in
            try await DashboardLogin.signIn(request, store: store, sessions: sessions, secure: secure)
        }
        on(.get, "logout", authenticated: false) { _, _ in DashboardLogin.signOut(secure: secure) }
        on(.post, "logout", authenticated: false) { _, _ in DashboardLogin.signOut(secure: secure) }
        // Any other page: a page that says so (API paths answer JSON 404s as before).
        dashboard.get("**") { request, _ in
            DashboardPages.errorPage(.notFound, message: "There is no page \(request.uri.path).", request: request)
        }
        return (router, registered)
    }

    private func addAuditorRoutes(
        _ onAuditor: (HTTPRequest.Method, String, @escaping @Sendable (Request, TallyRequestContext) async throws -> Response) -> Void,
        _ on: (HTTPRequest.Method, String, Bool, @escaping @Sendable (Request, TallyRequestContext) async throws -> Response) -> Void
    ) {
        let store = self.store
        let limit = maxBodyBytes
        // 200 while the database answers, else 500 (as AUDITOR's).
        on(.get, "health_check", false) { _, _ in
            do {
                _ = try await store.summaryGeneration()
                return Response(status: .ok)
            } catch {
                throw APIError(.internalServerError, "the database does not answer: \(error)")
            }
        }
        onAuditor(.post, "record") { request, context in
            let principal = try context.require(.write)
            let record = try await AuditorRoutes.decodeOne(AuditorRecord.self, request, limit: limit)
            let results = try await AuditorIntake(store: store).add([.success(record)], from: principal)
            return try AuditorRoutes.single(results[0])
        }
        onAuditor(.put, "record") { request, context in
            let principal = try context.require(.write)
            let update = try await AuditorRoutes.decodeOne(AuditorRecordUpdate.self, request, limit: limit)
            guard let stored = try await store.auditorDocument(recordID: update.recordID) else {
                throw APIError(.notFound, "no record \(update.recordID)")
            }
            var record = try AuditorRecord.decode(stored)
            record.stopTime = update.stopTime
            let results = try await AuditorIntake(store: store).add([.success(record)], from: principal, replacing: true)
            return try AuditorRoutes.single(results[0])
        }
        onAuditor(.get, "record/{record_id}") { _, context in
            _ = try context.requireAllAccounts(.read)
            let id = context.parameters.get("record_id") ?? ""
            guard let stored = try await store.auditorDocument(recordID: id) else {
                throw APIError(.notFound, "no record \(id)")
            }
            return try json(AuditorRecordAnswer(record: try AuditorRecord.decode(stored)))
        }
        onAuditor(.post, "records") { request, context in
            let principal = try context.require(.write)
            let body = try await AuditorRoutes.collect(request, limit: limit)
            let elements: [Decoded<AuditorRecord>]
            do {
                elements = try JSONDecoder().decode([Decoded<AuditorRecord>].self, from: Data(buffer: body))
            } catch {
                throw APIError(.badRequest, Decoded<AuditorRecord>.reason(error))
            }
            let results = try await AuditorIntake(store: store).add(elements.map(\.result), from: principal)
            return try AuditorRoutes.bulk(results)
        }
        onAuditor(.get, "records") { request, context in
            _ = try context.requireAllAccounts(.read)
            return try await AuditorRoutes.records(request, store: store)
        }
    }

    /// Every method and path this server answers.
    public func registeredRoutes() -> [(method: String, path: String)] { routes().registered }
}

func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
    Response(status: status, headers: [.contentType: "application/json"],
             body: .init(byteBuffer: ByteBuffer(bytes: try jsonBytes(value))))
}

/// Answers' JSON: sorted keys, so equal values give equal bytes.
func jsonBytes(_ value: some Encodable) throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    // Fair Tree's level fair-share of a user who used nothing is infinite, as sshare prints it.
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return try encoder.encode(value)
}

struct StatusBody: Encodable {
    var records: Int64
    var sources: Int
    var rejectedLines: Int64
    var flaggedRecords: Int64
    var firstUsage: Int64?
    var lastUsage: Int64?
    var recordsByState: [String: Int64]

    enum CodingKeys: String, CodingKey {
        case records, sources, rejectedLines = "rejected_lines", flaggedRecords = "flagged_records", firstUsage = "first_usage", lastUsage = "last_usage"
        case recordsByState = "records_by_state"
    }

    init(_ status: StoreStatus) {
        records = status.records
        sources = status.sources.count
        rejectedLines = status.rejectedLines
        flaggedRecords = status.flaggedLines
        firstUsage = status.coverage?.lowerBound
        lastUsage = status.coverage?.upperBound
        recordsByState = Dictionary(uniqueKeysWithValues: status.recordsByState.map { ($0.state, $0.count) })
    }
}

struct RecordsBody: Encodable {
    var records: [APIRecord]
    var nextCursor: String?

    enum CodingKeys: String, CodingKey { case records, nextCursor = "next_cursor" }

    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(records, forKey: .records)
        // Always present, null on the last page.
        try container.encode(nextCursor, forKey: .nextCursor)
    }
}
