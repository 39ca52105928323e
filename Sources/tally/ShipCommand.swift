import ArgumentParser
import Foundation
import Logging
import NIOCore
import TallyApp
import TallyCore
import TallyServer
import TallyShip
import TallyStore

struct Ship: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ship",
        abstract: "Send this site's records to a central tally serve, or its APEL messages to a broker.",
        discussion: "`tally ship --to URL …` is `tally ship records --to URL …`.",
        subcommands: [Records.self, APEL.self],
        defaultSubcommand: Records.self)

}

extension Ship {
    struct Records: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "records",
            abstract: "Send this site's records to a central tally serve, losing nothing.",
            discussion: """
                Queues the site's records created or changed since the last run into a durable outbox
                (one file per batch, written atomically, signed with --key when given), then sends each
                batch to the central POST /api/v1/records. A batch leaves the outbox only when the server
                acknowledges it; a resend after a lost acknowledgement changes nothing there (batch ids).
                Failed attempts are retried with exponential backoff and jitter, each logged. Batches the
                server refuses for good (400, 409, 413) are moved to OUTBOX/rejected with the reason.
                Run it from cron or a systemd timer, or with --every as a daemon.
                """)

        @OptionGroup var database: DatabaseOptions

        @Option(help: ArgumentHelp("The central server, e.g. https://central.example.org:8443.", valueName: "url"))
        var to: String

        @Option(help: ArgumentHelp("File holding a write token for this site (tally token create on the central server).", valueName: "path"))
        var tokenFile: String

        @Option(help: ArgumentHelp("This site's name (default: [site] name of the configuration in use).", valueName: "name"))
        var site: String?

        @Option(help: ArgumentHelp("Signing key (tally keys generate); its public key registered centrally with tally site register.", valueName: "path"))
        var key: String?

        @Option(help: ArgumentHelp("Outbox directory (default: the database's path + .outbox).", valueName: "dir"))
        var outbox: String?

        @Option(help: "Records per batch.")
        var batchSize = 1000

        @Option(help: ArgumentHelp("Seconds for a whole request, from connecting to the last byte of the answer.", valueName: "seconds"))
        var requestTimeout = 60.0

        @Option(help: ArgumentHelp("PEM file of the CA or self-signed certificate to trust for https.", valueName: "path"))
        var caFile: String?

        @OptionGroup var sending: SendingOptions

        @Flag(help: "Queue new records into the outbox without sending.")
        var queueOnly = false

        func validate() throws {
            guard batchSize > 0, batchSize <= 10_000 else { throw ValidationError("--batch-size takes 1 to 10,000") }
        }

        func run() async throws {
            let store = try await StoreLocation.open(database.db, mustExist: true)
            let configured = await store.currentConfiguration().site.name
            let siteName = site ?? configured
            guard let siteName, !siteName.isEmpty else {
                throw ValidationError("name the site: --site NAME (or [site] name in the configuration)")
            }
            let token = try String(contentsOfFile: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            var options = Shipper.Options(url: to, token: token, site: siteName)
            options.signingKey = try key.map(BatchSigning.privateKey(fromFile:))
            options.batchSize = batchSize
            options.connectTimeout = sending.connectTimeoutAmount
            options.requestTimeout = .milliseconds(Int64(requestTimeout * 1000))
            options.retry = sending.retry
            options.caFile = caFile
            let location = StoreLocation.resolve(database.db)
            let directory = outbox ?? (PostgresLocation.isPostgres(location) ? "tally.outbox" : location + ".outbox")
            let shipper = Shipper(store: store, outbox: try Outbox(directory: directory), options: options)
            while true {
                var report = Shipper.Report()
                do {
                    try await shipper.queue(into: &report)
                    if !queueOnly { try await shipper.send(into: &report) }
                    printError("queued \(report.queuedRecords) records in \(report.queuedBatches) batches; sent \(report.sentRecords) "
                               + "records in \(report.sentBatches) batches (\(report.replayedBatches) already received), "
                               + "\(report.retries) retries, \(report.rejected.count) rejected")
                    for (batch, reason) in report.rejected {
                        printError("rejected batch \(batch) (kept in \(directory)/rejected): \(reason)")
                    }
                    if sending.interval == nil, !report.rejected.isEmpty { throw ExitCode(1) }
                } catch let error as Shipper.ShipError {
                    printError("error: \(error)")
                    if sending.interval == nil { throw ExitCode(1) }
                }
                guard let interval = sending.interval else { return }
                try await Task.sleep(for: .milliseconds(Int(interval * 1000)))
            }
        }
    }
}

struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Signing keys for shipped batches.",
        subcommands: [Generate.self])

    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "generate",
            abstract: "Make an Ed25519 key pair: the private key into a file (mode 600), the public key printed.")

        @Option(help: ArgumentHelp("Where to write the private key.", valueName: "path"))
        var out: String

        func run() async throws {
            guard !FileManager.default.fileExists(atPath: out) else {
                throw ValidationError("\(out) exists: a key is never overwritten")
            }
            let (privateKey, publicKey) = BatchSigning.generateKey()
            guard FileManager.default.createFile(atPath: out, contents: Data((privateKey + "\n").utf8),
                                                 attributes: [.posixPermissions: 0o600]) else {
                throw ValidationError("cannot write \(out)")
            }
            print(publicKey)
            printError("private key written to \(out); register the public key above on the central server: "
                       + "tally site register --site NAME --public-key \(publicKey)")
        }
    }
}

struct SiteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "site",
        abstract: "Sites that ship records to this (central) database.",
        subcommands: [Register.self])

    struct Register: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "register",
            abstract: "Register a site's public signing key: from then on its batches must be signed with it.")

        @OptionGroup var database: DatabaseOptions

        @Option(help: "The site's name, as its records carry it.")
        var site: String

        @Option(help: ArgumentHelp("The public key tally keys generate printed.", valueName: "base64"))
        var publicKey: String

        func validate() throws {
            guard BatchSigning.isPublicKey(publicKey) else { throw ValidationError("--public-key is not an Ed25519 public key") }
        }

        func run() async throws {
            let store = try await StoreLocation.open(database.db)
            try await store.registerSiteKey(site: site, publicKey: publicKey)
            printError("site \(site): key registered; unsigned batches of \(site) are refused from now on")
        }
    }
}
