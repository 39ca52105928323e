import NIOCore

/// One STOMP 1.2 frame (https://stomp.github.io/stomp-specification-1.2.html): a command, headers
/// in order (the first of a repeated name wins), and a body.
public struct STOMPFrame: Sendable, Equatable {
    public var command: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(_ command: String, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.command = command
        self.headers = headers.map { (name: $0.0, value: $0.1) }
        self.body = body
    }

    public subscript(name: String) -> String? {
        headers.first { $0.name == name }?.value
    }

    public static func == (lhs: STOMPFrame, rhs: STOMPFrame) -> Bool {
        lhs.command == rhs.command && lhs.body == rhs.body
            && lhs.headers.map(\.name) == rhs.headers.map(\.name) && lhs.headers.map(\.value) == rhs.headers.map(\.value)
    }

    /// CONNECT and CONNECTED carry their headers unescaped (the spec keeps them 1.0-compatible).
    var escapesHeaders: Bool { command != "CONNECT" && command != "CONNECTED" }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeString(command)
        buffer.writeInteger(UInt8(ascii: "\n"))
        var wroteLength = false
        for (name, value) in headers {
            if name == "content-length" { wroteLength = true }
            buffer.writeString(escapesHeaders ? Self.escape(name) : name)
            buffer.writeInteger(UInt8(ascii: ":"))
            buffer.writeString(escapesHeaders ? Self.escape(value) : value)
            buffer.writeInteger(UInt8(ascii: "\n"))
        }
        // The length lets a body hold NUL bytes, and lets the broker read it without scanning.
        if !wroteLength, !body.isEmpty { buffer.writeString("content-length:\(body.count)\n") }
        buffer.writeInteger(UInt8(ascii: "\n"))
        buffer.writeBytes(body)
        buffer.writeInteger(UInt8(0))
    }

    static func escape(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == 0x5C || $0 == 0x0A || $0 == 0x0D || $0 == 0x3A }) else { return text }
        var out = ""
        for character in text.unicodeScalars {
            switch character {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case ":": out += "\\c"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    static func unescape(_ text: Substring) throws(STOMPError) -> String {
        guard text.contains("\\") else { return String(text) }
        var out = ""
        var iterator = text.unicodeScalars.makeIterator()
        while let character = iterator.next() {
            guard character == "\\" else { out.unicodeScalars.append(character); continue }
            switch iterator.next() {
            case "\\": out += "\\"
            case "n": out += "\n"
            case "r": out += "\r"
            case "c": out += ":"
            default: throw .malformed("undefined escape in header \"\(text)\"")
            }
        }
        return out
    }
}

public enum STOMPError: Error, CustomStringConvertible, Equatable {
    case malformed(String)
    case tooLarge(Int)
    case timedOut(seconds: Double)
    case closed
    /// The broker answered with an ERROR frame.
    case broker(message: String, details: String)
    case unexpected(String)

    public var description: String {
        switch self {
        case let .malformed(what): "malformed STOMP frame: \(what)"
        case let .tooLarge(bytes): "STOMP frame larger than \(bytes) bytes"
        case let .timedOut(seconds): "no answer from the broker within \(seconds.formatted()) s"
        case .closed: "the broker closed the connection"
        case let .broker(message, details): "the broker answered ERROR: \(message)" + (details.isEmpty ? "" : " (\(details.prefix(300)))")
        case let .unexpected(what): "unexpected answer from the broker: \(what)"
        }
    }
}

/// Bytes to frames. End-of-line bytes between frames are heart-beats and skipped; a body is read
/// by its content-length when it has one, else up to the NUL.
struct STOMPFrameDecoder: NIOSingleStepByteToMessageDecoder {
    typealias InboundOut = STOMPFrame
    var maximumFrameBytes = 16 << 20

    mutating func decode(buffer: inout ByteBuffer) throws -> STOMPFrame? {
        while let byte = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self), byte == 0x0A || byte == 0x0D {
            buffer.moveReaderIndex(forwardBy: 1)
        }
        let view = buffer.readableBytesView
        guard !view.isEmpty else { return nil }
        // The header block ends at the first empty line.
        var lineStart = view.startIndex
        var lines: [Substring] = []
        var bodyStart: Int?
        var index = view.startIndex
        while index < view.endIndex {
            if view[index] == 0x0A {
                var lineEnd = index
                if lineEnd > lineStart, view[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                if lineEnd == lineStart {
                    bodyStart = index + 1
                    break
                }
                lines.append(Substring(decoding: view[lineStart..<lineEnd], as: UTF8.self))
                lineStart = index + 1
            }
            index += 1
        }
        guard let bodyStart else {
            if view.count > maximumFrameBytes { throw STOMPError.tooLarge(maximumFrameBytes) }
            return nil
        }
        guard let command = lines.first, !command.isEmpty else { throw STOMPError.malformed("no command") }
        var frame = STOMPFrame(String(command))
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { throw STOMPError.malformed("header without a colon: \(line.prefix(80))") }
            let name = line[..<colon], value = line[line.index(after: colon)...]
            frame.headers.append(frame.escapesHeaders ? (try STOMPFrame.unescape(name), try STOMPFrame.unescape(value))
                                                      : (String(name), String(value)))
        }
        let bodyEnd: Int
        if let length = frame["content-length"] {
            guard let count = Int(length), count >= 0 else { throw STOMPError.malformed("content-length \(length)") }
            guard count <= maximumFrameBytes else { throw STOMPError.tooLarge(maximumFrameBytes) }
            guard view.endIndex - bodyStart > count else { return nil }
            bodyEnd = bodyStart + count
            guard view[bodyEnd] == 0 else { throw STOMPError.malformed("no NUL after a \(count)-byte body") }
        } else {
            guard let nul = view[bodyStart...].firstIndex(of: 0) else {
                if view.count > maximumFrameBytes { throw STOMPError.tooLarge(maximumFrameBytes) }
                return nil
            }
            bodyEnd = nul
        }
        frame.body = Array(view[bodyStart..<bodyEnd])
        buffer.moveReaderIndex(forwardBy: bodyEnd + 1 - view.startIndex)
        return frame
    }

    mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> STOMPFrame? {
        try decode(buffer: &buffer)
    }
}

struct STOMPFrameEncoder: MessageToByteEncoder {
    typealias OutboundIn = STOMPFrame

    func encode(data: STOMPFrame, out: inout ByteBuffer) throws {
        data.write(to: &out)
    }
}
