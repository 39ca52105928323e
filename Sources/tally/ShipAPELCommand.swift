import ArgumentParser
import Foundation
import NIOCore
import NIOSSL
import TallyCore
import TallyShip

extension Ship {
    struct APEL: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "apel",
            abstract: "Send APEL messages to a message broker over STOMP, signed as SSM signs them.",
            discussion: """
                Sends every message of an APEL outgoing queue (the directory `tally export apel --out`
                writes, in SSM's dirq layout) to the broker, oldest first, each signed with the site's
                certificate and key as S/MIME (what `openssl smime -sign -text` and SSM produce), so a
                site needs no SSM. A message leaves the queue only when the broker's RECEIPT for it
                has arrived; its queue id goes as the message's empa-id, so one resent after a lost
                receipt is recognisable (APEL's loader replaces records by their key). Messages are
                sent persistent, so a broker restart loses nothing it acknowledged. Every wait is
                bounded; a dropped connection is retried with backoff and jitter. Messages another
                sender (ssmsend) holds locked are left to it.
                Example: tally export apel --kind summary --month 2024-09 --out /var/spool/apel/outgoing
                         tally ship apel --queue /var/spool/apel/outgoing --broker broker.example.org:61613 \\
                             --destination /queue/global.accounting.cpu.central
                """)

        @Option(help: ArgumentHelp("The APEL outgoing queue (e.g. /var/spool/apel/outgoing).", valueName: "dir"))
        var queue: String

        @Option(help: ArgumentHelp("The broker's STOMP address.", valueName: "host:port"))
        var broker: String

        @Option(help: ArgumentHelp("Where messages go, e.g. /queue/global.accounting.cpu.central.", valueName: "queue"))
        var destination: String

        @Option(help: ArgumentHelp("The site's certificate (PEM), which signs the messages.", valueName: "path"))
        var cert = "/etc/grid-security/hostcert.pem"

        @Option(help: ArgumentHelp("Its private key (PEM, unencrypted).", valueName: "path"))
        var key = "/etc/grid-security/hostkey.pem"

        @Flag(help: "Connect with TLS (stomp+ssl), presenting the certificate to the broker.")
        var tls = false

        @Option(help: ArgumentHelp("PEM file of the CAs to trust for the broker's certificate (default: the system's).", valueName: "path"))
        var caFile: String?

        @Option(help: ArgumentHelp("STOMP login, when the broker asks for one.", valueName: "name"))
        var login: String?

        @Option(help: ArgumentHelp("File holding the STOMP passcode.", valueName: "path"))
        var passcodeFile: String?

        @Option(help: ArgumentHelp("The CONNECT host header (the broker's virtual host); default: the broker's host.", valueName: "name"))
        var virtualHost: String?

        @OptionGroup var sending: SendingOptions

        @Option(help: ArgumentHelp("Seconds to wait for each answer from the broker (CONNECTED, a RECEIPT).", valueName: "seconds"))
        var answerTimeout = 60.0


        func validate() throws {
            guard Self.endpoint(broker) != nil else { throw ValidationError("--broker takes host:port, e.g. broker.example.org:61613") }
            guard answerTimeout > 0 else { throw ValidationError("--answer-timeout takes a number of seconds above 0") }
        }

        static func endpoint(_ text: String) -> (host: String, port: Int)? {
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else {
                return nil
            }
            let host = text[..<colon].trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            return host.isEmpty ? nil : (host, port)
        }

        func run() async throws {
            let signer: SMIMESigner
            do {
                signer = try SMIMESigner(certificateFile: cert, keyFile: key)
            } catch {
                throw ValidationError("\(error)")
            }
            if signer.daysLeft() < 1 {
                printError("warning: \(cert) expires within a day (\(signer.certificate.notValidAfter)); APEL's receiver will soon refuse it")
            }
            let (host, port) = Self.endpoint(broker)!
            var endpoint = STOMPEndpoint(host: host, port: port)
            endpoint.virtualHost = virtualHost
            endpoint.login = login
            endpoint.passcode = try passcodeFile.map {
                try String(contentsOfFile: $0, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            }
            if tls {
                var configuration = TLSConfiguration.makeClientConfiguration()
                configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) }
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
                if let caFile { configuration.trustRoots = .file(caFile) }
                endpoint.tls = configuration
            }
            var options = APELSender.Options(endpoint: endpoint, destination: destination)
            options.connectTimeout = sending.connectTimeoutAmount
            options.answerTimeout = .milliseconds(Int64(answerTimeout * 1000))
            options.retry = sending.retry
            let sender = APELSender(queue: queue, signer: signer, options: options)
            while true {
                var report = APELSender.Report()
                do {
                    try await sender.send(into: &report)
                    printError("sent \(report.sent) APEL messages (\(report.bytes) bytes signed as \(signer.signerDN)) to \(broker) "
                               + "\(destination); \(report.retries) retries"
                               + (report.lockedElsewhere > 0 ? "; \(report.lockedElsewhere) held by another sender" : ""))
                } catch let error as APELSender.SendError {
                    printError("sent \(report.sent) APEL messages before: error: \(error)")
                    if sending.interval == nil { throw ExitCode(1) }
                }
                guard let interval = sending.interval else { return }
                try await Task.sleep(for: .milliseconds(Int(interval * 1000)))
            }
        }
    }
}
