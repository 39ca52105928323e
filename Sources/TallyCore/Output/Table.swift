import Foundation

/// A rectangular result (report or job list) that any output format can render.
public struct Table: Sendable, Hashable {
    public enum Cell: Sendable, Hashable {
        case text(String)
        case integer(Int64)
        case decimal(Double, places: Int)
        case empty
    }

    public var columns: [String]
    public var rows: [[Cell]]
    /// Right-aligned in terminal tables.
    public var numericColumns: Set<Int>

    public init(columns: [String], rows: [[Cell]] = [], numericColumns: Set<Int> = []) {
        self.columns = columns; self.rows = rows; self.numericColumns = numericColumns
    }
}

public enum OutputFormat: String, Sendable, CaseIterable, Codable {
    case table, csv, json
}

extension Table.Cell {
    var plain: String {
        switch self {
        case let .text(value): value
        case let .integer(value): String(value)
        case let .decimal(value, places): fixedPoint(value, places: places)
        case .empty: ""
        }
    }
}

/// `value` with exactly `places` decimals, rounded half away from zero. Integer arithmetic:
/// `String(format:)` goes through CoreFoundation and dominated large reports.
public func fixedPoint(_ value: Double, places: Int) -> String {
    guard value.isFinite else { return value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf") }
    var scale: Double = 1
    for _ in 0..<places { scale *= 10 }
    let magnitude = (abs(value) * scale).rounded()
    guard magnitude < 9e18 else { return String(value) }
    let scaled = UInt64(magnitude)
    let divisor = UInt64(scale)
    var text = value < 0 && scaled > 0 ? "-" : ""
    text += String(scaled / divisor)
    if places > 0 {
        let fraction = String(scaled % divisor)
        text += "." + String(repeating: "0", count: places - fraction.count) + fraction
    }
    return text
}

extension Table {
    public func render(_ format: OutputFormat) -> String {
        switch format {
        case .table: renderText()
        case .csv: renderCSV()
        case .json: renderJSON()
        }
    }

    /// Columns padded to their widest cell, numbers right-aligned.
    public func renderText() -> String {
        let texts = rows.map { $0.map(\.plain) }
        var widths = columns.map(\.count)
        for row in texts {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.count)
            }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                let pad = String(repeating: " ", count: max(0, widths[index] - cell.count))
                return numericColumns.contains(index) ? pad + cell : cell + pad
            }.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }
        var out = line(columns) + "\n"
        out += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n"
        for row in texts { out += line(row) + "\n" }
        return out
    }

    /// RFC 4180: fields with commas, quotes or line breaks are quoted, quotes doubled.
    public func renderCSV() -> String {
        func field(_ text: String) -> String {
            if text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
                return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            }
            return text
        }
        var out = columns.map(field).joined(separator: ",") + "\n"
        for row in rows { out += row.map { field($0.plain) }.joined(separator: ",") + "\n" }
        return out
    }

    /// An array of objects, one per row, keyed by column name; numbers stay numbers.
    public func renderJSON() -> String {
        var out = "["
        for (rowIndex, row) in rows.enumerated() {
            out += rowIndex == 0 ? "\n  {" : ",\n  {"
            for (index, cell) in row.enumerated() {
                out += (index == 0 ? "" : ", ") + jsonString(columns[index]) + ": "
                switch cell {
                case let .text(value): out += jsonString(value)
                case let .integer(value): out += String(value)
                case let .decimal(value, places): out += value.isFinite ? fixedPoint(value, places: places) : "null"
                case .empty: out += "null"
                }
            }
            out += "}"
        }
        return out + (rows.isEmpty ? "]\n" : "\n]\n")
    }
}

/// JSON string literal with the escapes RFC 8259 requires.
public func jsonString(_ value: String) -> String {
    var out = "\""
    for scalar in value.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 {
                out += String(format: "\\u%04x", scalar.value)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}
