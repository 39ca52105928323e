/// The kind of input a record was collected from.
public enum SourceFormat: String, Sendable, Hashable, CaseIterable, Codable {
    case slurm
    case swf
    case pbs
    case sge
    case htcondor
    case kubernetes
    case nomad
    /// Records posted to `tally serve`'s API.
    case api
    /// APEL individual job messages (`tally ingest apel`).
    case apel

    /// The number stored in databases: fixed per format, never reused, whatever the case order.
    public var code: Int {
        switch self {
        case .slurm: 1
        case .swf: 2
        case .pbs: 3
        case .sge: 4
        case .htcondor: 5
        case .kubernetes: 6
        case .nomad: 7
        case .api: 8
        case .apel: 9
        }
    }

    public init?(code: Int) {
        guard let format = Self.allCases.first(where: { $0.code == code }) else { return nil }
        self = format
    }
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
