import Foundation
import TallyCore

/// Policy answers as tables, with the column names the schedulers' own tools print (`sshare -l`,
/// `condor_userprio -all`), so admins can put them side by side. The CLI and the API both use these.
public enum PolicyTables {
    public static func sshare(_ rows: [SlurmFairShare.Row]) -> Table {
        var table = Table(columns: ["Account", "User", "RawShares", "NormShares", "RawUsage", "NormUsage", "EffectvUsage",
                                    "FairShare", "LevelFS"], numericColumns: [2, 3, 4, 5, 6, 7, 8])
        for row in rows {
            let indent = String(repeating: " ", count: row.depth)
            let isRoot = row.depth == 0
            table.rows.append([
                .text(indent + row.account), .text(row.user ?? ""),
                isRoot ? .empty : row.rawShares.map { .integer($0) } ?? .text("parent"),
                .decimal(row.normShares, places: 6),
                // sshare prints raw usage as a whole number.
                .integer(Int64(row.rawUsage.rounded(.down))),
                isRoot ? .empty : .decimal(row.normUsage, places: 6),
                .decimal(row.effectiveUsage, places: 6),
                row.fairShare.map { .decimal($0, places: 6) } ?? .empty,
                row.levelFS.map { $0.isInfinite ? .text("inf") : .decimal($0, places: 6) } ?? .empty,
            ])
        }
        return table
    }

    public static func userprio(_ rows: [CondorAccountant.Row], calendar: PeriodCalendar) -> Table {
        var table = Table(columns: ["User Name", "Effective Priority", "Real Priority", "Priority Factor", "Res In Use",
                                    "Total Usage (wghted-hrs)", "Usage Start Time", "Last Usage Time"],
                          numericColumns: [1, 2, 3, 4, 5])
        for row in rows {
            table.rows.append([
                .text(row.isGroup ? row.name : row.name), .decimal(row.effectivePriority, places: 2),
                .decimal(row.realPriority, places: 2), .decimal(row.priorityFactor, places: 2),
                .decimal(row.resourcesInUse, places: 0), .decimal(row.accumulatedUsageHours, places: 2),
                .text(calendar.formatDateTime(row.firstUsage)), .text(calendar.formatDateTime(row.lastUsage)),
            ])
        }
        return table
    }

    public static func quotaStatus(_ status: PolicyEngine.QuotaStatus) -> Table {
        var table = Table(columns: ["Group", "Accept Surplus", "Quota", "Usage", "Demand", "Allocated", "Surplus Received",
                                    "Surplus Lent", "Over Quota"], numericColumns: [2, 3, 4, 5, 6, 7])
        for group in status.groups {
            table.rows.append([
                .text(String(repeating: " ", count: group.depth) + group.name), .text(group.acceptSurplus ? "yes" : "no"),
                .decimal(group.quota, places: 2), .decimal(group.subtreeUsage, places: 2), .decimal(group.demand, places: 2),
                .decimal(group.subtreeAllocated, places: 2), .decimal(group.surplusReceived, places: 2),
                .decimal(group.surplusLent, places: 2), .text(group.overQuota ? "yes" : "no"),
            ])
        }
        return table
    }

    public static func occupancy(_ rows: [PolicyEngine.Occupancy]) -> Table {
        var table = Table(columns: ["period", "group", "quota", "avg_cores", "peak_cores", "avg_pct_of_quota", "peak_pct_of_quota"],
                          numericColumns: [2, 3, 4, 5, 6])
        for row in rows {
            table.rows.append([
                .text(row.period.label), .text(row.group), .decimal(row.quota, places: 2), .decimal(row.averageCores, places: 2),
                .decimal(row.peakCores, places: 0), row.averagePercentOfQuota.map { .decimal($0, places: 1) } ?? .empty,
                row.peakPercentOfQuota.map { .decimal($0, places: 1) } ?? .empty,
            ])
        }
        return table
    }

