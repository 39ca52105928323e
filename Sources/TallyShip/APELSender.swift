import Foundation
import Logging
import NIOCore
import TallyCore

/// Sends the messages of an APEL outgoing queue (what `tally export apel --out` writes, and what
/// SSM's `ssmsend` reads) to a broker over STOMP, signed as SSM signs them, so a site needs no
/// SSM. Like `ssmsend`, each message goes as a SEND with `empa-id` and `receipt` set to its queue
/// id and leaves the queue only once the broker's RECEIPT for it arrives: a message is never
/// lost, and one whose receipt was lost is sent again with the same `empa-id` (APEL's loader
/// replaces records by their natural key, so a repeat changes nothing there). Unlike `ssmsend`,
/// every wait is bounded and a dropped connection is retried with `tally ship`'s backoff.
public struct APELSender: Sendable {
    public struct Options: Sendable {
        public var endpoint: STOMPEndpoint
        /// E.g. `/queue/global.accounting.cpu.central` (APEL's production queue) or a test queue.
        public var destination: String
        public var connectTimeout: TimeAmount = .seconds(10)
        /// How long to wait for each answer (CONNECTED, a message's RECEIPT).
        public var answerTimeout: TimeAmount = .seconds(60)
        /// Attempts in a row without a message acknowledged, and the waits between them.
        public var retry = RetryPolicy()
        /// Ask the broker to keep messages on disk (ActiveMQ keeps STOMP messages in memory only
        /// unless told), so a broker restart loses nothing it acknowledged.
        public var persistent = true

        public init(endpoint: STOMPEndpoint, destination: String) {
            self.endpoint = endpoint; self.destination = destination
        }
    }

    public struct Report: Sendable {
        public var sent = 0
        public var bytes = 0
        public var retries = 0
        /// Messages another sender (an `ssmsend` on the same queue) held locked, left to it.
        public var lockedElsewhere = 0

        public init() {}
    }

    public enum SendError: Error, CustomStringConvertible {
        case gaveUp(attempts: Int, remaining: Int, lastError: String)
        case refused(String)

        public var description: String {
            switch self {
            case let .gaveUp(attempts, remaining, lastError):
                "no message acknowledged after \(attempts) attempts in a row (last: \(lastError)); \(remaining) messages stay queued for the next run"
            case let .refused(reason):
                "the broker refused the connection: \(reason); nothing was removed from the queue"
            }
        }
    }

    let queue: String
    let signer: SMIMESigner
    let options: Options
    let logger: Logger

    public init(queue: String, signer: SMIMESigner, options: Options, logger: Logger = Logger(label: "tally.ship.apel")) {
        self.queue = queue; self.signer = signer; self.options = options; self.logger = logger
    }

    /// Sends every queued message, oldest first, until the queue is empty (messages added while
    /// sending go too) or the attempts run out.
    public func send(into report: inout Report) async throws {
        DirectoryQueue.purge(queue)
        var failures = 0
        while true {
            let pending = try DirectoryQueue.elements(in: queue)
            guard !pending.isEmpty else { break }
            var progress = Counts()
            let failure: any Error
            do {
                progress = try await STOMPConnection.withSession(
                    options.endpoint, connectTimeout: options.connectTimeout, answerTimeout: options.answerTimeout
                ) { session in
                    try await sendAll(pending, session: &session)
                }
                report.sent += progress.sent
                report.bytes += progress.bytes
                report.lockedElsewhere = progress.locked
                failures = 0
                if progress.sent == 0 { break } // what is left is another sender's
                continue
            } catch let partial as PartialSend {
                progress = partial.counts
                failure = partial.underlying
            } catch STOMPError.broker(let message, let details) {
                // An ERROR answering CONNECT: credentials or access, which waiting will not mend.
                throw SendError.refused(STOMPError.broker(message: message, details: details).description)
            } catch {
                failure = error
            }
            report.sent += progress.sent
            report.bytes += progress.bytes
            failures = progress.sent > 0 ? 1 : failures + 1
            let reason = Self.describe(failure)
            guard failures < options.retry.attempts else {
                throw SendError.gaveUp(attempts: failures, remaining: (try? DirectoryQueue.elements(in: queue).count) ?? 0,
                                       lastError: reason)
            }
            let delay = options.retry.delay(afterAttempt: failures)
            report.retries += 1
            logger.warning("APEL messages not acknowledged; reconnecting", metadata: [
                "broker": "\(options.endpoint.host):\(options.endpoint.port)", "attempt": "\(failures)/\(options.retry.attempts)",
                "error": "\(reason)", "retry_in_s": "\(String(format: "%.2f", delay))"])
            try await Task.sleep(for: .milliseconds(Int(delay * 1000)))
        }
        DirectoryQueue.purge(queue)
    }

    struct Counts: Sendable { var sent = 0, bytes = 0, locked = 0 }

    /// What one connection got done before it failed.
    struct PartialSend: Error {
        var counts: Counts
        var underlying: any Error
    }

    private func sendAll(_ pending: [DirectoryQueue.Element], session: inout STOMPSession) async throws -> Counts {
        var counts = Counts()
        for element in pending {
            guard DirectoryQueue.lock(element) else { counts.locked += 1; continue }
            do {
                let text = try DirectoryQueue.read(element)
                let signed = try signer.sign(text)
                var headers = [("destination", options.destination), ("empa-id", element.id)]
                if options.persistent { headers.append(("persistent", "true")) }
                try await session.sendAwaitingReceipt(STOMPFrame("SEND", headers: headers, body: Array(signed.utf8)),
                                                      receipt: element.id)
                try DirectoryQueue.remove(element)
                counts.sent += 1
                counts.bytes += signed.utf8.count
                logger.debug("APEL message acknowledged", metadata: ["empa-id": "\(element.id)", "bytes": "\(signed.utf8.count)"])
            } catch {
                DirectoryQueue.unlock(element)
                throw PartialSend(counts: counts, underlying: error)
            }
        }
        do {
            try await session.disconnect()
        } catch {
            // Every message was acknowledged on its own receipt; a lost goodbye loses nothing.
            logger.debug("no receipt for DISCONNECT", metadata: ["error": "\(error)"])
        }
        return counts
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? ChannelError, case .connectTimeout = error { return "connect timed out" }
        return "\(error)"
    }
}
