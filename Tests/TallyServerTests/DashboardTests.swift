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
        try await DashboardAccessTests.ingest(server)
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
        try await DashboardAccessTests.ingest(server)
        let created = try TallyProcess.run(["alloc", "create", "chem-nov", "--db", server.location, "--account", "chem",
                                            "--amount", "0.05", "--unit", "core-hours", "--start", "2026-11-01", "--end", "2026-11-30",
                                            "--user-limit", "carol=0.01"])
        #expect(created.status == 0, "\(created.stderr)")
        let reader = try await server.token(scopes: ["read"])
        // The summary: one row per allocation, linking to its page, with a status badge.
        let summary = try await server.call(.GET, "/allocations?at=2026-11-24", token: reader)
        #expect(summary.status == 200)
        let rows = Self.cells(summary.body, caption: "Allocations at 2026-11-24")
        #expect(rows.count == 1 && rows.first.map { Self.plain($0[0]) } == "chem-nov", "\(summary.body)")
        #expect(rows.first?[6] == "54.4", "used %")
        #expect(summary.body.contains("href=\"/allocation?name=chem-nov&amp;at=2026-11-24\""))
        #expect(summary.body.contains("<span class=\"on-track\">on track</span>"), "54 % used, nothing burning since")
        #expect(!summary.body.contains("Use by user"), "users are on the allocation's own page")
        let page = try await server.call(.GET, "/allocation?name=chem-nov&at=2026-11-24", token: reader)
        #expect(page.status == 200)
        let missing = try await server.call(.GET, "/allocation?name=nope", token: reader)
        #expect(missing.status == 404 && missing.body.contains("no allocation"))
        #expect(try await server.call(.GET, "/allocation?name=chem-nov&at=2024-13-45", token: reader).status == 400)
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
        #expect(page.body.contains("data-legend=\"projected\" ") && page.body.contains("stroke-dasharray=\"6 4\"/>"),
                "the projected swatch is dashed, unlike the used one")
        #expect(page.body.contains("role=\"alert\""))
        #expect(cli.stderr.contains("warning: user carol"))
    }

    @Test(arguments: Backend.all) func pickListsOfferTheDataNamesAndFilterAsWhereDoes(backend: Backend) async throws {
        let server = try await RunningServer.start(backend)
        try await DashboardAccessTests.ingest(server)
        let reader = try await server.token(scopes: ["read"])
        let page = try await server.call(.GET, "/explore?by=user&period=total&in-partition=gpu&in-qos=normal&in-qos=high", token: reader)
        #expect(page.status == 200)
        #expect(page.body.contains("<select multiple size=\"3\" id=\"f-in-partition\" name=\"in-partition\">"
            + "<option value=\"gpu\" selected>gpu</option><option value=\"standard\">standard</option></select>"), "\(page.body)")
        #expect(page.body.contains("<option value=\"high\" selected>high</option><option value=\"normal\" selected>normal</option>"))
        #expect(page.body.contains("<option value=\"chem\">chem</option><option value=\"physics\">physics</option>"))
        let shown = Self.cells(page.body, caption: "Usage by user per total").map { $0.map { Self.unescape(Self.plain($0)) } }
        let cli = try TallyProcess.run(["report", "--db", server.location, "--by", "user", "--period", "total", "--format", "csv",
                                        "--where", "partition=gpu", "--where", "qos=normal,high"])
        let expected = cli.stdout.split(separator: "\n").dropFirst().map { $0.components(separatedBy: ",") }
        #expect(!shown.isEmpty)
        #expect(shown.map { $0[1] } == expected.map { $0[1] }, "the same users as --where")
        // A drill-down keeps what the lists picked.
        #expect(page.body.contains("in-partition=gpu&amp;in-qos=normal&amp;in-qos=high"))
        let scoped = try await server.token(scopes: ["read", "account=chem"])
        let theirs = try await server.call(.GET, "/explore?by=user&period=total", token: scoped)
        #expect(!theirs.body.contains("physics"), "a PI's pick list names only their accounts")
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
