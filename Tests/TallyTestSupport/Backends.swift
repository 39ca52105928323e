import Foundation
import Logging
import PostgresNIO
import TallyStore

/// The store backends the shared suites run against. PostgreSQL needs a server:
/// `scripts/test.sh` starts one (scripts/postgres.sh) and names it in `TALLY_TEST_POSTGRES`;
/// under CI a missing server fails the PostgreSQL cases instead of skipping them.
public enum Backend: String, Sendable, CustomStringConvertible {
    case sqlite
    case postgres

    public var description: String { rawValue }

    public static var all: [Backend] {
        let environment = ProcessInfo.processInfo.environment
        return environment["TALLY_TEST_POSTGRES"] != nil || environment["CI"] != nil ? [.sqlite, .postgres] : [.sqlite]
    }

    /// A new, empty store and what `--db` takes to open it again: a SQLite file in `directory`,
    /// or a new database on the test server (whose data directory is thrown away after the run).
    public func makeStore(in directory: URL) async throws -> (store: any UsageStore, location: String) {
        switch self {
        case .sqlite:
            let path = directory.appendingPathComponent("tally.db").path
            return (try SQLiteStore(path: path), path)
        case .postgres:
            let url = try await TestPostgres.createDatabase()
            return (try await PostgresStore(url: url), url)
        }
    }
}

public struct MissingPostgres: Error, CustomStringConvertible {
    public var description: String {
        "TALLY_TEST_POSTGRES is not set: run the tests with scripts/test.sh, which starts PostgreSQL"
    }
}

public enum TestPostgres {
    public static var server: String? { ProcessInfo.processInfo.environment["TALLY_TEST_POSTGRES"] }

    /// A new database on the test server; returns its URL.
    public static func createDatabase() async throws -> String {
        guard let server, var components = URLComponents(string: server) else { throw MissingPostgres() }
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try await withClient(server) { client, logger in
            try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
        }
        components.path = "/" + name
        return components.string!
    }

    /// Runs `body` with a client of the database at `url`.
    public static func withClient(_ url: String, _ body: (PostgresClient, Logger) async throws -> Void) async throws {
        let location = try PostgresLocation(url: url)
        var logger = Logger(label: "tally.test")
        logger.logLevel = .error
        let client = PostgresClient(configuration: location.configuration, backgroundLogger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            try await body(client, logger)
        }
    }
}
