import Crypto
import Foundation
import Hummingbird
import TallyStore

/// What a token may do. `admin` includes the others, for every site.
public enum Scope: String, Sendable, CaseIterable {
    case read, write, admin
}

/// The authenticated caller of one request.
public struct Principal: Sendable, Hashable {
    public var name: String
    public var scopes: Set<Scope>
    public var sites: Set<String>

    public func allows(_ scope: Scope) -> Bool { scopes.contains(scope) || scopes.contains(.admin) }

    public func mayWrite(site: String) -> Bool {
        scopes.contains(.admin) || (scopes.contains(.write) && sites.contains(site))
    }
}

/// Secrets and their hashes: only the SHA-256 is stored.
public enum TokenSecret {
    /// A new random secret: `tly_` and 32 random bytes, hex.
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return "tly_" + bytes.map { String(format: "%02x", $0) }.joined()
    }

    public static func hash(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

/// The request context: the authenticated principal, set by `AuthMiddleware`.
public struct TallyRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var principal: Principal?

    public init(source: Source) {
        coreContext = .init(source: source)
        principal = nil
    }
}

/// Bearer-token authentication: 401 without a valid token. Scope checks are per route (403).
struct AuthMiddleware: RouterMiddleware {
    typealias Context = TallyRequestContext
    let store: any UsageStore

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else {
            throw APIError(.unauthorized, "a bearer token is required (Authorization: Bearer …)")
        }
        let secret = String(header.dropFirst("bearer ".count)).trimmingCharacters(in: .whitespaces)
        guard let token = try await store.token(hash: TokenSecret.hash(secret)) else {
            throw APIError(.unauthorized, "unknown token")
        }
        var context = context
        context.principal = Principal(name: token.name, scopes: Set(token.scopes.compactMap(Scope.init(rawValue:))),
                                      sites: Set(token.sites))
        return try await next(request, context)
    }
}

/// An error answered as JSON `{"error": "…"}` with its status: never a 200.
struct APIError: HTTPResponseError {
    let status: HTTPResponse.Status
    let message: String

    init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = try JSONSerialization.data(withJSONObject: ["error": message], options: [.sortedKeys])
        return Response(status: status, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

extension TallyRequestContext {
    func require(_ scope: Scope) throws -> Principal {
        guard let principal else { throw APIError(.unauthorized, "a bearer token is required") }
        guard principal.allows(scope) else {
            throw APIError(.forbidden, "token '\(principal.name)' lacks the \(scope.rawValue) scope")
        }
        return principal
    }
}
