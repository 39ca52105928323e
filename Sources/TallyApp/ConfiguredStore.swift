import Foundation
import TallyConfig
import TallyCore
import TallyStore

/// A store with its configuration applied, and what applying it took.
public struct ConfiguredStore: Sendable {
    public var store: any UsageStore
    public var configuration: TallyConfiguration
    /// Set when the configuration differed from the one recorded in the database.
    public var rebuilt: RebuildStats?
    public var warnings: [ConfigIssue]

    /// Opens the database and applies the configuration: `--config`, else `$TALLY_CONFIG`, else
    /// the one recorded in the database by the last command that was given one.
    public static func open(_ database: String?, config: String?, mustExist: Bool = false) async throws -> ConfiguredStore {
        let store = try await StoreLocation.open(database, mustExist: mustExist)
        if let path = ConfigLoader.resolvePath(config) {
            let loaded = try ConfigLoader.load(path: path)
            let rebuilt = try await store.apply(loaded.configuration, text: loaded.text)
            return ConfiguredStore(store: store, configuration: await store.currentConfiguration(), rebuilt: rebuilt,
                                   warnings: loaded.warnings)
        }
        guard let applied = try await store.appliedConfiguration() else {
            return ConfiguredStore(store: store, configuration: await store.currentConfiguration(), rebuilt: nil, warnings: [])
        }
        // Recorded without a file (users import, users sync-ldap on a database never given one):
        // no rules, but the directory's organisations and names still apply.
        let loaded = try applied.text.map { try ConfigLoader.parse($0, path: applied.path ?? "configuration stored in the database") }
        let rebuilt = try await store.apply(loaded?.configuration ?? .empty, text: applied.text)
        return ConfiguredStore(store: store, configuration: await store.currentConfiguration(), rebuilt: rebuilt, warnings: [])
    }

    /// The notice printed when summaries were rebuilt.
    public var rebuildNotice: String? {
        guard let rebuilt else { return nil }
        let from = rebuilt.previousFingerprint.map { " (\($0) → \(rebuilt.fingerprint))" } ?? ""
        // SQLite keeps no summaries to rebuild: reports apply the rules as they scan the facts.
        if rebuilt.dayRows == 0, rebuilt.monthRows == 0 {
            return "configuration changed\(from): reports now apply it to \(rebuilt.records) records"
        }
        return "configuration changed\(from): summaries rebuilt from \(rebuilt.records) records in "
            + fixedPoint(rebuilt.seconds, places: 2) + " s"
    }
}
