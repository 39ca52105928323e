import TallyCore

/// The summary tables SQLite kept until fact blocks replaced them (v13 drops them). Old
/// migrations still create them, so a database of any age upgrades through the same steps.
extension Schema {
    static func rollupTable(_ name: String, period: String) -> String {
        """
        CREATE TABLE \(name) (
            \(period) INTEGER NOT NULL,
            combo INTEGER NOT NULL,
            amounts BLOB NOT NULL,
            PRIMARY KEY (\(period), combo)
        ) WITHOUT ROWID
        """
    }

    private static let comboColumns = ["site", "cluster", "account", "grp", "usr", "partition", "qos", "state",
                                       "gpu_model", "gpu_class", "org"]

    static let comboTable = """
        CREATE TABLE combo (
            id INTEGER PRIMARY KEY,
            \(comboColumns.map { "\($0) INTEGER NOT NULL" }.joined(separator: ", ")),
            UNIQUE (\(comboColumns.joined(separator: ", ")))
        )
        """
}
