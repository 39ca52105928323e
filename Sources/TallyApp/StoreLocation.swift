import Foundation
import TallyStore

/// Where the database is: `--db`, else `$TALLY_DB`, else `./tally.db`.
public enum StoreLocation {
    public static func resolve(_ explicit: String?) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        if let fromEnvironment = ProcessInfo.processInfo.environment["TALLY_DB"], !fromEnvironment.isEmpty {
            return fromEnvironment
        }
        return "tally.db"
    }

    /// Opens the store; `mustExist` (for commands that only read) refuses to create an empty
    /// database for a mistyped path.
    public static func open(_ explicit: String?, mustExist: Bool = false) async throws -> any UsageStore {
        let path = resolve(explicit)
        if mustExist, !path.contains("://"), !FileManager.default.fileExists(atPath: path) {
            throw StoreError.cannotOpen(path: path, reason: "no such database (tally ingest creates it)")
        }
        if PostgresLocation.isPostgres(path) {
            return try await PostgresStore(url: path)
        }
        return try SQLiteStore(path: path)
    }
}
