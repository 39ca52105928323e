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
    public var plain: String {
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

extension Table.Cell {
    /// `TableWriter.csvField(plain)`, appended as bytes: a report of hundreds of thousands of
    /// rows (day × user over a year) spent most of its time making a String per cell.
    func appendCSV(to bytes: inout [UInt8]) {
        switch self {
        case let .text(value):
            if value.utf8.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 10 || $0 == 13 }) {
                bytes.append(contentsOf: TableWriter.csvField(value).utf8)
            } else {
                bytes.append(contentsOf: value.utf8)
            }
        case let .integer(value):
            if value < 0 { bytes.append(UInt8(ascii: "-")) }
            Self.appendDigits(value.magnitude, to: &bytes)
        case let .decimal(value, places):
            guard value.isFinite, places >= 0 else {
                bytes.append(contentsOf: plain.utf8)
                return
            }
            var scale: Double = 1
            for _ in 0..<places { scale *= 10 }
            let magnitude = (abs(value) * scale).rounded()
            guard magnitude < 9e18 else {
                bytes.append(contentsOf: plain.utf8)
                return
            }
            let scaled = UInt64(magnitude)
            let divisor = UInt64(scale)
            if value < 0 && scaled > 0 { bytes.append(UInt8(ascii: "-")) }
            Self.appendDigits(scaled / divisor, to: &bytes)
            if places > 0 {
                bytes.append(UInt8(ascii: "."))
                var fraction = scaled % divisor
                let start = bytes.count
                for _ in 0..<places {
                    bytes.append(UInt8(ascii: "0") + UInt8(fraction % 10))
                    fraction /= 10
                }
                bytes[start...].reverse()
            }
        case .empty:
            break
        }
    }

    private static func appendDigits(_ value: UInt64, to bytes: inout [UInt8]) {
        let start = bytes.count
        var rest = value
        repeat {
            bytes.append(UInt8(ascii: "0") + UInt8(rest % 10))
            rest /= 10
        } while rest > 0
        bytes[start...].reverse()
    }
}

extension Table {
    public func render(_ format: OutputFormat) -> String {
        if format == .csv {
            var bytes = Array((columns.map(TableWriter.csvField).joined(separator: ",") + "\n").utf8)
            bytes.reserveCapacity(bytes.count + rows.count * 16 * max(1, columns.count))
            for row in rows {
                for (index, cell) in row.enumerated() {
                    if index > 0 { bytes.append(UInt8(ascii: ",")) }
                    cell.appendCSV(to: &bytes)
                }
                bytes.append(UInt8(ascii: "\n"))
            }
            return String(decoding: bytes, as: UTF8.self)
        }
        var out = ""
        var writer = TableWriter(columns: columns, numericColumns: numericColumns, format: format,
                                 bufferedRows: Int.max) { out += $0 }
        for row in rows { writer.append(row) }
        writer.finish()
        return out
    }

    /// Columns padded to their widest cell, numbers right-aligned.
    public func renderText() -> String { render(.table) }

    /// RFC 4180: fields with commas, quotes or line breaks are quoted, quotes doubled.
    public func renderCSV() -> String { render(.csv) }

    /// An array of objects, one per row, keyed by column name; numbers stay numbers.
    public func renderJSON() -> String { render(.json) }
}

/// Writes rows as they come, so a listing of millions of jobs never sits in memory. A terminal
/// table needs column widths: it holds the first `bufferedRows` rows to size them, then streams
/// (a later, wider cell just runs over).
public struct TableWriter {
    public let columns: [String]
    public let numericColumns: Set<Int>
    public let format: OutputFormat
    private let bufferedRows: Int
    private let write: (String) -> Void
    private var pending: [[String]] = []
    private var widths: [Int]?
    private var rowsWritten = 0

    public init(columns: [String], numericColumns: Set<Int>, format: OutputFormat, bufferedRows: Int = 1000,
                write: @escaping (String) -> Void) {
        self.columns = columns; self.numericColumns = numericColumns; self.format = format
        self.bufferedRows = bufferedRows; self.write = write
        if format == .csv { write(columns.map(Self.csvField).joined(separator: ",") + "\n") }
        if format == .json { write("[") }
    }

    public mutating func append(_ row: [Table.Cell]) {
        switch format {
        case .csv:
            write(row.map { Self.csvField($0.plain) }.joined(separator: ",") + "\n")
        case .json:
            var out = rowsWritten == 0 ? "\n  {" : ",\n  {"
            for (index, cell) in row.enumerated() {
                out += (index == 0 ? "" : ", ") + jsonString(columns[index]) + ": "
                switch cell {
                case let .text(value): out += jsonString(value)
                case let .integer(value): out += String(value)
                case let .decimal(value, places): out += value.isFinite ? fixedPoint(value, places: places) : "null"
                case .empty: out += "null"
                }
            }
            write(out + "}")
        case .table:
            let texts = row.map(\.plain)
            if let widths {
                write(line(texts, widths))
            } else {
                pending.append(texts)
                if pending.count >= bufferedRows { flushPending() }
            }
        }
        rowsWritten += 1
    }

    public mutating func finish() {
        switch format {
        case .csv: break
        case .json: write(rowsWritten == 0 ? "]\n" : "\n]\n")
        case .table: if widths == nil { flushPending() }
        }
    }

    private mutating func flushPending() {
        var widths = columns.map(\.count)
        for row in pending {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.count)
            }
        }
        self.widths = widths
        write(line(columns, widths))
        write(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n")
        for row in pending { write(line(row, widths)) }
        pending = []
    }

    private func line(_ cells: [String], _ widths: [Int]) -> String {
        var out = ""
        for (index, cell) in cells.enumerated() {
            let pad = String(repeating: " ", count: max(0, (index < widths.count ? widths[index] : 0) - cell.count))
            if index > 0 { out += "  " }
            out += numericColumns.contains(index) ? pad + cell : cell + pad
        }
        while out.last == " " { out.removeLast() }
        return out + "\n"
    }

    static func csvField(_ text: String) -> String {
        if text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
            return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return text
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
