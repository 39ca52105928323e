import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import TallyApp
import TallyCollectors
@testable import TallyServer
import TallyStore
import TallyTestSupport

/// The dashboard's figures are the report's: the explorer's table equals `tally report` and the
/// API's CSV for the same query; pages need a read token (header or login cookie).
@Suite(.serialized) struct DashboardTests {
    /// A client that shows redirects instead of following them.
    static let client = HTTPClient(eventLoopGroupProvider: .singleton,
                                   configuration: .init(redirectConfiguration: .disallow))

    static func status(_ url: String, cookie: String? = nil, post body: String? = nil) async throws -> (Int, String?) {
        var request = HTTPClientRequest(url: url)
        if let cookie { request.headers.add(name: "Cookie", value: cookie) }
        if let body {
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await client.execute(request, timeout: .seconds(30))
        _ = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), response.headers["Set-Cookie"].first)
    }

    static func status(_ url: String) async throws -> Int { try await status(url, cookie: nil, post: nil).0 }

    static func cells(_ html: String, caption: String) -> [[String]] {
        guard let start = html.range(of: "<caption>\(caption)</caption>"),
              let end = html.range(of: "</table>", range: start.upperBound..<html.endIndex) else { return [] }
        let body = String(html[start.upperBound..<end.lowerBound])
        let cell = try! NSRegularExpression(pattern: "<td[^>]*>(.*?)</td>")
        return body.components(separatedBy: "<tr>").map { row in
            cell.matches(in: row, range: NSRange(row.startIndex..., in: row)).map {
                String(row[Range($0.range(at: 1), in: row)!])
            }
        }.filter { !$0.isEmpty }
    }

    /// A cell's text without the drill-down link around it.
    static func plain(_ html: String) -> String {
        html.replacingOccurrences(of: "<a href=\"[^\"]*\">", with: "", options: .regularExpression)
            .replacingOccurrences(of: "</a>", with: "")
    }

    static func unescape(_ text: String) -> String {
        text.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&amp;", with: "&")
    }

    @Test(arguments: Backend.all) func pagesShowTheReportsFigures(backend: Backend) async throws {
        let server = try await RunningServer.start(backend)
        let path = Fixtures.path("slurm-sandbox/sacct-duplicates.txt")
        _ = try await IngestPipeline(store: server.store).ingest(
            path: path, collector: SacctCollector(file: path, options: .init(timeZone: TimeZone(identifier: "UTC")!)))
        let reader = try await server.token(scopes: ["read"])
        // Without a token: to the login form.
        #expect(try await Self.status("http://127.0.0.1:\(server.port)/explore") == 303)

        let explore = try await server.call(.GET, "/explore?by=account&period=day", token: reader)
        #expect(explore.status == 200)
        // Pages group thousands (1,234.5); the CSV does not.
        let shown = Self.cells(explore.body, caption: "Usage by account per day")
            .map { $0.map { Self.unescape(Self.plain($0)).replacingOccurrences(of: ",", with: "") } }
        let cli = try TallyProcess.run(["report", "--db", server.location, "--by", "account", "--period", "day",
                                        "--format", "csv"])
        let expected = cli.stdout.split(separator: "\n").dropFirst().map { $0.components(separatedBy: ",") }
        #expect(!shown.isEmpty)
        #expect(shown == expected)
        // The download is the API's CSV for the same query.
        let csv = try await server.call(.GET, "/explore.csv?by=account&period=day", token: reader)
        let api = try await server.call(.GET, "/api/v1/summaries?by=account&period=day", token: reader,
                                        headers: [("Accept", "text/csv")])
        #expect(csv.body == api.body)
        // Chart series are the real names.
        let accounts = Set(expected.map { $0[1] })
        for account in accounts { #expect(explore.body.contains("data-series=\"\(account)\"")) }
        #expect(!explore.body.contains("data-series=\"Value\""))

        for page in ["/", "/gpu", "/quality", "/allocations"] {
            let answer = try await server.call(.GET, page, token: reader)
            #expect(answer.status == 200, "\(page)")
            #expect(answer.body.contains("<main>"), "\(page)")
        }
        // The overview's top tables (summed down from one finer report) equal the reports asked directly.
        let overview = try await server.call(.GET, "/", token: reader)
        for (dimension, caption) in [("user", "Top users by core hours"), ("group", "Top groups by core hours")] {
            let top = Self.cells(overview.body, caption: caption)
                .map { $0.map { Self.unescape(Self.plain($0)).replacingOccurrences(of: ",", with: "") } }
            let direct = try TallyProcess.run(["report", "--db", server.location, "--by", dimension, "--period", "total",
                                               "--format", "csv", "--metrics", "jobs,core_hours,gpu_hours"])
            let rows = direct.stdout.split(separator: "\n").dropFirst().map { $0.components(separatedBy: ",") }
                .sorted { (Double($0[3]) ?? 0, $1[1]) > (Double($1[3]) ?? 0, $0[1]) }
            #expect(!top.isEmpty)
            #expect(top == Array(rows.prefix(10)), "\(caption)")
        }
        let gpu = try await server.call(.GET, "/gpu", token: reader)
        let models = Self.cells(gpu.body, caption: "GPU hours by model and class: raw and class-weighted, side by side")
            .map { $0.map(Self.unescape) }
        let direct = try TallyProcess.run(["report", "--db", server.location, "--by", "gpu-model,gpu-class", "--period", "total",
                                           "--format", "csv", "--metrics", "jobs,gpu_hours,gpu_norm_hours,avg_gpus"])
        #expect(!models.isEmpty)
        #expect(models == direct.stdout.split(separator: "\n").dropFirst().map { $0.components(separatedBy: ",") })
        let quality = try await server.call(.GET, "/quality", token: reader)
        #expect(quality.body.contains("data-figure=\"records\">28<"))
    }

    @Test(arguments: Backend.all) func allocationsPageShowsWhatAllocShowPrints(backend: Backend) async throws {
        let server = try await RunningServer.start(backend)
        let path = Fixtures.path("slurm-sandbox/sacct-duplicates.txt")
        _ = try await IngestPipeline(store: server.store).ingest(
            path: path, collector: SacctCollector(file: path, options: .init(timeZone: TimeZone(identifier: "UTC")!)))
        let created = try TallyProcess.run(["alloc", "create", "chem-nov", "--db", server.location, "--account", "chem",
                                            "--amount", "0.05", "--unit", "core-hours", "--start", "2026-11-01", "--end", "2026-11-30",
                                            "--user-limit", "carol=0.01"])
        #expect(created.status == 0, "\(created.stderr)")
        let reader = try await server.token(scopes: ["read"])
        let page = try await server.call(.GET, "/allocations?at=2026-11-24", token: reader)
        #expect(page.status == 200)
        let shown = Self.cells(page.body, caption: "Burn-down of chem-nov").map { $0.map(Self.unescape) }
        let cli = try TallyProcess.run(["alloc", "show", "chem-nov", "--db", server.location, "--at", "2026-11-24", "--format", "csv"])
        let lines = cli.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        let figures = lines.dropFirst().prefix { $0 != "user,used,limit,pct_of_limit" }.filter { !$0.isEmpty }
        #expect(!shown.isEmpty)
        #expect(shown.map { $0.joined(separator: "|") } == figures.map { line -> String in
            // CSV quotes values with commas; the page shows them plain.
            let parts = line.split(separator: ",", maxSplits: 1).map(String.init)
            // Pages leave out a midnight's "T00:00:00".
            return parts[0] + "|" + parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                .replacingOccurrences(of: "T00:00:00", with: "")
        })
        // The chart names its series; over-limit and threshold warnings are shown as alerts.
        #expect(page.body.contains("data-series=\"used\"") && page.body.contains("data-series=\"granted\""))
        #expect(page.body.contains("role=\"alert\""))
        #expect(cli.stderr.contains("warning: user carol"))
    }

    @Test func longTablesShowTheirFirstRowsAndSaySo() async throws {
        let server = try await RunningServer.start()
        var generator = SacctGenerator(seed: 3, start: 1_704_067_200, days: 30, users: 400, accounts: 20, expectedJobs: 8000)
        var bytes = Array((generator.header + "\n").utf8)
        for _ in 0..<8000 { generator.appendJob(to: &bytes) }
        let path = server.directory.appendingPathComponent("many.txt").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        _ = try await IngestPipeline(store: server.store).ingest(
            path: path, collector: SacctCollector(file: path, options: .init(timeZone: TimeZone(identifier: "UTC")!)))
        let reader = try await server.token(scopes: ["read"])
        let page = try await server.call(.GET, "/explore?by=user&period=day", token: reader)
        let rows = Self.cells(page.body, caption: "Usage by user per day")
        let csv = try await server.call(.GET, "/explore.csv?by=user&period=day", token: reader)
        let all = csv.body.split(separator: "\n").count - 1
        #expect(all > DashboardPages.shownRows)
        #expect(rows.count == DashboardPages.shownRows)
        #expect(page.body.contains("Rows 1–2,000 of \(StackedBarChart.grouped(Double(all)))"), "paging says where we are")
        // The next page shows the next rows, and the last one the rest.
        let second = try await server.call(.GET, "/explore?by=user&period=day&page=2", token: reader)
        let secondRows = Self.cells(second.body, caption: "Usage by user per day")
        #expect(secondRows.count == min(DashboardPages.shownRows, all - DashboardPages.shownRows))
        #expect(secondRows.first != rows.first)
        #expect(page.body.contains("<tfoot>"), "a totals row")
    }

    @Test func loginSetsACookieThatOpensThePages() async throws {
        let server = try await RunningServer.start()
        let reader = try await server.token(scopes: ["read"])
        let base = "http://127.0.0.1:\(server.port)"
        #expect(try await Self.status(base + "/login") == 200)
        let (signedIn, setCookie) = try await Self.status(base + "/login", post: "token=\(reader)")
        #expect(signedIn == 303)
        let cookie = try #require(setCookie)
        #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"))
        let value = String(cookie.split(separator: ";")[0])
        #expect(try await Self.status(base + "/explore", cookie: value, post: nil).0 == 200)
        #expect(try await Self.status(base + "/explore", cookie: "tally_token=wrong", post: nil).0 == 303)
        #expect(try await Self.status(base + "/login", post: "token=wrong").0 == 401)
    }
}

