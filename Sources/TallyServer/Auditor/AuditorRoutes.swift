import Foundation
import Hummingbird
import Metrics
import TallyCore
import TallyStore

/// AUDITOR's clients (python-auditor, the Rust client, its collectors) authenticate with client
/// certificates, which Tally does not check. Their requests carry no bearer token: they act as the
/// token named by `tally serve --auditor-token NAME` (with its scopes and sites). A request that
/// does carry a bearer token acts as that token.
struct AuditorAuthMiddleware: RouterMiddleware {
    typealias Context = TallyRequestContext
    let store: any UsageStore
    let boundToken: String?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.headers[.authorization] != nil || boundToken == nil {
            return try await AuthMiddleware(store: store).handle(request, context: context, next: next)
        }
        guard let token = try await store.tokens().first(where: { $0.name == boundToken }) else {
            throw APIError(.unauthorized, "the token --auditor-token names (\(boundToken ?? "")) no longer exists")
        }
        var context = context
        context.principal = Principal(name: token.name, scopes: Set(token.scopes.compactMap(Scope.init(rawValue:))),
                                      sites: Set(token.sites))
        return try await next(request, context)
    }
}

/// Adds AUDITOR records: each is stored verbatim and as the Tally record it maps to. A resend of
/// the same record changes nothing and succeeds; a different record under a known id is a
/// conflict (AUDITOR's `RECORD_EXISTS`), answered 409, never 200.
struct AuditorIntake {
    let store: any UsageStore

    struct Result: Encodable {
        enum Status: String, Encodable { case inserted, updated, unchanged, conflict, invalid, forbidden }
        var index: Int
        var recordID: String?
        var status: Status
        var reason: String?

        enum CodingKeys: String, CodingKey { case index, recordID = "record_id", status, reason }
    }

    /// `replacing`: a PUT's new version of a known record (else a known id with other content is a conflict).
    func add(_ records: [Swift.Result<AuditorRecord, any Error>], from principal: Principal,
             replacing: Bool = false) async throws -> [Result] {
        var results: [Result] = []
        var pending: [(index: Int, record: AuditorRecord, wire: APIRecord)] = []
        for (index, element) in records.enumerated() {
            let record: AuditorRecord
            switch element {
            case let .failure(error):
                results.append(Result(index: index, status: .invalid, reason: Decoded<AuditorRecord>.reason(error)))
                continue
            case let .success(decoded):
                record = decoded
            }
            do {
                try record.validate()
                let wire = try record.apiRecord()
                guard principal.mayWrite(site: wire.site) else {
                    results.append(Result(index: index, recordID: record.recordID, status: .forbidden,
                                          reason: "token '\(principal.name)' may not write records of site '\(wire.site)'"))
                    continue
                }
                if let stored = try await store.auditorDocument(recordID: record.recordID) {
                    if stored.json == record.canonicalJSON {
                        results.append(Result(index: index, recordID: record.recordID, status: .unchanged))
                        continue
                    }
                    if !replacing {
                        results.append(Result(index: index, recordID: record.recordID, status: .conflict,
                                              reason: "RECORD_EXISTS: record \(record.recordID) exists with other content"))
                        continue
                    }
                }
                pending.append((index, record, wire))
            } catch let error as AuditorError {
                results.append(Result(index: index, recordID: record.recordID, status: .invalid, reason: error.description))
            }
        }
        if !pending.isEmpty {
            let batch = RecordBatch(elements: pending.map { .success($0.wire) })
            let (outcome, _) = try await RecordIntake(store: store).store(batch, from: principal)
            let failed = Dictionary(outcome.errors.map { ($0.index, $0.reason) }, uniquingKeysWith: { first, _ in first })
            for (position, entry) in pending.enumerated() {
                if let reason = failed[position] {
                    results.append(Result(index: entry.index, recordID: entry.record.recordID, status: .invalid, reason: reason))
                } else {
                    try await store.saveAuditorDocument(entry.record.document)
                    results.append(Result(index: entry.index, recordID: entry.record.recordID,
                                          status: replacing ? .updated : .inserted))
                }
            }
        }
        return results.sorted { $0.index < $1.index }
    }
}

extension AuditorIntake.Result.Status {
    var isSuccess: Bool { self == .inserted || self == .updated || self == .unchanged }
}

/// The routes, as AUDITOR serves them (see docs/api.md for the differences).
enum AuditorRoutes {
    static func decodeOne<Value: Decodable>(_ type: Value.Type, _ request: Request, limit: Int) async throws -> Value {
        let body = try await collect(request, limit: limit)
        do {
            return try JSONDecoder().decode(Value.self, from: Data(buffer: body))
        } catch {
            throw APIError(.badRequest, Decoded<Value>.reason(error))
        }
    }

    static func collect(_ request: Request, limit: Int) async throws -> ByteBuffer {
        do {
            return try await request.body.collect(upTo: limit)
        } catch {
            throw APIError(.contentTooLarge, "the body exceeds \(limit) bytes: send smaller batches")
        }
    }

    /// One record's outcome as AUDITOR's clients understand it: `RECORD_EXISTS` in the body of a
    /// conflict makes them raise their "record exists" error.
    static func single(_ result: AuditorIntake.Result) throws -> Response {
        switch result.status {
        case .inserted, .updated, .unchanged:
            return try json(result)
        case .conflict:
            return Response(status: .conflict, headers: [.contentType: "text/plain"],
                            body: .init(byteBuffer: ByteBuffer(string: "RECORD_EXISTS")))
        case .forbidden:
            throw APIError(.forbidden, result.reason ?? "forbidden")
        case .invalid:
            throw APIError(.badRequest, result.reason ?? "invalid record")
        }
    }

    struct BulkBody: Encodable {
        var received: Int
        var inserted: Int
        var unchanged: Int
        var results: [AuditorIntake.Result]
    }

    static func bulk(_ results: [AuditorIntake.Result]) throws -> Response {
        let succeeded = results.filter { $0.status.isSuccess }.count
        let body = BulkBody(received: results.count, inserted: results.filter { $0.status == .inserted }.count,
                            unchanged: results.filter { $0.status == .unchanged }.count, results: results)
        let status: HTTPResponse.Status
        if succeeded == results.count {
            status = .ok
        } else if succeeded > 0 {
            status = HTTPResponse.Status(code: 207, reasonPhrase: "Multi-Status")
        } else if results.allSatisfy({ $0.status == .conflict }) {
            status = .conflict
        } else if results.contains(where: { $0.status == .forbidden }) {
            status = .forbidden
        } else {
            status = .badRequest
        }
        return try json(body, status: status)
    }

    static func records(_ request: Request, store: any UsageStore) async throws -> Response {
        let query: AuditorQuery
        do {
            query = try AuditorQuery(rawQuery: request.uri.query)
        } catch {
            throw APIError(.badRequest, error.description)
        }
        var answers: [AuditorRecordAnswer] = []
        if query.limit != 0 {
            try await store.forEachAuditorDocument(query.documents) { document in
                let record = try AuditorRecord.decode(document)
                if query.matches(record) { answers.append(AuditorRecordAnswer(record: record)) }
                return query.limit.map { answers.count < $0 } ?? true
            }
        }
        return try json(answers)
    }
}
