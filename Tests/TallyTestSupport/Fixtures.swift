import Foundation

/// The shared fixtures beside the project (`../shared`, or `$TALLY_SHARED`).
public enum Fixtures {
    public static let shared: URL = {
        if let path = ProcessInfo.processInfo.environment["TALLY_SHARED"] { return URL(fileURLWithPath: path) }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared")
    }()

    /// The project's own root (for `examples/`).
    public static let project: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// A file under `examples/`.
    public static func example(_ relative: String) -> String {
        project.appendingPathComponent("examples").appendingPathComponent(relative).path
    }

    /// A file under `shared/data/fixtures`.
    public static func path(_ relative: String) -> String {
        shared.appendingPathComponent("data/fixtures").appendingPathComponent(relative).path
    }
}

/// `gzip -c` of `text` by the system tool, independent of Tally's own decoder.
public func gzipped(_ text: String) throws -> [UInt8] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/gzip")
    process.arguments = ["-c"]
    let input = Pipe(), output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    try process.run()
    input.fileHandleForWriting.write(Data(text.utf8))
    try input.fileHandleForWriting.close()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return Array(data)
}
