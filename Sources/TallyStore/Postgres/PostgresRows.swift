import NIOCore
import PostgresNIO

/// A PostgreSQL result row read by column index.
struct PostgresStoredRow: StoredRow {
    let row: PostgresRandomAccessRow

    init(_ row: PostgresRow) { self.row = PostgresRandomAccessRow(row) }
    init(row: PostgresRandomAccessRow) { self.row = row }

    func int(_ column: Int) throws -> Int64 { try row[column].decode(Int64.self) }
    func optionalInt(_ column: Int) throws -> Int64? { try row[column].decode(Int64?.self) }
    func optionalText(_ column: Int) throws -> String? { try row[column].decode(String?.self) }
}

extension SQLText {
    var postgresQuery: PostgresQuery {
        get {
            var bindings = PostgresBindings(capacity: values.count)
            for value in values {
                switch value {
                case let .int(number): bindings.append(number)
                case let .text(string): bindings.append(string)
                case .null: bindings.appendNull()
                case let .ints(numbers): bindings.append(numbers)
                }
            }
            return PostgresQuery(unsafeSQL: sql, binds: bindings)
        }
    }
}

/// Rows in COPY's text format: tab-separated, `\N` for NULL, backslash escapes.
struct CopyText {
    private(set) var buffer: ByteBuffer
    private var atRowStart = true

    init(capacity: Int = 1 << 20) { buffer = ByteBufferAllocator().buffer(capacity: capacity) }

    var byteCount: Int { buffer.readableBytes }

    private mutating func separate() {
        if atRowStart { atRowStart = false } else { buffer.writeInteger(UInt8(ascii: "\t")) }
    }

    mutating func int(_ value: Int64?) {
        separate()
        guard let value else { buffer.writeStaticString("\\N"); return }
        // Digits right to left into scratch space, then one write: COPY payloads are millions
        // of integers, and each write into a ByteBuffer checks its capacity and storage.
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { scratch in
            var magnitude = value.magnitude
            var start = scratch.count
            repeat {
                start -= 1
                scratch[start] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            if value < 0 {
                start -= 1
                scratch[start] = UInt8(ascii: "-")
            }
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: scratch[start...]))
        }
    }

    mutating func bool(_ value: Bool) {
        separate()
        buffer.writeInteger(UInt8(ascii: value ? "t" : "f"))
    }

    mutating func text(_ value: String?) {
        separate()
        guard let value else { buffer.writeStaticString("\\N"); return }
        var plain = true
        for byte in value.utf8 where byte == UInt8(ascii: "\\") || byte < 0x20 {
            plain = false
            break
        }
        if plain {
            buffer.writeString(value)
            return
        }
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
            case UInt8(ascii: "\t"): buffer.writeStaticString("\\t")
            case UInt8(ascii: "\n"): buffer.writeStaticString("\\n")
            case UInt8(ascii: "\r"): buffer.writeStaticString("\\r")
            default: buffer.writeInteger(byte)
            }
        }
    }

    mutating func endRow() {
        buffer.writeInteger(UInt8(ascii: "\n"))
        atRowStart = true
    }

    /// Hands the rows over and starts empty.
    mutating func take() -> ByteBuffer {
        defer { buffer.clear() }
        return buffer
    }
}
