import Foundation

/// The shared fixtures beside the project (`../shared`, or `$TALLY_SHARED`).
public enum Fixtures {
    public static let shared: URL = {
        if let path = ProcessInfo.processInfo.environment["TALLY_SHARED"] { return URL(fileURLWithPath: path) }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared")
    }()

    /// A file under `shared/data/fixtures`.
    public static func path(_ relative: String) -> String {
        shared.appendingPathComponent("data/fixtures").appendingPathComponent(relative).path
    }
}
