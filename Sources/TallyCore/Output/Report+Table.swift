extension Report {
    /// The report as a table: period, grouping keys, then every metric in `unit`.
    public func table(unit: TimeUnit = .hours, metrics: [Metric] = Metric.allCases, includeTotal: Bool = false) -> Table {
        let keyColumns = ["period"] + query.groupBy.map(\.rawValue)
        let columns = keyColumns + metrics.map { $0.title(unit: unit) }
        var table = Table(columns: columns, numericColumns: Set(keyColumns.count..<columns.count))
        func cells(_ amounts: UsageAmounts) -> [Table.Cell] {
            metrics.map { metric in
                guard let value = metric.value(amounts, unit: unit) else { return .empty }
                if metric.isIntegral(unit: unit) { return .integer(Int64(value.rounded())) }
                return .decimal(value, places: metric == .efficiency ? 1 : 2)
            }
        }
        for row in rows {
            table.rows.append([.text(row.period.label)] + row.keys.map { .text($0) } + cells(row.amounts))
        }
        if includeTotal {
            table.rows.append([.text("total")] + query.groupBy.map { _ in .empty } + cells(total))
        }
        return table
    }
}