    public static func allocations(_ allocations: [Allocation], calendar: PeriodCalendar) -> Table {
        var table = Table(columns: ["name", "owner", "kind", "amount", "unit", "start", "end", "thresholds_pct", "user_limits"],
                          numericColumns: [3])
        for allocation in allocations {
            table.rows.append([
                .text(allocation.name), .text(allocation.owner), .text(allocation.dimension.rawValue),
                .decimal(allocation.amount, places: 3), .text(allocation.unit.rawValue),
                .text(calendar.formatDateTime(allocation.start)), .text(calendar.formatDateTime(allocation.end)),
                .text(allocation.thresholds.map(String.init).joined(separator: ",")),
                .text(allocation.userLimitsMilli.sorted { $0.key < $1.key }
                    .map { "\($0.key)=\(fixedPoint(Double($0.value) / 1000, places: 3))" }.joined(separator: ",")),
            ])
        }
        return table
    }

    /// One line per figure of a burn-down.
    public static func burnDown(_ burn: BurnDown, calendar: PeriodCalendar) -> Table {
        let unit = burn.allocation.unit.label
        var table = Table(columns: ["figure", "value"], numericColumns: [])
        func add(_ name: String, _ value: String) { table.rows.append([.text(name), .text(value)]) }
        add("allocation", "\(burn.allocation.name) (\(burn.allocation.dimension.rawValue) \(burn.allocation.owner))")
        add("period", "\(calendar.formatDateTime(burn.allocation.start)) .. \(calendar.formatDateTime(burn.allocation.end))")
        add("amount", "\(fixedPoint(burn.allocation.amount, places: 3)) \(unit)")
        add("used", "\(fixedPoint(burn.used, places: 3)) \(unit) (\(fixedPoint(burn.percentUsed, places: 1)) %)"
            + (burn.charged != 0 ? ", of which \(fixedPoint(burn.charged, places: 3)) charged by hand" : ""))
        add("remaining", "\(fixedPoint(burn.remaining, places: 3)) \(unit)")
        add("burn rate", "\(fixedPoint(burn.burnRatePerDay, places: 3)) \(unit)/day over "
            + "\(calendar.formatDateTime(burn.rateWindow.lowerBound)) .. \(calendar.formatDateTime(burn.rateWindow.upperBound))")
        let projection: String
        if burn.remaining <= 0 {
            projection = "exhausted"
        } else if let instant = burn.projectedExhaustion {
            projection = calendar.formatDateTime(instant)
        } else if burn.lastsPastEnd {
            projection = burn.burnRatePerDay > 0 ? "not before the end (\(calendar.formatDateTime(burn.allocation.end)))" : "nothing is burning"
        } else {
            projection = "the allocation has ended"
        }
        add("projected exhaustion", projection)
        return table
    }

    public static func allocationUsers(_ burn: BurnDown) -> Table {
        var table = Table(columns: ["user", "used", "limit", "pct_of_limit"], numericColumns: [1, 2, 3])
        for user in burn.users {
            table.rows.append([.text(user.user), .decimal(user.used, places: 3), user.limit.map { .decimal($0, places: 3) } ?? .empty,
                               user.percentOfLimit.map { .decimal($0, places: 1) } ?? .empty])
        }
        return table
    }

    public static func preemption(_ plan: PreemptionPlanner.Plan) -> Table {
        var table = Table(columns: ["rank", "job", "user", "group", "cores", "run_hours", "badput_core_hours", "effective_priority",
                                    "group_over_quota"], numericColumns: [0, 4, 5, 6, 7, 8])
        for (index, candidate) in plan.evict.enumerated() {
            table.rows.append([
                .integer(Int64(index + 1)), .text(candidate.job.jobID), .text(candidate.job.user), .text(candidate.job.group),
                .integer(candidate.job.cores), .decimal(Double(candidate.runSeconds) / 3600, places: 2),
                .decimal(Double(candidate.badputCoreSeconds) / 3600, places: 2), .decimal(candidate.effectivePriority, places: 2),
                .decimal(candidate.groupOverQuota, places: 2),
            ])
        }
        return table
    }
}
