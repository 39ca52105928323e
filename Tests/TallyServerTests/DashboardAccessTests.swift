import AsyncHTTPClient
import Foundation
import NIOCore
import Testing
import TallyApp
import TallyCollectors
@testable import TallyServer
import TallyStore
import TallyTestSupport

/// Who sees what: a PI's token limited to one account sees only that account on the API and the
/// pages; sessions hold no secret, survive a deep link through sign-in and end at sign-out; a
/// bad parameter or an unknown page answers an HTML page that says what to fix.
@Suite(.serialized) struct DashboardAccessTests {
    static func ingest(_ server: RunningServer) async throws {
        let path = Fixtures.path("slurm-sandbox/sacct-duplicates.txt")
        _ = try await IngestPipeline(store: server.store).ingest(
            path: path, collector: SacctCollector(file: path, options: .init(timeZone: TimeZone(identifier: "UTC")!)))
    }

    @Test(arguments: Backend.all) func anAccountScopedTokenSeesOnlyItsAccounts(backend: Backend) async throws {
        let server = try await RunningServer.start(backend)
        try await Self.ingest(server)
        let everything = try await server.token(scopes: ["read"])
        let pi = try await server.token(scopes: ["read", "account=chem"])
        let all = try await server.call(.GET, "/api/v1/summaries?by=account&period=total", token: everything)
        #expect(all.body.contains("physics") && all.body.contains("chem"))
        let mine = try await server.call(.GET, "/api/v1/summaries?by=account&period=total", token: pi)
        #expect(mine.status == 200)
        #expect(mine.body.contains("chem") && !mine.body.contains("physics"), "\(mine.body)")
        // Asking for another account by filter gives nothing, not that account.
        let theirs = try await server.call(.GET, "/api/v1/summaries?by=user&period=total&where=account=physics", token: pi)
        #expect(!theirs.body.contains("physics") && !theirs.body.contains("alice"), "\(theirs.body)")
        let records = try await server.call(.GET, "/api/v1/records?limit=1000", token: pi)
        #expect(records.status == 200)
        #expect(!records.body.contains("\"physics\"") && records.body.contains("\"chem\""))
        for forbidden in ["/api/v1/status", "/api/v1/fairshare", "/quality"] {
            #expect(try await server.call(.GET, forbidden, token: pi).status == 403, "\(forbidden)")
        }
        for account in ["chem", "physics"] {
            let created = try TallyProcess.run(["alloc", "create", "\(account)-2026", "--db", server.location, "--account", account,
                                                "--amount", "100", "--unit", "core-hours", "--start", "2026-11-01", "--end", "2026-12-31"])
            #expect(created.status == 0, "\(created.stderr)")
        }
        #expect(try await server.call(.GET, "/allocation?name=physics-2026", token: pi).status == 404,
                "another account's allocation does not exist for this token")
        #expect(try await server.call(.GET, "/allocation?name=chem-2026", token: pi).status == 200)
        #expect(try await server.call(.GET, "/allocation?name=physics-2026", token: everything).status == 200)
        for page in ["/", "/explore?by=account&period=total", "/gpu", "/allocations", "/allocation?name=chem-2026"] {
            let answer = try await server.call(.GET, page, token: pi)
            #expect(answer.status == 200, "\(page)")
            #expect(!answer.body.contains("physics"), "\(page) shows another account")
        }
        let csv = try await server.call(.GET, "/explore.csv?by=account&period=total", token: pi)
        #expect(csv.body.contains("chem") && !csv.body.contains("physics"))
        // The cache keeps the two apart both ways.
        let again = try await server.call(.GET, "/api/v1/summaries?by=account&period=total", token: everything)
        #expect(again.body.contains("physics"))
    }

    @Test func sessionsHoldNoSecretFollowDeepLinksAndEnd() async throws {
        let server = try await RunningServer.start(.sqlite)
        try await Self.ingest(server)
        let reader = try await server.token(scopes: ["read"])
        let base = "http://127.0.0.1:\(server.port)"
        var request = HTTPClientRequest(url: base + "/explore?by=user&period=total")
        var response = try await DashboardTests.client.execute(request, timeout: .seconds(30))
        #expect(response.status.code == 303)
        let location = response.headers["Location"].first ?? ""
        #expect(location.hasPrefix("/login?next="), "\(location)")
        let form = try await server.call(.GET, location, token: nil)
        #expect(form.body.contains("name=\"next\" value=\"/explore?by=user&amp;period=total\""), "\(form.body)")
        #expect(form.body.contains("name=\"viewport\""))
        let (status, cookie) = try await DashboardTests.status(
            base + "/login", post: "token=\(reader)&next=%2Fexplore%3Fby%3Duser%26period%3Dtotal")
        #expect(status == 303)
        let session = try #require(cookie?.split(separator: ";").first.map(String.init))
        #expect(!session.contains(reader), "the cookie must not hold the token's secret")
        #expect(cookie?.contains("HttpOnly") == true && cookie?.contains("Max-Age=") == true)
        request = HTTPClientRequest(url: base + "/explore?by=user&period=total")
        request.headers.add(name: "Cookie", value: session)
        response = try await DashboardTests.client.execute(request, timeout: .seconds(30))
        #expect(response.status.code == 200)
        // The session value is no API credential.
        let value = String(session.split(separator: "=", maxSplits: 1)[1])
        #expect(try await server.call(.GET, "/api/v1/summaries", token: value).status == 401)
        // A forged or altered session is refused.
        request.headers.replaceOrAdd(name: "Cookie", value: session.dropLast(2) + "00")
        #expect(try await DashboardTests.client.execute(request, timeout: .seconds(30)).status.code == 303)
        // Sign-out clears the cookie.
        var logout = HTTPClientRequest(url: base + "/logout")
        logout.headers.add(name: "Cookie", value: session)
        let out = try await DashboardTests.client.execute(logout, timeout: .seconds(30))
        #expect(out.status.code == 303)
        #expect(out.headers["Set-Cookie"].first?.contains("Max-Age=0") == true)
        // Only paths on this server are followed after sign-in.
        #expect(DashboardLogin.safeNext("//evil.example/") == "/")
        #expect(DashboardLogin.safeNext("https://evil.example/") == "/")
        #expect(DashboardLogin.safeNext("/gpu?period=day") == "/gpu?period=day")
    }

    /// Jobs in January and April only: February and March keep their slots (a gap, not a
    /// squeeze), April cut short by the window is marked partial; series link to a drill-down,
    /// `top` caps the series, the chart downloads as SVG, numbers are grouped by thousands.
    @Test func chartsKeepTimeProportionalAndLinkToDrillDowns() async throws {
        let server = try await RunningServer.start(.sqlite)
        let header = "JobID|JobIDRaw|User|Account|Partition|Cluster|Submit|Start|End|ElapsedRaw|AllocTRES|State"
        let lines = [header,
                     "1|1|ann|chem|cpu|c1|2024-01-10T00:00:00|2024-01-10T00:00:00|2024-01-11T00:00:00|86400|cpu=100|COMPLETED",
                     "2|2|bob|phys|cpu|c1|2024-04-02T00:00:00|2024-04-02T00:00:00|2024-04-03T00:00:00|86400|cpu=2|COMPLETED",
                     "3|3|cat|bio|cpu|c1|2024-04-02T00:00:00|2024-04-02T00:00:00|2024-04-03T00:00:00|86400|cpu=1|COMPLETED"]
        let path = server.directory.appendingPathComponent("gap.txt").path
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: path))
        _ = try await IngestPipeline(store: server.store).ingest(
            path: path, collector: SacctCollector(file: path, options: .init(timeZone: TimeZone(identifier: "UTC")!)))
        let reader = try await server.token(scopes: ["read"])
        let query = "period=month&by=account&from=2024-01-01&to=2024-04-15"
        let page = try await server.call(.GET, "/explore?" + query, token: reader)
        #expect(page.status == 200)
        for month in ["2024-01", "2024-02", "2024-03", "2024-04 (partial)"] {
            #expect(page.body.contains(">\(month)</text>"), "x axis shows \(month)")
        }
        #expect(page.body.contains("class=\"partial\""))
        #expect(page.body.contains("<a href=\"/explore?from=2024-01-01&amp;to=2024-04-15&amp;period=month&amp;by=user&amp;where=account=chem\">"),
                "a series drills down to its users")
        #expect(page.body.contains(">2,400.00<"), "100 cores × 24 h, grouped by thousands")
        #expect(page.body.contains("aria-label=\"Time presets\"") && page.body.contains("year to date"))
        let capped = try await server.call(.GET, "/explore?" + query + "&top=1", token: reader)
        #expect(capped.body.contains("data-series=\"other (2)\""))
        #expect(try await server.call(.GET, "/explore?" + query + "&top=0", token: reader).status == 400)
        let svg = try await server.call(.GET, "/explore.svg?" + query, token: reader)
        #expect(svg.status == 200 && svg.body.hasPrefix("<svg") && svg.body.hasSuffix("</svg>"))
    }

    @Test func badParametersAndUnknownPagesAnswerHTML() async throws {
        let server = try await RunningServer.start(.sqlite)
        let reader = try await server.token(scopes: ["read"])
        let bad = try await server.call(.GET, "/explore?from=2024-13-45", token: reader)
        #expect(bad.status == 400)
        #expect(bad.body.hasPrefix("<!doctype html>"))
        #expect(bad.body.contains("cannot read &#39;2024-13-45&#39; as a date") || bad.body.contains("2024-13-45"), "\(bad.body)")
        let metric = try await server.call(.GET, "/explore?metric=watts", token: reader)
        #expect(metric.status == 400 && metric.body.contains("metric &#39;watts&#39;") || metric.body.contains("watts"))
        let missing = try await server.call(.GET, "/no/such/page", token: reader)
        #expect(missing.status == 404)
        #expect(missing.body.contains("There is no page /no/such/page"))
        // The API keeps answering JSON.
        let api = try await server.call(.GET, "/api/v1/summaries?from=2024-13-45", token: reader)
        #expect(api.status == 400 && api.body.hasPrefix("{"))
    }
}
