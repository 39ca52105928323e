/// The kind of input a record was collected from.
public enum SourceFormat: String, Sendable, Hashable, CaseIterable, Codable {
    case slurm
    case swf
    case pbs
    case sge
    case htcondor
    case kubernetes
    case nomad
}

/// Where in its input a record (or a rejected line) came from.
public struct SourcePosition: Sendable, Hashable, Codable, CustomStringConvertible {
    public var file: String
    public var line: Int

    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }

    public var description: String { "\(file):\(line)" }
}
