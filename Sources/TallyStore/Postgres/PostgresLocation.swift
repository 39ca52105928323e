import Foundation
import NIOSSL
import PostgresNIO

/// A `postgres://user:password@host:port/database?sslmode=…` URL, as libpq reads it: `host=/dir`
/// in the query selects a Unix socket; `sslmode` disable (default), prefer, require.
public struct PostgresLocation: Sendable {
    public let configuration: PostgresClient.Configuration
    /// The URL without its password, for messages and logs.
    public let redacted: String

    public static func isPostgres(_ location: String) -> Bool {
        location.hasPrefix("postgres://") || location.hasPrefix("postgresql://")
    }

    public init(url: String) throws {
        guard let components = URLComponents(string: url), let scheme = components.scheme,
              scheme == "postgres" || scheme == "postgresql" else {
            throw StoreError.cannotOpen(path: "postgres URL", reason: "expected postgres://user[:password]@host[:port]/database")
        }
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        let user = components.user.flatMap { $0.removingPercentEncoding } ?? ProcessInfo.processInfo.environment["USER"] ?? "postgres"
        let password = components.password.flatMap { $0.removingPercentEncoding }
            ?? ProcessInfo.processInfo.environment["PGPASSWORD"]
        var database = components.path
        if database.hasPrefix("/") { database.removeFirst() }
        let databaseName = database.isEmpty ? user : (database.removingPercentEncoding ?? database)
        var redactedComponents = components
        if redactedComponents.password != nil { redactedComponents.password = "…" }
        redacted = redactedComponents.string ?? "postgres://…"

        var configuration: PostgresClient.Configuration
        if let socketDirectory = query["host"], socketDirectory.hasPrefix("/") {
            let port = components.port ?? 5432
            configuration = PostgresClient.Configuration(
                unixSocketPath: "\(socketDirectory)/.s.PGSQL.\(port)", username: user, password: password,
                database: databaseName)
        } else {
            let tls: PostgresClient.Configuration.TLS
            switch query["sslmode"] ?? "disable" {
            case "disable", "allow": tls = .disable
            case "prefer": tls = .prefer(.makeClientConfiguration())
            case "require", "verify-ca", "verify-full": tls = .require(.makeClientConfiguration())
            case let other:
                throw StoreError.cannotOpen(path: redacted, reason: "unknown sslmode \(other)")
            }
            configuration = PostgresClient.Configuration(
                host: components.host.flatMap { $0.isEmpty ? nil : $0 } ?? "localhost", port: components.port ?? 5432,
                username: user, password: password, database: databaseName, tls: tls)
        }
        configuration.options.maximumConnections = 8
        self.configuration = configuration
    }
}
