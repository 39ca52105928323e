/// A key reports can group and filter by. Data, not a switch per report.
public enum ReportDimension: String, Sendable, Hashable, CaseIterable, Codable {
    case site, cluster, account, group, user, partition, qos, state
    case gpuModel = "gpu-model"

    public init?(argument: String) {
        let lowered = argument.lowercased().replacingOccurrences(of: "_", with: "-")
        switch lowered {
        case "gpu", "gpumodel", "gpu-model": self = .gpuModel
        case "vo", "project": self = .account
        default:
            guard let value = ReportDimension(rawValue: lowered) else { return nil }
            self = value
        }
    }

    /// The value of this dimension on a record ("" when the source did not say).
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
        }
    }
}
