import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import TallyCore
import TallyServer
import TallyStore

/// The site agent: queues the site's new and changed records into the outbox as signed batches,
/// then sends each to the central `POST /api/v1/records`, removing it only once acknowledged.
/// Records changed since they were shipped get a new row id, so "after the last queued id" is
/// exactly "created or changed since the last shipment".
public struct Shipper: Sendable {
    public struct Options: Sendable {
        /// The central server, e.g. `https://central.example.org:8443`.
        public var url: String
        public var token: String
        public var site: String
        public var signingKey: Curve25519.Signing.PrivateKey?
        public var batchSize = 1000
        public var connectTimeout: TimeAmount = .seconds(10)
        /// The whole request, from connecting to the last byte of the answer.
        public var requestTimeout: TimeAmount = .seconds(60)
        /// Attempts per batch in one run, and the waits between them.
        public var retry = RetryPolicy()
        /// PEM file of the CA (or self-signed certificate) to trust for https.
        public var caFile: String?

        public init(url: String, token: String, site: String) {
            self.url = url; self.token = token; self.site = site
        }
    }

    public struct Report: Sendable {
        public var queuedBatches = 0
        public var queuedRecords = 0
        public var sentBatches = 0
        public var sentRecords = 0
        /// Batches the server had already stored (a resend after a lost acknowledgement).
        public var replayedBatches = 0
        public var rejected: [(batch: String, reason: String)] = []
        public var retries = 0

        public init() {}
    }

    public enum ShipError: Error, CustomStringConvertible {
        case gaveUp(batch: String, attempts: Int, lastError: String)
        case refused(batch: String, status: Int, reason: String)

        public var description: String {
            switch self {
            case let .gaveUp(batch, attempts, lastError):
                "batch \(batch): no acknowledgement after \(attempts) attempts (last: \(lastError)); it stays in the outbox for the next run"
            case let .refused(batch, status, reason):
                "batch \(batch): the server refused the credentials (HTTP \(status): \(reason)); nothing was removed from the outbox"
            }
        }
    }

    let store: any UsageStore
    let outbox: Outbox
    let options: Options
    let logger: Logger

    public init(store: any UsageStore, outbox: Outbox, options: Options, logger: Logger = Logger(label: "tally.ship")) {
        self.store = store; self.outbox = outbox; self.options = options; self.logger = logger
    }

    /// Queues every record of the site stored after the last queued one.
    public func queue(into report: inout Report) async throws {
        var cursor = try outbox.queuedThrough()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        while true {
            let page = try await store.jobPage(JobQuery(filters: [.site: [options.site]], limit: options.batchSize,
                                                        afterID: cursor))
            guard let last = page.last else { break }
            let body = try encoder.encode(page.map { APIRecord($0.record) })
            let id = UUID().uuidString.lowercased()
            let hash = BatchSigning.contentHash(body)
            let signature = try options.signingKey.map {
                try BatchSigning.sign(batchID: id, site: options.site, hash: hash, key: $0)
            }
            try outbox.add(id: id, site: options.site, lastRecordID: last.id, records: page.count, contentHash: hash,
                           signature: signature, body: body)
            try outbox.setQueuedThrough(last.id)
            cursor = last.id
            report.queuedBatches += 1
            report.queuedRecords += page.count
        }
    }

    /// Sends every pending batch, oldest first.
    public func send(into report: inout Report) async throws {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: options.connectTimeout, read: options.requestTimeout)
        if let caFile = options.caFile {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(caFile)
            configuration.tlsConfiguration = tls
        }
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            for batch in try outbox.batches() {
                try await send(batch, client: client, report: &report)
            }
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    private struct Retryable: Error, CustomStringConvertible {
        var description: String
    }

    private func send(_ batch: Outbox.Batch, client: HTTPClient, report: inout Report) async throws {
        var attempt = 0
        while true {
            attempt += 1
            do {
                let (status, answer, replayed) = try await post(batch, client: client)
                switch status {
                case 200, 207:
                    try outbox.remove(batch)
                    report.sentBatches += 1
                    report.sentRecords += batch.records
                    if replayed { report.replayedBatches += 1 }
                    logger.info("batch acknowledged", metadata: ["batch": "\(batch.id)", "records": "\(batch.records)",
                                                                 "status": "\(status)", "replay": "\(replayed)"])
                    return
                case 400, 409, 413, 422:
                    // This batch will never be accepted as it is: set it aside, say so, go on.
                    let reason = "HTTP \(status): \(answer)"
                    try outbox.reject(batch, reason: reason)
                    report.rejected.append((batch.id, reason))
                    logger.error("batch rejected", metadata: ["batch": "\(batch.id)", "reason": "\(reason)"])
                    return
                case 401, 403:
                    throw ShipError.refused(batch: batch.id, status: status, reason: answer)
                default:
                    throw Retryable(description: "HTTP \(status): \(answer.prefix(200))")
                }
            } catch let error as ShipError {
                throw error
            } catch {
                let reason = (error as? Retryable)?.description ?? Self.describe(error)
                guard attempt < options.retry.attempts else {
                    throw ShipError.gaveUp(batch: batch.id, attempts: attempt, lastError: reason)
                }
                let delay = options.retry.delay(afterAttempt: attempt)
                report.retries += 1
                logger.warning("batch not acknowledged; retrying", metadata: [
                    "batch": "\(batch.id)", "attempt": "\(attempt)/\(options.retry.attempts)", "error": "\(reason)",
                    "retry_in_s": "\(String(format: "%.2f", delay))"])
                try await Task.sleep(for: .milliseconds(Int(delay * 1000)))
            }
        }
    }

    private func post(_ batch: Outbox.Batch, client: HTTPClient) async throws -> (Int, String, Bool) {
        var request = HTTPClientRequest(url: options.url.trimmingSuffix("/") + "/api/v1/records")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(options.token)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: BatchSigning.batchIDHeader, value: batch.id)
        request.headers.add(name: BatchSigning.siteHeader, value: batch.site)
        request.headers.add(name: BatchSigning.hashHeader, value: batch.contentHash)
        if let signature = batch.signature { request.headers.add(name: BatchSigning.signatureHeader, value: signature) }
        request.body = .bytes(ByteBuffer(bytes: batch.body))
        let response = try await client.execute(request, deadline: .now() + options.requestTimeout)
        let body = try await response.body.collect(upTo: 16 << 20)
        return (Int(response.status.code), String(buffer: body), response.headers[BatchSigning.replayHeader].first == "true")
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout: return "timed out"
            case .connectTimeout: return "connect timed out"
            default: return "\(error)"
            }
        }
        return "\(error)"
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}
