import ArgumentParser
import Foundation
import TallyApp
import TallyCore

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write accounting in other systems' formats.",
        subcommands: [APEL.self])

    struct APEL: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "apel",
            abstract: "Write one month as APEL messages for EGI/WLCG accounting.",
            discussion: """
                --kind job: individual job records (APEL-individual-job-message v0.3); summary: monthly
                summaries (APEL-summary-job-message v0.2) keyed by site, month, year, user, VO, submit
                host, infrastructure, service level, node count and processors; sync: jobs per site and
                submit host (APEL-sync-message v0.1); gpu: accelerator records (APEL-accelerator-message
                v0.1, JSON). A job belongs to the UTC month of its end, as in APEL. ServiceLevel is the
                [[benchmark]] score valid at the job's end (type from the config file: HS23 → HEPscore23,
                HS06 → HEPSPEC, si2k); jobs no rule covers are listed, not exported (APEL rejects them).
                At most 1,000 records and under 1 MB per message, 7-bit ASCII. --out writes SSM's outgoing
                queue layout (python-dirq QueueSimple), which ssmsend reads as it is.
                """)

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var configuration: ConfigOption

        @Option(help: "job, summary, sync or gpu.")
        var kind: String

        @Option(help: ArgumentHelp("The month, YYYY-MM (UTC).", valueName: "YYYY-MM"))
        var month: String

        @Option(help: ArgumentHelp("A directory queue to add the messages to (e.g. /var/spool/apel/outgoing).", valueName: "dir"))
        var out: String?

        @Flag(help: "Print the messages instead.")
        var stdout = false

        @Option(help: ArgumentHelp("VO from the (alias-applied) group (else the account), the account, or none.", valueName: "group|account|none"))
        var voFrom = "group"

        @Option(help: ArgumentHelp("InfrastructureType: grid or local.", valueName: "grid|local"))
        var infrastructure = "grid"

        @Option(help: ArgumentHelp("SubmitHost (the CE id); default: each record's cluster.", valueName: "host"))
        var submitHost: String?

        @Option(help: ArgumentHelp("Site name in the messages (the GOCDB name); default: each record's site.", valueName: "name"))
        var site: String?

        @Option(help: "At most this many records per message (1 to 5,000, as APEL's unloader; messages also stay under 1 MB).")
        var recordsPerMessage = 1000

        func validate() throws {
            guard (1...5000).contains(recordsPerMessage) else { throw ValidationError("--records-per-message takes 1 to 5,000") }
            guard APELKind(rawValue: kind) != nil else { throw ValidationError("--kind takes job, summary, sync or gpu") }
            guard (out == nil) != !stdout else { throw ValidationError("give --out DIR or --stdout") }
            guard APELExport.VOSource(rawValue: voFrom) != nil else { throw ValidationError("--vo-from takes group, account or none") }
            guard ["grid", "local"].contains(infrastructure) else { throw ValidationError("--infrastructure takes grid or local") }
            guard Self.monthNumber(month) != nil else { throw ValidationError("--month takes YYYY-MM, e.g. 2024-09") }
        }

        /// year × 12 + month − 1.
        static func monthNumber(_ text: String) -> Int64? {
            let parts = text.split(separator: "-")
            guard parts.count == 2, parts[0].count == 4, let year = Int64(parts[0]), let month = Int64(parts[1]),
                  (1...12).contains(month) else { return nil }
            return year * 12 + month - 1
        }

        func run() async throws {
            let number = Self.monthNumber(month)!
            let now = Int64(Date().timeIntervalSince1970)
            guard UTCMonth.firstDay(number) * UTCDay.seconds <= now else {
                throw ValidationError("\(month) is in the future: APEL refuses summaries of future months")
            }
            let opened = try await configuration.open(database, mustExist: true)
            var options = APELExport.Options()
            options.voFrom = APELExport.VOSource(rawValue: voFrom)!
            options.infrastructure = infrastructure
            options.submitHost = submitHost
            options.site = site
            options.recordsPerMessage = recordsPerMessage
            let exporter = APELExport(configuration: await opened.store.currentConfiguration(), options: options)
            let result = try await exporter.export(APELKind(rawValue: kind)!, month: number, store: opened.store)
            if stdout {
                for message in result.messages { print(message, terminator: "") }
            } else if let out {
                for message in result.messages { try DirectoryQueue.add(message, to: out) }
            }
            printError("\(month): \(result.records) \(kind) records in \(result.messages.count) messages"
                       + (out.map { " added to \($0)" } ?? ""))
            for (reason, count) in result.skipped.sorted(by: { $0.key < $1.key }) {
                printError("  not exported: \(count) jobs: \(reason)")
            }
        }
    }
}
