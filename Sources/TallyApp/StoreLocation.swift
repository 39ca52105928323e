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

    public static func open(_ explicit: String?) throws -> SQLiteStore {
        let path = resolve(explicit)
        if path.hasPrefix("postgres://") || path.hasPrefix("postgresql://") {
            throw StoreError.cannotOpen(path: "postgres://…", reason: "the PostgreSQL store is not built yet (issue 5)")
        }
        return try SQLiteStore(path: path)
    }
}
