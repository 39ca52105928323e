/// A problem in a config file, named by file and line as `tally config check` prints it.
public struct ConfigIssue: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Severity: String, Sendable { case error, warning }

    public var path: String?
    public var line: Int?
    public var severity: Severity
    public var message: String

    public init(path: String?, line: Int?, severity: Severity = .error, message: String) {
        self.path = path; self.line = line; self.severity = severity; self.message = message
    }

    public var description: String {
        let place = [path ?? "config", line.map(String.init)].compactMap { $0 }.joined(separator: ":")
        return "\(place): \(severity.rawValue): \(message)"
    }
}

/// A config file that cannot be used, with every error found (not just the first).
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public var issues: [ConfigIssue]
    public var description: String { issues.filter { $0.severity == .error }.map(\.description).joined(separator: "\n") }
}
