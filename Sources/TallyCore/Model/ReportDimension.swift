/// A key reports can group and filter by. Data, not a switch per report.
///
/// The first nine are what sources say (stored on every record); the rest are derived by the
/// configuration (GPU class, organisation) or from the job's size and length.
public enum ReportDimension: String, Sendable, Hashable, CaseIterable, Codable {
    case site, cluster, account, group, user, partition, qos, state
    case gpuModel = "gpu-model"
    case gpuClass = "gpu-class"
    case organisation
    case jobSize = "job-size"
    case wallBucket = "wall-bucket"

    public init?(argument: String) {
        let lowered = argument.lowercased().replacingOccurrences(of: "_", with: "-")
        switch lowered {
        case "gpu", "gpumodel", "gpu-model": self = .gpuModel
        case "gpuclass", "gpu-class": self = .gpuClass
        case "vo", "project": self = .account
        case "organization", "org": self = .organisation
        case "size", "jobsize": self = .jobSize
        case "wall", "wallbucket", "wall-time": self = .wallBucket
        default:
            guard let value = ReportDimension(rawValue: lowered) else { return nil }
            self = value
        }
    }

    /// The dimensions every record carries, in storage order.
    public static let recorded: [ReportDimension] = [.site, .cluster, .account, .group, .user, .partition, .qos,
                                                     .state, .gpuModel]

    /// Whether configuration (aliases, the user directory, GPU classes) decides this key's value in reports.
    public var isConfigured: Bool {
        switch self {
        case .account, .group, .user, .gpuClass, .organisation: true
        default: false
        }
    }

    /// Whether raw records can be filtered on this key as stored: recorded, and not renamed by
    /// configuration. Filters on the other keys apply after a record is normalised.
    public var filtersRawRecords: Bool { Self.recorded.contains(self) && !isConfigured }

    /// The value of a recorded dimension as the source gave it ("" when it did not say, or when
    /// the dimension is derived).
    public func value(of record: UsageRecord) -> String {
        switch self {
        case .site: record.site
        case .cluster: record.cluster
        case .account: record.account ?? ""
        case .group: record.group ?? ""
        case .user: record.user ?? ""
        case .partition: record.partition ?? ""
        case .qos: record.qos ?? ""
        case .state: record.state.rawValue
        case .gpuModel: record.gpuModel ?? ""
        case .gpuClass, .organisation, .jobSize, .wallBucket: ""
        }
    }
}
