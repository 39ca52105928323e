import TallyCore

/// `apel_summary` rows: columns in order, and the conversions both backends use.
enum APELSummaryColumns {
    static let all = ["site", "year", "month", "global_user", "vo", "vo_group", "vo_role", "submit_host", "infrastructure",
                      "service_level_type", "service_level", "node_count", "processors", "earliest_end", "latest_end",
                      "wall", "cpu", "jobs"]
    static let key = Array(all.prefix(13))

    static func values(_ row: APELSummaryRecord) -> [SQLValue] {
        let key = row.key
        return [.text(key.site), .int(key.year), .int(key.month), .text(key.globalUserName ?? ""), .text(key.vo ?? ""),
                .text(key.voGroup ?? ""), .text(key.voRole ?? ""), .text(key.submitHost ?? ""),
                .text(key.infrastructureType ?? ""), .text(key.serviceLevelType), .text(key.serviceLevel),
                .int(key.nodeCount ?? 0), .int(key.processors ?? 0), .int(row.earliestEndTime), .int(row.latestEndTime),
                .int(row.wallDuration), .int(row.cpuDuration), .int(row.numberOfJobs)]
    }

    static func upsert(_ row: APELSummaryRecord, dialect: SQLDialect) -> SQLText {
        var text = SQLText(dialect, "INSERT INTO apel_summary (\(all.joined(separator: ", "))) VALUES (")
        for (index, value) in values(row).enumerated() {
            if index > 0 { text.append(", ") }
            text.bind(value)
        }
        text.append(") ON CONFLICT (\(key.joined(separator: ", "))) DO UPDATE SET "
                    + all.dropFirst(13).map { "\($0) = excluded.\($0)" }.joined(separator: ", "))
        return text
    }

    static func select(month: Int64, dialect: SQLDialect) -> SQLText {
        var text = SQLText(dialect, "SELECT \(all.joined(separator: ", ")) FROM apel_summary WHERE year = ")
        text.bind(month / 12)
        text.append(" AND month = ")
        text.bind(month % 12 + 1)
        return text
    }

    static func row<Row: StoredRow>(_ row: Row) throws -> APELSummaryRecord {
        func optional(_ index: Int) throws -> String? {
            let text = try row.text(index)
            return text.isEmpty ? nil : text
        }
        func count(_ index: Int) throws -> Int64? {
            let value = try row.int(index)
            return value == 0 ? nil : value
        }
        var key = APELSummaryRecord.Key(site: try row.text(0), month: try row.int(2), year: try row.int(1),
                                        serviceLevelType: try row.text(9), serviceLevel: try row.text(10))
        key.globalUserName = try optional(3); key.vo = try optional(4); key.voGroup = try optional(5)
        key.voRole = try optional(6); key.submitHost = try optional(7); key.infrastructureType = try optional(8)
        key.nodeCount = try count(11); key.processors = try count(12)
        return APELSummaryRecord(key: key, earliestEndTime: try row.int(13), latestEndTime: try row.int(14),
                                 wallDuration: try row.int(15), cpuDuration: try row.int(16), numberOfJobs: try row.int(17))
    }
}
