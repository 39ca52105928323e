import Foundation
import HTTPTypes
import Hummingbird
import TallyStore

/// Who may see the dashboard: anyone when the server runs with `--public-dashboard`, else a
/// read-scoped token as a bearer header or as the `tally_token` cookie the login form sets.
/// Browsers without either are sent to the login form.
struct DashboardAuthMiddleware: RouterMiddleware {
    typealias Context = TallyRequestContext
    let store: any UsageStore
    let isPublic: Bool

    static let cookie = "tally_token"

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if isPublic {
            context.principal = Principal(name: "public", scopes: [.read], sites: [])
            return try await next(request, context)
        }
        if request.headers[.authorization] != nil {
            return try await AuthMiddleware(store: store).handle(request, context: context, next: next)
        }
        if let secret = Self.cookieValue(request.headers[.cookie], name: Self.cookie),
           let token = try await store.token(hash: TokenSecret.hash(secret)) {
            context.principal = Principal(name: token.name, scopes: Set(token.scopes.compactMap(Scope.init(rawValue:))),
                                          sites: Set(token.sites))
            return try await next(request, context)
        }
        return Response(status: .seeOther, headers: [.location: "/login"])
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
    static func form(message: String? = nil, status: HTTPResponse.Status = .ok) -> Response {
        let html = """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in · Tally</title></head>
            <body><main><h1>Tally</h1>\(message.map { "<p role=\"alert\">\(DashboardPages.escape($0))</p>" } ?? "")
            <form method="post" action="/login"><label for="token">Read token (tally token create --scope read)</label>
            <input id="token" name="token" type="password" autocomplete="current-password" required>
            <button type="submit">Sign in</button></form></main></body></html>
            """
        return Response(status: status, headers: [.contentType: "text/html; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// Checks the posted token and keeps it in an HttpOnly, SameSite=Strict cookie.
    static func signIn(_ request: Request, store: any UsageStore, secure: Bool) async throws -> Response {
        let body = try await request.body.collect(upTo: 4096)
        let fields = String(buffer: body).split(separator: "&").compactMap { pair -> (String, String)? in
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { return nil }
            let value = String(parts[1]).replacingOccurrences(of: "+", with: " ")
            return (String(parts[0]), value.removingPercentEncoding ?? value)
        }
        guard let secret = fields.first(where: { $0.0 == "token" })?.1,
              let token = try await store.token(hash: TokenSecret.hash(secret)),
              token.scopes.contains("read") || token.scopes.contains("admin") else {
            return form(message: "That is not a read token.", status: .unauthorized)
        }
        let cookie = "\(DashboardAuthMiddleware.cookie)=\(secret); Path=/; HttpOnly; SameSite=Strict\(secure ? "; Secure" : "")"
        return Response(status: .seeOther, headers: [.location: "/", .setCookie: cookie])
    }
}
