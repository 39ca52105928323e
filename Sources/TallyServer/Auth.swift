import Crypto
import Foundation
import Hummingbird
import TallyCore
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
    /// Accounts a read token is limited to (a PI's token): empty for no limit.
    public var accounts: Set<String> = []

    /// A stored token's rights: scopes, and `account=<name>` entries that limit what it reads.
    init(_ token: StoredToken) {
        name = token.name
        scopes = Set(token.scopes.compactMap(Scope.init(rawValue:)))
        sites = Set(token.sites)
        accounts = Set(token.scopes.filter { $0.hasPrefix(Self.accountPrefix) }.map { String($0.dropFirst(Self.accountPrefix.count)) })
    }

    init(name: String, scopes: Set<Scope>, sites: Set<String>) {
        self.name = name; self.scopes = scopes; self.sites = sites
    }

    static let accountPrefix = "account="

    /// Part of a cache key: answers differ between principals limited to different accounts.
    public var cacheScope: String { seesEverything ? "" : "#accounts=" + accounts.sorted().joined(separator: ",") }

    public func allows(_ scope: Scope) -> Bool { scopes.contains(scope) || scopes.contains(.admin) }

    /// An allocation a limited token may see: one of an account it is limited to.
    public func mayRead(_ allocation: Allocation) -> Bool {
        seesEverything || (allocation.dimension == .account && accounts.contains(allocation.owner))
    }

    /// Whether this principal sees every account (not limited to some).
    public var seesEverything: Bool { accounts.isEmpty || scopes.contains(.admin) }

    /// `filters` with the account limit applied: only the token's accounts, intersected with those asked.
    public func limit(_ filters: [ReportDimension: Set<String>]) -> [ReportDimension: Set<String>] {
        guard !seesEverything else { return filters }
        var limited = filters
        limited[.account] = filters[.account].map { $0.intersection(accounts) } ?? accounts
        return limited
    }

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
        context.principal = Principal(token)
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
    /// A route that shows every account's figures (status, fair share, quotas): not for a token
    /// limited to some accounts.
    func requireAllAccounts(_ scope: Scope) throws -> Principal {
        let principal = try require(scope)
        guard principal.seesEverything else {
            throw APIError(.forbidden, "token '\(principal.name)' sees only accounts \(principal.accounts.sorted().joined(separator: ", "))")
        }
        return principal
    }

    func require(_ scope: Scope) throws -> Principal {
        guard let principal else { throw APIError(.unauthorized, "a bearer token is required") }
        guard principal.allows(scope) else {
            throw APIError(.forbidden, "token '\(principal.name)' lacks the \(scope.rawValue) scope")
        }
        return principal
    }
}
