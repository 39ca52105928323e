extension Report {
    /// The report as a table: period, grouping keys (and display names when the directory has
    /// them), then each metric in `unit`.
    public func table(unit: TimeUnit = .hours, metrics: [Metric]? = nil, includeTotal: Bool = false) -> Table {
        let metrics = metrics ?? self.metrics
        let nameColumn = query.groupBy.contains(.user) && !displayNames.isEmpty
        let keyColumns = ["period"] + query.groupBy.map(\.rawValue) + (nameColumn ? ["name"] : [])
        let columns = keyColumns + metrics.map { $0.title(unit: unit, benchmark: benchmarkKind) }
        var table = Table(columns: columns, numericColumns: Set(keyColumns.count..<columns.count))
        let userIndex = query.groupBy.firstIndex(of: .user)
        func cells(_ amounts: UsageAmounts, _ capacity: Capacity?) -> [Table.Cell] {
            metrics.map { metric in
                guard let value = metric.value(amounts, unit: unit, capacity: capacity) else { return .empty }
                if metric.isIntegral(unit: unit) { return .integer(Int64(value.rounded())) }
                return .decimal(value, places: metric.places)
            }
        }
        for row in rows {
            var keys = row.keys.map { Table.Cell.text($0) }
            if nameColumn, let userIndex { keys.append(.text(displayNames[row.keys[userIndex]] ?? "")) }
            table.rows.append([.text(row.period.label)] + keys + cells(row.amounts, row.capacity))
        }
        if includeTotal {
            let blanks = [Table.Cell](repeating: .empty, count: keyColumns.count - 1)
            table.rows.append([.text("total")] + blanks + cells(total, totalCapacity))
        }
        return table
    }
}

extension Report {
    /// What the report rests on, in one sentence (printed under every report and page).
    public var basisSentence: String {
        let calendar = PeriodCalendar(timeZone: query.timeZone)
        return "\(basis.records) jobs ended in \(calendar.format(window.lowerBound))..\(calendar.format(window.upperBound)) "
            + "(\(calendar.zoneName)); \(basis.sources) sources, \(basis.rejectedLines) rejected lines in the database"
            + (basis.rejectedLines > 0 ? " (see tally status)" : "")
    }
}
