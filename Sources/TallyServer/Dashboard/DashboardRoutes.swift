import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import TallyStore

/// Dashboard sessions: the cookie holds the token's hash, an expiry and an HMAC of both under a
/// key only this process knows — never the token's secret, and useless to the API (which hashes
/// the secret it is given). Revoking the token ends its sessions.
struct DashboardSessions: Sendable {
    let key = SymmetricKey(size: .bits256)
    static let lifetime: Int64 = 12 * 3600

    func cookieValue(tokenHash: String, now: Int64 = Int64(Date().timeIntervalSince1970)) -> String {
        let payload = "\(tokenHash).\(now + Self.lifetime)"
        return payload + "." + signature(payload)
    }

    /// The token hash of a valid, unexpired session cookie.
    func tokenHash(_ value: String, now: Int64 = Int64(Date().timeIntervalSince1970)) -> String? {
        let parts = value.split(separator: ".")
        guard parts.count == 3, let expiry = Int64(parts[1]), expiry > now else { return nil }
        let payload = "\(parts[0]).\(parts[1])"
        guard HMAC<SHA256>.isValidAuthenticationCode(Data(hex: String(parts[2])) ?? Data(), authenticating: Data(payload.utf8),
                                                     using: key) else { return nil }
        return String(parts[0])
    }

    private func signature(_ payload: String) -> String {
        HMAC<SHA256>.authenticationCode(for: Data(payload.utf8), using: key).map { String(format: "%02x", $0) }.joined()
    }
}

extension Data {
    init?(hex: String) {
        guard hex.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        self.init(bytes)
    }
}

/// Who may see the dashboard: anyone when the server runs with `--public-dashboard`, else a
/// read-scoped token as a bearer header or a session cookie the login form sets. Browsers
/// without either are sent to the login form, which brings them back to the page they asked for.
struct DashboardAuthMiddleware: RouterMiddleware {
    typealias Context = TallyRequestContext
    let store: any UsageStore
    let isPublic: Bool
    let sessions: DashboardSessions

    static let cookie = "tally_session"

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if isPublic {
            context.principal = Principal(name: "public", scopes: [.read], sites: [])
            return try await next(request, context)
        }
        if request.headers[.authorization] != nil {
            return try await AuthMiddleware(store: store).handle(request, context: context, next: next)
        }
        if let value = Self.cookieValue(request.headers[.cookie], name: Self.cookie),
           let hash = sessions.tokenHash(value), let token = try await store.token(hash: hash) {
            context.principal = Principal(token)
            return try await next(request, context)
        }
        let wanted = request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
        let next = wanted == "/" ? "" : "?next=" + (wanted.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
        return Response(status: .seeOther, headers: [.location: "/login" + next])
    }

    static func cookieValue(_ header: String?, name: String) -> String? {
        for part in (header ?? "").split(separator: ";") {
            let pair = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if pair.count == 2, pair[0] == name { return String(pair[1]) }
        }
        return nil
    }
}

enum DashboardLogin {
    /// Where to go after signing in: a path on this server only (never another site).
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), !next.contains("\\") else { return "/" }
        return next
    }

    static func form(message: String? = nil, status: HTTPResponse.Status = .ok, next: String? = nil) -> Response {
        let html = """
            <!doctype html><html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1"><title>Sign in · Tally</title>
            <style>body{font-family:system-ui,sans-serif;margin:0;color:#222}main{padding:1.5em;max-width:28em}
            input,button{font-size:1em;padding:.5em;margin:.4em 0;width:100%;box-sizing:border-box}</style></head>
            <body><main><h1>Tally</h1>\(message.map { "<p role=\"alert\">\(DashboardPages.escape($0))</p>" } ?? "")
            <form method="post" action="/login"><label for="token">Read token (tally token create --scope read)</label>
            <input id="token" name="token" type="password" autocomplete="current-password" required>
            <input type="hidden" name="next" value="\(DashboardPages.escape(safeNext(next)))">
            <button type="submit">Sign in</button></form></main></body></html>
            """
        return Response(status: status, headers: [.contentType: "text/html; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// Checks the posted token and starts a session: an HttpOnly, SameSite=Strict cookie signed by
    /// this server that names the token's hash (not its secret) and expires.
    static func signIn(_ request: Request, store: any UsageStore, sessions: DashboardSessions,
                       secure: Bool) async throws -> Response {
        let body = try await request.body.collect(upTo: 4096)
        let fields = String(buffer: body).split(separator: "&").compactMap { pair -> (String, String)? in
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { return nil }
            let value = String(parts[1]).replacingOccurrences(of: "+", with: " ")
            return (String(parts[0]), value.removingPercentEncoding ?? value)
        }
        let next = fields.first(where: { $0.0 == "next" })?.1
        guard let secret = fields.first(where: { $0.0 == "token" })?.1,
              let token = try await store.token(hash: TokenSecret.hash(secret)),
              token.scopes.contains("read") || token.scopes.contains("admin") else {
            return form(message: "That is not a read token.", status: .unauthorized, next: next)
        }
        let value = sessions.cookieValue(tokenHash: TokenSecret.hash(secret))
        let cookie = "\(DashboardAuthMiddleware.cookie)=\(value); Path=/; Max-Age=\(DashboardSessions.lifetime); HttpOnly; "
            + "SameSite=Strict\(secure ? "; Secure" : "")"
        return Response(status: .seeOther, headers: [.location: safeNext(next), .setCookie: cookie])
    }

    /// Ends the session: the cookie is cleared and the browser sent to the sign-in form.
    static func signOut(secure: Bool) -> Response {
        let cookie = "\(DashboardAuthMiddleware.cookie)=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict\(secure ? "; Secure" : "")"
        return Response(status: .seeOther, headers: [.location: "/login", .setCookie: cookie])
    }
}
