import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// Where a broker listens and how to log in.
public struct STOMPEndpoint: Sendable {
    public var host: String
    public var port: Int
    /// The `host` header of CONNECT (a broker's virtual host); default: `host`.
    public var virtualHost: String?
    public var login: String?
    public var passcode: String?
    /// TLS (`stomp+ssl`), with the site's certificate as the client certificate where the
    /// broker asks for one, as SSM's `use_ssl` does.
    public var tls: TLSConfiguration?

    public init(host: String, port: Int) {
        self.host = host; self.port = port
    }
}

/// An open STOMP connection inside `STOMPConnection.withSession`: frames out, frames in.
public struct STOMPSession: ~Copyable {
    var inbound: NIOAsyncChannelInboundStream<STOMPFrame>.AsyncIterator
    let outbound: NIOAsyncChannelOutboundWriter<STOMPFrame>
    public private(set) var version = "1.0"
    var receipts = 0

    public func send(_ frame: STOMPFrame) async throws {
        try await outbound.write(frame)
    }

    /// The broker's next frame. An ERROR frame is thrown; so is a closed connection, and no
    /// answer within the session's answer timeout.
    public mutating func next() async throws -> STOMPFrame {
        guard let frame = try await inbound.next() else { throw STOMPError.closed }
        if frame.command == "ERROR" {
            throw STOMPError.broker(message: frame["message"] ?? "", details: String(decoding: frame.body, as: UTF8.self))
        }
        return frame
    }

    /// Sends `frame` with a receipt request and waits for that receipt.
    public mutating func sendAwaitingReceipt(_ frame: STOMPFrame, receipt: String) async throws {
        var frame = frame
        frame.headers.append((name: "receipt", value: receipt))
        try await send(frame)
        let answer = try await next()
        guard answer.command == "RECEIPT", answer["receipt-id"] == receipt else {
            throw STOMPError.unexpected("\(answer.command) \(answer["receipt-id"] ?? "") while waiting for receipt \(receipt)")
        }
    }

    mutating func connect(_ endpoint: STOMPEndpoint) async throws {
        var headers = [("accept-version", "1.2,1.1,1.0"), ("host", endpoint.virtualHost ?? endpoint.host), ("heart-beat", "0,0")]
        if let login = endpoint.login { headers.append(("login", login)) }
        if let passcode = endpoint.passcode { headers.append(("passcode", passcode)) }
        try await send(STOMPFrame("CONNECT", headers: headers))
        let answer = try await next()
        guard answer.command == "CONNECTED" else { throw STOMPError.unexpected("\(answer.command) instead of CONNECTED") }
        version = answer["version"] ?? "1.0"
    }

    /// A clean goodbye: the broker's receipt of DISCONNECT says it has everything sent before.
    public mutating func disconnect() async throws {
        receipts += 1
        try await sendAwaitingReceipt(STOMPFrame("DISCONNECT"), receipt: "disconnect-\(receipts)")
    }
}

public enum STOMPConnection {
    /// Connects, logs in, runs `body` and closes, whatever `body` does. Each wait for the broker
    /// (connecting, CONNECTED, a receipt) is bounded: a broker that stops answering is an error,
    /// not a hang.
    public static func withSession<T: Sendable>(
        _ endpoint: STOMPEndpoint, connectTimeout: TimeAmount = .seconds(10), answerTimeout: TimeAmount = .seconds(30),
        _ body: (inout STOMPSession) async throws -> T
    ) async throws -> T {
        let serverName = Self.isAddress(endpoint.host) ? nil : endpoint.host
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(connectTimeout)
            .connect(host: endpoint.host, port: endpoint.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls = endpoint.tls {
                        let context = try NIOSSLContext(configuration: tls)
                        try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: serverName))
                    }
                    try channel.pipeline.syncOperations.addHandlers([
                        ByteToMessageHandler(STOMPFrameDecoder()),
                        MessageToByteHandler(STOMPFrameEncoder()),
                        AnswerTimeoutHandler(timeout: answerTimeout),
                    ])
                    return try NIOAsyncChannel<STOMPFrame, STOMPFrame>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var session = STOMPSession(inbound: inbound.makeAsyncIterator(), outbound: outbound)
            try await session.connect(endpoint)
            return try await body(&session)
        }
    }

    static func isAddress(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }
}

/// Bounds each wait for an answer: armed when a frame that expects one is written (CONNECT, or
/// any frame asking for a receipt), re-armed by each frame read while answers are owed, and on
/// expiry closes the connection with `STOMPError.timedOut`.
final class AnswerTimeoutHandler: ChannelDuplexHandler {
    typealias InboundIn = STOMPFrame
    typealias InboundOut = STOMPFrame
    typealias OutboundIn = STOMPFrame
    typealias OutboundOut = STOMPFrame

    let timeout: TimeAmount
    private var owed = 0
    private var timer: Scheduled<Void>?

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let frame = unwrapOutboundIn(data)
        if frame.command == "CONNECT" || frame.command == "STOMP" || frame["receipt"] != nil {
            owed += 1
            arm(context)
        }
        context.write(data, promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        if frame.command == "RECEIPT" || frame.command == "CONNECTED" { owed = max(0, owed - 1) }
        if owed > 0 { arm(context) } else { disarm() }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    private func arm(_ context: ChannelHandlerContext) {
        disarm()
        let seconds = Double(timeout.nanoseconds) / 1e9
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: timeout) {
            let context = loopBound.value
            context.fireErrorCaught(STOMPError.timedOut(seconds: seconds))
            context.close(promise: nil)
        }
    }

    private func disarm() {
        timer?.cancel()
        timer = nil
    }
}
