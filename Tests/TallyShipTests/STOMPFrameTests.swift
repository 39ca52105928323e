import NIOCore
import Testing
@testable import TallyShip

struct STOMPFrameTests {
    func encoded(_ frame: STOMPFrame) -> ByteBuffer {
        var buffer = ByteBuffer()
        frame.write(to: &buffer)
        return buffer
    }

    func decodeAll(_ buffer: ByteBuffer) throws -> [STOMPFrame] {
        var decoder = STOMPFrameDecoder()
        var buffer = buffer
        var frames: [STOMPFrame] = []
        while let frame = try decoder.decode(buffer: &buffer) { frames.append(frame) }
        return frames
    }

    @Test func aSendFrameIsWrittenAsTheSpecSaysWithItsLength() {
        let frame = STOMPFrame("SEND", headers: [("destination", "/queue/a"), ("empa-id", "6b16a7e5/6b16a7e51edfaa")],
                               body: Array("hello\n".utf8))
        #expect(String(buffer: encoded(frame))
                == "SEND\ndestination:/queue/a\nempa-id:6b16a7e5/6b16a7e51edfaa\ncontent-length:6\n\nhello\n\0")
    }

    @Test func headersAreEscapedExceptInConnect() throws {
        let frame = STOMPFrame("SEND", headers: [("key:with", "line\nbreak\\and\rreturn")])
        #expect(String(buffer: encoded(frame)) == "SEND\nkey\\cwith:line\\nbreak\\\\and\\rreturn\n\n\0")
        #expect(try decodeAll(encoded(frame)) == [frame])
        let connect = STOMPFrame("CONNECT", headers: [("passcode", "a:b")])
        #expect(String(buffer: encoded(connect)) == "CONNECT\npasscode:a:b\n\n\0")
        #expect(try decodeAll(encoded(connect)) == [connect])
    }

    @Test func framesArriveInPiecesWithHeartBeatsBetween() throws {
        var stream = ByteBuffer(string: "\n\r\n")
        let receipt = STOMPFrame("RECEIPT", headers: [("receipt-id", "77")])
        let message = STOMPFrame("MESSAGE", headers: [("destination", "/queue/a"), ("content-length", "5")],
                                 body: [0x61, 0x00, 0x62, 0x0A, 0x63])
        var first = encoded(receipt), second = encoded(message)
        stream.writeBuffer(&first)
        stream.writeString("\n")
        stream.writeBuffer(&second)
        // Byte by byte, as the network may deliver it: every frame whole, none early.
        var decoder = STOMPFrameDecoder()
        var pending = ByteBuffer()
        var frames: [STOMPFrame] = []
        for byte in stream.readableBytesView {
            pending.writeInteger(byte)
            while let frame = try decoder.decode(buffer: &pending) { frames.append(frame) }
        }
        #expect(frames == [receipt, message])
        #expect(pending.readableBytes == 0)
    }

    @Test func crlfLineEndsAreAccepted() throws {
        let frames = try decodeAll(ByteBuffer(string: "CONNECTED\r\nversion:1.2\r\n\r\n\0"))
        #expect(frames.map(\.command) == ["CONNECTED"])
        #expect(frames.first?["version"] == "1.2")
    }

    @Test func theFirstOfARepeatedHeaderWins() throws {
        let frame = try #require(try decodeAll(ByteBuffer(string: "MESSAGE\nfoo:first\nfoo:second\n\nx\0")).first)
        #expect(frame["foo"] == "first")
    }

    @Test func malformedFramesAreErrorsNotCrashes() {
        #expect(throws: STOMPError.self) { try decodeAll(ByteBuffer(string: "MESSAGE\nno-colon\n\n\0")) }
        #expect(throws: STOMPError.self) { try decodeAll(ByteBuffer(string: "MESSAGE\nbad:\\x\n\n\0")) }
        #expect(throws: STOMPError.self) { try decodeAll(ByteBuffer(string: "MESSAGE\ncontent-length:1\n\nab\0")) }
        #expect(throws: STOMPError.self) { try decodeAll(ByteBuffer(string: "MESSAGE\ncontent-length:-4\n\n\0")) }
    }

    @Test func anEndlessHeaderIsBoundedByTheFrameLimit() {
        var decoder = STOMPFrameDecoder(maximumFrameBytes: 64)
        var buffer = ByteBuffer(string: "MESSAGE\n" + String(repeating: "x", count: 100))
        #expect(throws: STOMPError.tooLarge(64)) { _ = try decoder.decode(buffer: &buffer) }
    }
}
