import Foundation

/// An amount of service units (or core or GPU hours) granted to an account, group or VO for a
/// span of time. Usage comes from the same reports and charge rates as `tally report`.
public struct Allocation: Sendable, Hashable, Codable {
    public enum Unit: String, Sendable, Hashable, CaseIterable, Codable {
        case su
        case coreHours = "core_hours"
        case gpuHours = "gpu_hours"

        /// The report metric that measures it.
        public var metric: Metric {
            switch self {
            case .su: .serviceUnits
            case .coreHours: .coreHours
            case .gpuHours: .gpuHours
            }
        }

        /// As tables print it.
        public var label: String {
            switch self {
            case .su: "SU"
            case .coreHours: "core-hours"
            case .gpuHours: "GPU-hours"
            }
        }

        public init?(argument: String) {
            switch argument.lowercased().replacingOccurrences(of: "-", with: "_") {
            case "su", "sus", "service_units": self = .su
            case "core_hours", "corehours", "core_h": self = .coreHours
            case "gpu_hours", "gpuhours", "gpu_h": self = .gpuHours
            default: return nil
            }
        }
    }

    public var name: String
    /// Whose usage it covers: an account (VO, project), a group or a user.
    public var dimension: ReportDimension
    public var owner: String
    public var unit: Unit
    /// Thousandths of a unit, so amounts stay exact.
    public var amountMilli: Int64
    public var start: Int64
    public var end: Int64
    /// Percentages of the amount at which `alloc show` warns.
    public var thresholds: [Int]
    /// Per-user limits in thousandths of a unit.
    public var userLimitsMilli: [String: Int64]
    public var createdAt: Int64

    public init(name: String, dimension: ReportDimension = .account, owner: String, unit: Unit = .su, amountMilli: Int64,
                start: Int64, end: Int64, thresholds: [Int] = [80, 100], userLimitsMilli: [String: Int64] = [:],
                createdAt: Int64 = 0) {
        self.name = name; self.dimension = dimension; self.owner = owner; self.unit = unit
        self.amountMilli = amountMilli; self.start = start; self.end = end; self.thresholds = thresholds
        self.userLimitsMilli = userLimitsMilli; self.createdAt = createdAt
    }

    public var amount: Double { Double(amountMilli) / 1000 }

    /// What makes this allocation unusable, if anything: the one check the CLI and the API share.
    public var problem: String? {
        if name.isEmpty { return "an allocation needs a name" }
        if owner.isEmpty { return "an allocation needs an owner" }
        if ![.account, .group, .user].contains(dimension) { return "an allocation belongs to an account, a group or a user" }
        if amountMilli <= 0 { return "the amount must be positive" }
        if end <= start { return "the end must be after the start" }
        if thresholds.contains(where: { $0 <= 0 }) { return "thresholds are positive percentages" }
        if let user = userLimitsMilli.first(where: { $0.value < 0 })?.key { return "the limit of \(user) is negative" }
        return nil
    }
}

/// A manual debit (positive) or credit (negative) against an allocation: a refund for a failed
/// node, a purchase of storage, a transfer.
public struct AllocationCharge: Sendable, Hashable, Codable {
    public var allocation: String
    public var at: Int64
    public var amountMilli: Int64
    public var note: String

    public init(allocation: String, at: Int64, amountMilli: Int64, note: String) {
        self.allocation = allocation; self.at = at; self.amountMilli = amountMilli; self.note = note
    }
}

/// Where an allocation stands at an instant, and where it is heading.
public struct BurnDown: Sendable, Hashable, Codable {
    public struct UserUsage: Sendable, Hashable, Codable {
        public var user: String
        public var used: Double
        public var limit: Double?
        public var percentOfLimit: Double? { limit.flatMap { $0 > 0 ? used / $0 * 100 : nil } }
    }

    public var allocation: Allocation
    public var at: Int64
    public var usedByJobs: Double
    public var charged: Double
    public var used: Double { usedByJobs + charged }
    public var remaining: Double { allocation.amount - used }
    public var percentUsed: Double { allocation.amount > 0 ? used / allocation.amount * 100 : 0 }
    /// Units per day over the rate window.
    public var burnRatePerDay: Double
    /// The span the burn rate was measured over.
    public var rateWindow: Range<Int64>
    /// When the remaining amount runs out at the burn rate: nil when nothing is burning, or when
    /// the allocation ends first (`lastsPastEnd`).
    public var projectedExhaustion: Int64?
    public var lastsPastEnd: Bool
    public var users: [UserUsage]
    public var warnings: [String]

    /// Computes the projection from usage figures the caller took from reports.
    ///
    /// - Parameters:
    ///   - usedByJobs: usage from records in `[start, min(at, end))`.
    ///   - usedInRateWindow: usage from records in `rateWindow` (the basis of the burn rate).
    public init(allocation: Allocation, at: Int64, usedByJobs: Double, charges: [AllocationCharge],
                usedInRateWindow: Double, rateWindow: Range<Int64>, users: [(String, Double)]) {
        self.allocation = allocation
        self.at = at
        self.usedByJobs = usedByJobs
        charged = Double(charges.filter { $0.at < at }.reduce(0) { $0 + $1.amountMilli }) / 1000
        self.rateWindow = rateWindow
        let span = Double(rateWindow.upperBound - rateWindow.lowerBound)
        burnRatePerDay = span > 0 ? usedInRateWindow / span * 86_400 : 0
        var projected: Int64?
        var pastEnd = false
        let left = allocation.amount - (usedByJobs + charged)
        if left <= 0 {
            projected = nil
        } else if burnRatePerDay > 0, at < allocation.end {
            let seconds = left / burnRatePerDay * 86_400
            let instant = Double(at) + seconds
            if instant >= Double(allocation.end) { pastEnd = true } else { projected = Int64(instant.rounded(.down)) }
        } else if at < allocation.end {
            pastEnd = true
        }
        projectedExhaustion = projected
        lastsPastEnd = pastEnd
        self.users = users.map { user, used in
            UserUsage(user: user, used: used, limit: allocation.userLimitsMilli[user].map { Double($0) / 1000 })
        }.sorted { ($0.used, $1.user) > ($1.used, $0.user) }
        var warnings: [String] = []
        let percent = allocation.amount > 0 ? (usedByJobs + charged) / allocation.amount * 100 : 0
        for threshold in allocation.thresholds.sorted().reversed() where percent >= Double(threshold) {
            warnings.append(threshold >= 100
                ? "allocation \(allocation.name) is exhausted: \(Self.format(percent)) % used"
                : "allocation \(allocation.name) has passed \(threshold) %: \(Self.format(percent)) % used")
            break
        }
        for user in self.users {
            if let limit = user.limit, user.used >= limit {
                warnings.append("user \(user.user) has used \(Self.format(user.used)) of a limit of \(Self.format(limit))")
            }
        }
        self.warnings = warnings
    }

    static func format(_ value: Double) -> String { String(format: "%.1f", value) }
}
