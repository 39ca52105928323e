import Foundation
import TallyCore

/// `allocation` and `allocation_charge` rows: the SQL both backends run and how rows decode.
enum AllocationColumns {
    static let tables = """
        CREATE TABLE allocation (
            name TEXT PRIMARY KEY,
            dimension TEXT NOT NULL,
            owner TEXT NOT NULL,
            unit TEXT NOT NULL,
            amount_milli INTEGER NOT NULL,
            starts INTEGER NOT NULL,
            ends INTEGER NOT NULL,
            thresholds TEXT NOT NULL,
            user_limits TEXT NOT NULL,
            created_at INTEGER NOT NULL
        );
        CREATE TABLE allocation_charge (
            allocation TEXT NOT NULL REFERENCES allocation (name) ON DELETE CASCADE,
            charged_at INTEGER NOT NULL,
            amount_milli INTEGER NOT NULL,
            note TEXT NOT NULL,
            created_at INTEGER NOT NULL
        );
        CREATE INDEX allocation_charge_by_allocation ON allocation_charge (allocation, charged_at)
        """

    static let columns = ["name", "dimension", "owner", "unit", "amount_milli", "starts", "ends", "thresholds", "user_limits",
                          "created_at"]

    static func save(_ allocation: Allocation, replacing: Bool, dialect: SQLDialect) throws -> SQLText {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let values: [SQLValue] = [
            .text(allocation.name), .text(allocation.dimension.rawValue), .text(allocation.owner), .text(allocation.unit.rawValue),
            .int(allocation.amountMilli), .int(allocation.start), .int(allocation.end),
            .text(String(decoding: try encoder.encode(allocation.thresholds), as: UTF8.self)),
            .text(String(decoding: try encoder.encode(allocation.userLimitsMilli), as: UTF8.self)),
            .int(allocation.createdAt),
        ]
        var text = SQLText(dialect, "INSERT INTO allocation (\(columns.joined(separator: ", "))) VALUES (")
        for (index, value) in values.enumerated() {
            if index > 0 { text.append(", ") }
            text.bind(value)
        }
        text.append(")")
        if replacing {
            text.append(" ON CONFLICT (name) DO UPDATE SET "
                        + columns.dropFirst().map { "\($0) = excluded.\($0)" }.joined(separator: ", "))
        } else {
            text.append(" ON CONFLICT (name) DO NOTHING")
        }
        return text
    }

    static func select(dialect: SQLDialect) -> SQLText {
        SQLText(dialect, "SELECT \(columns.joined(separator: ", ")) FROM allocation ORDER BY name")
    }

    static func allocation<Row: StoredRow>(_ row: Row) throws -> Allocation {
        let decoder = JSONDecoder()
        guard let dimension = ReportDimension(rawValue: try row.text(1)), let unit = Allocation.Unit(rawValue: try row.text(3)) else {
            throw StoreError.corrupt("allocation \(try row.text(0)) has an unknown dimension or unit")
        }
        return Allocation(name: try row.text(0), dimension: dimension, owner: try row.text(2), unit: unit,
                          amountMilli: try row.int(4), start: try row.int(5), end: try row.int(6),
                          thresholds: try decoder.decode([Int].self, from: Data(try row.text(7).utf8)),
                          userLimitsMilli: try decoder.decode([String: Int64].self, from: Data(try row.text(8).utf8)),
                          createdAt: try row.int(9))
    }

    static func addCharge(_ charge: AllocationCharge, dialect: SQLDialect) -> SQLText {
        var text = SQLText(dialect, "INSERT INTO allocation_charge (allocation, charged_at, amount_milli, note, created_at) VALUES (")
        text.bind(charge.allocation); text.append(", "); text.bind(charge.at); text.append(", ")
        text.bind(charge.amountMilli); text.append(", "); text.bind(charge.note); text.append(", ")
        text.bind(Int64(Date().timeIntervalSince1970)); text.append(")")
        return text
    }

    static func charges(allocation: String, dialect: SQLDialect) -> SQLText {
        var text = SQLText(dialect, "SELECT allocation, charged_at, amount_milli, note FROM allocation_charge WHERE allocation = ")
        text.bind(allocation)
        text.append(" ORDER BY charged_at, created_at")
        return text
    }

    static func charge<Row: StoredRow>(_ row: Row) throws -> AllocationCharge {
        AllocationCharge(allocation: try row.text(0), at: try row.int(1), amountMilli: try row.int(2), note: try row.text(3))
    }
}
