import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Hummingbird
import Logging
import TallyApp
import TallyCore
import TallyServer
import TallyStore

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the database over HTTP: records in and out, summaries, status (bearer tokens with scopes).",
        discussion: """
            Endpoints (docs/api.md): GET /healthz; GET /api/v1/status, GET /api/v1/summaries (the
            options of tally report as query parameters; CSV with Accept: text/csv), GET
            /api/v1/records (filters, keyset pages) and GET /api/v1/metrics (Prometheus) need a read
            token; POST /api/v1/records (a JSON array or NDJSON of records) needs a write token for
            the records' sites; GET /openapi.json describes it all. Create tokens with tally token
            create. Stops cleanly on SIGTERM or SIGINT.
            """)

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var configuration: ConfigOption

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port (0: any free port, printed at start).")
    var port = 8080

    @Option(name: .customLong("tls-cert"), help: ArgumentHelp("PEM certificate chain: serve HTTPS.", valueName: "path"))
    var tlsCertificate: String?

    @Option(name: .customLong("tls-key"), help: ArgumentHelp("PEM private key for --tls-cert.", valueName: "path"))
    var tlsKey: String?

    @Option(name: .customLong("auditor-token"), help: ArgumentHelp(
        "The token (by name) that requests to the AUDITOR-compatible routes without a bearer token act as: AUDITOR's clients send none.",
        valueName: "name"))
    var auditorToken: String?

    @Flag(help: "Show the dashboard (/, /explore, /gpu, /quality) to anyone who can reach the server, without a token.")
    var publicDashboard = false

    @Option(name: .customLong("metrics-top"), help: ArgumentHelp(
        "Accounts per cluster in /api/v1/metrics usage series; the rest are summed as account=\"other\".",
        valueName: "n"))
    var metricsTop = 20

    func validate() throws {
        if (tlsCertificate == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
        if metricsTop < 1 { throw ValidationError("--metrics-top must be at least 1") }
    }

    func run() async throws {
        #if canImport(Glibc)
        // Long reports build arrays of tens of megabytes per request. glibc would hand each one
        // fresh pages from the kernel and return them afterwards (a page fault per 4 KB, an
        // eighth of a year-by-day page's time); a long-lived server keeps them for the next one.
        // mallopt and its M_TRIM_THRESHOLD (-1) / M_MMAP_THRESHOLD (-3) live in <malloc.h>,
        // which the Glibc module does not include.
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") {
            let mallopt = unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32) -> Int32).self)
            _ = mallopt(-3, 256 << 20)
            _ = mallopt(-1, 512 << 20)
        }
        #endif
        let opened = try await configuration.open(database, mustExist: false)
        if let sqlite = opened.store as? SQLiteStore {
            try await sqlite.mapForReading(bytes: 4 << 30)
            // The first long report maps the summaries into both connections (about a second on a
            // million records): done once in the background at start instead of in a visitor's request.
            Task.detached(priority: .background) {
                _ = try? await sqlite.report(ReportQuery(period: .day))
            }
        }
        var logger = Logger(label: "tally.serve")
        logger.logLevel = .info
        var server = APIServer(store: opened.store, host: host, port: port, registry: APIServer.bootstrapMetrics(),
                               logger: logger)
        if let tlsCertificate, let tlsKey { server.tls = (tlsCertificate, tlsKey) }
        server.publicDashboard = publicDashboard
        server.metricsTopAccounts = metricsTop
        if let auditorToken {
            guard try await opened.store.tokens().contains(where: { $0.name == auditorToken }) else {
                throw ValidationError("--auditor-token \(auditorToken): no token has that name (tally token create --name …)")
            }
            server.auditorToken = auditorToken
        }
        let scheme = tlsCertificate == nil ? "http" : "https"
        let app = try server.application { port in
            // Scripts and tests wait for this line.
            FileHandle.standardOutput.write(Data("listening on \(scheme)://\(host):\(port)\n".utf8))
        }
        try await app.runService()
    }
}

struct Token: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "API tokens for tally serve: scopes read, write (limited to --site) and admin.",
        subcommands: [Create.self, List.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create",
            abstract: "Create a token and print its secret once (only a hash is stored).")

        @OptionGroup var database: DatabaseOptions

        @Option(help: "A name to recognise the token by (e.g. the site or script using it).")
        var name: String

        @Option(help: ArgumentHelp("Scopes, comma-separated: read, write, admin.", valueName: "scopes"))
        var scope: String = "read"

        @Option(help: ArgumentHelp("Sites a write token may write records of, comma-separated.", valueName: "sites"))
        var site: [String] = []

        @Option(help: ArgumentHelp("Limit a read token to these accounts (a PI's token), comma-separated: the API and dashboard then show only their figures.", valueName: "accounts"))
        var account: [String] = []

        func run() async throws {
            let scopes = scope.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            for name in scopes where Scope(rawValue: name) == nil {
                throw ValidationError("--scope: '\(name)' is not one of read, write, admin")
            }
            let sites = site.flatMap { $0.split(separator: ",") }.map(String.init)
            if scopes.contains("write"), !scopes.contains("admin"), sites.isEmpty {
                throw ValidationError("a write token needs --site: the sites whose records it may write")
            }
            let accounts = account.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
            if !accounts.isEmpty, scopes.contains("admin") {
                throw ValidationError("--account limits a read token; an admin token sees everything")
            }
            let store = try await StoreLocation.open(database.db)
            let secret = TokenSecret.generate()
            // The account limit is kept with the scopes (`account=<name>`), which every check reads.
            _ = try await store.createToken(name: name, hash: TokenSecret.hash(secret),
                                            scopes: scopes + accounts.map { "account=\($0)" }, sites: sites)
            print(secret)
            printError("token '\(name)' created (\(scopes.joined(separator: ","))\(sites.isEmpty ? "" : " for " + sites.joined(separator: ","))); the secret above is not stored and will not be shown again")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List tokens (names, scopes, sites; never secrets).")

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let store = try await StoreLocation.open(database.db, mustExist: true)
            var table = Table(columns: ["id", "name", "scopes", "sites", "created"])
            let calendar = PeriodCalendar(timeZone: TimeZone(identifier: "UTC")!)
            for token in try await store.tokens() {
                table.rows.append([.integer(token.id), .text(token.name), .text(token.scopes.joined(separator: ",")),
                                   .text(token.sites.joined(separator: ",")), .text(calendar.formatDateTime(token.createdAt))])
            }
            print(table.render(.table), terminator: "")
        }
    }
}