/// Headless Chromium (Debian's `chromium`) loads the pages from a running `tally serve`; the
/// rendered DOM holds the chart with the expected series; screenshots go to .build/screenshots.
@Suite(.serialized) struct DashboardBrowserTests {
    static var chromium: String? {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    @Test func chromiumRendersOverviewAndExplorer() async throws {
        guard let chromium = Self.chromium else {
            #expect(ProcessInfo.processInfo.environment["CI"] == nil, "chromium is missing: scripts/test.sh installs it")
            return
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tally-dash-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let db = directory.appendingPathComponent("tally.db").path
        let ingested = try TallyProcess.run(["ingest", "slurm", "--db", db, "--site", "ccr", "--timezone", "America/New_York",
                                             "--fields", "jobid,jobidraw,cluster,partition,qos,account,group,gid,user,uid,submit,eligible,start,end,elapsed,exitcode,state,nnodes,ncpus,reqcpus,reqmem,reqtres,alloctres,timelimit,nodelist,jobname",
                                             Fixtures.example("slurm/ccr-phillips.sacct.log")])
        #expect(ingested.status == 0)
        let (server, url) = try TallyProcess.startServer(["serve", "--db", db, "--port", "0", "--public-dashboard"])
        defer { kill(server.processIdentifier, SIGKILL); server.waitUntilExit() }
        let shots = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/screenshots")
        try FileManager.default.createDirectory(at: shots, withIntermediateDirectories: true)
        let flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1200,1000"]
        for (name, path, series) in [("overview", "/?period=day", ["chaff", "aytinis", "taifl"]),
                                     ("explorer", "/explore?by=user&period=day", ["chaff", "noror"])] {
            let dom = try Self.run(chromium, flags + ["--dump-dom", url + path])
            #expect(dom.contains("<svg"), "\(name)")
            for expected in series { #expect(dom.contains("data-series=\"\(expected)\""), "\(name): \(expected)") }
            #expect(dom.contains("<table>"), "\(name)")
            _ = try Self.run(chromium, flags + ["--screenshot=\(shots.appendingPathComponent("\(name).png").path)", url + path])
            let size = (try? FileManager.default.attributesOfItem(atPath: shots.appendingPathComponent("\(name).png").path)[.size] as? Int) ?? 0
            #expect(size > 10_000, "\(name).png")
        }
    }
}
