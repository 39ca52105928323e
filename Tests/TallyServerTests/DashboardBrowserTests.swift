import Foundation
import Testing
import TallyTestSupport

/// Headless Chromium (Debian's `chromium`) loads every page from a running `tally serve` at a
/// desktop (1440×900) and a phone (390×844) size, on real accounting (CCR's phillips cluster and
/// the Slurm sandbox's GPU jobs, an allocation): the rendered figures are `tally report`'s, a
/// drill-down leads where it says, the PNG export draws. Screenshots go to .build/screenshots,
/// or to `TALLY_SCREENSHOTS` (scripts/screenshots.sh writes those in docs/screenshots).
@Suite(.serialized) struct DashboardBrowserTests {
    static var chromium: String? {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static let sizes = [("desktop", "1440,900"), ("phone", "390,844")]

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

    static func flags(_ size: String) -> [String] {
        ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=\(size)",
         "--virtual-time-budget=4000", "--no-first-run", "--disable-extensions"]
    }

    /// `<b data-figure="jobs">4,285</b>` → 4285.
    static func figure(_ dom: String, _ name: String) -> Double? {
        guard let range = dom.range(of: "data-figure=\"\(name)\">") else { return nil }
        let text = dom[range.upperBound...].prefix { $0 != "<" }.replacingOccurrences(of: ",", with: "")
        return Double(text)
    }

    /// The CSV of `tally report` with the given arguments, as rows of cells (header dropped).
    static func report(_ db: String, _ arguments: [String]) throws -> [[String]] {
        let result = try TallyProcess.run(["report", "--db", db, "--format", "csv"] + arguments)
        #expect(result.status == 0, "\(result.stderr)")
        return result.stdout.split(separator: "\n").dropFirst().map { $0.components(separatedBy: ",") }
    }

    @Test func everyPageRendersAtBothSizesWithTheReportsFigures() async throws {
        guard let chromium = Self.chromium else {
            #expect(ProcessInfo.processInfo.environment["CI"] == nil, "chromium is missing: scripts/test.sh installs it")
            return
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tally-dash-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let db = directory.appendingPathComponent("tally.db").path
        let fields = "jobid,jobidraw,cluster,partition,qos,account,group,gid,user,uid,submit,eligible,start,end,elapsed,exitcode,"
            + "state,nnodes,ncpus,reqcpus,reqmem,reqtres,alloctres,timelimit,nodelist,jobname"
        for arguments in [
            ["ingest", "slurm", "--db", db, "--site", "ccr", "--timezone", "America/New_York", "--fields", fields,
             Fixtures.example("slurm/ccr-phillips.sacct.log")],
            ["ingest", "slurm", "--db", db, "--site", "sandbox", "--timezone", "UTC", Fixtures.example("slurm/sandbox-sacct.txt")],
            ["alloc", "create", "taifl-2017", "--db", db, "--account", "taifl", "--amount", "400", "--unit", "core-hours",
             "--start", "2016-12-01", "--end", "2017-03-01"],
        ] {
            let result = try TallyProcess.run(arguments)
            #expect(result.status == 0, "\(arguments[0]) \(arguments[1]): \(result.stderr)")
        }
        let (server, url) = try TallyProcess.startServer(["serve", "--db", db, "--port", "0", "--public-dashboard"])
        defer { kill(server.processIdentifier, SIGKILL); server.waitUntilExit() }
        let shots = ProcessInfo.processInfo.environment["TALLY_SCREENSHOTS"].map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/screenshots")
        try FileManager.default.createDirectory(at: shots, withIntermediateDirectories: true)

        let total = try Self.report(db, ["--period", "total", "--by", "account", "--metrics", "jobs,core_hours"])
        let jobs = total.reduce(0.0) { $0 + (Double($1[2]) ?? 0) }
        let pages: [(name: String, path: String, needs: [String])] = [
            ("overview", "/?from=2016-12-01&to=2017-02-01&period=week", ["<svg", "data-series=\"taifl\"", "Top users by core hours"]),
            ("explorer", "/explore?by=account&period=month&from=2016-12-01&to=2017-02-01", ["<svg", "Usage by account per month"]),
            ("gpu", "/gpu?from=2016-01-01&to=2027-01-01&period=year", ["GPU hours by model and class"]),
            ("allocations", "/allocations?at=2017-01-20", ["Allocations at", "taifl-2017"]),
            ("allocation", "/allocation?name=taifl-2017&at=2017-01-20", ["data-series=\"used\"", "Burn-down of taifl-2017"]),
            ("quality", "/quality", ["Coverage: days with usage per cluster", "Sources and their last ingest"]),
            ("not-found", "/no-such-page", ["There is no page /no-such-page"]),
            ("bad-parameter", "/explore?from=2024-13-45", ["role=\"alert\"", "2024-13-45"]),
        ]
        for (sizeName, size) in Self.sizes {
            for page in pages {
                let dom = try Self.run(chromium, Self.flags(size) + ["--dump-dom", url + page.path])
                for needed in page.needs { #expect(dom.contains(needed), "\(page.name) at \(sizeName): \(needed)") }
                #expect(dom.contains("name=\"viewport\""))
                let file = shots.appendingPathComponent("\(page.name)-\(sizeName).png").path
                _ = try Self.run(chromium, Self.flags(size) + ["--screenshot=\(file)", url + page.path])
                let bytes = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
                #expect(bytes > 5_000, "\(page.name)-\(sizeName).png")
            }
        }

        // The overview's totals are the report's.
        let overview = try Self.run(chromium, Self.flags("1440,900") + ["--dump-dom", url + "/?period=month"])
        #expect(Self.figure(overview, "jobs") == jobs, "jobs on the overview")
        let coreHours = total.reduce(0.0) { $0 + (Double($1[3]) ?? 0) }
        #expect(abs((Self.figure(overview, "core hours") ?? -1) - coreHours) < 0.1, "core hours on the overview")

        // Follow the drill-down from the chart's taifl bar: the explorer filtered to taifl, by user.
        let link = try #require(overview.range(of: "href=\"(/explore\\?[^\"]*where=account=taifl)\"", options: .regularExpression)
            .map { String(overview[$0].dropFirst(6).dropLast()).replacingOccurrences(of: "&amp;", with: "&") })
        #expect(link.contains("by=user"))
        let drilled = try Self.run(chromium, Self.flags("1440,900") + ["--dump-dom", url + link])
        let users = try Self.report(db, ["--period", "month", "--by", "user", "--where", "account=taifl"])
        let rows = DashboardTests.cells(drilled, caption: "Usage by user per month")
            .map { $0.map { DashboardTests.unescape(DashboardTests.plain($0)) } }
        #expect(!users.isEmpty)
        #expect(rows.map { $0[1] } == users.map { $0[1] }, "the drilled view is taifl's users, as the report")

        // The PNG export draws the page's own chart.
        let png = try Self.run(chromium, Self.flags("1440,900") + ["--dump-dom", url + "/explore?by=account&period=month#png"])
        #expect(png.contains("id=\"chart-png\"") && png.contains("src=\"data:image/png;base64,"), "PNG export")
    }

    /// A PI in a real browser: Chromium signs in through the form with a token limited to one
    /// account (driven over the DevTools protocol, Tests/fixtures/browser/cdp_session.py), keeps
    /// the deep link through sign-in, sees that account's figures and no other account on any
    /// page, cannot open another account's allocation, and is signed out at /logout.
    @Test func aPIsBrowserSessionShowsOnlyTheirAccount() async throws {
        guard let chromium = Self.chromium else {
            #expect(ProcessInfo.processInfo.environment["CI"] == nil, "chromium is missing: scripts/test.sh installs it")
            return
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tally-pi-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let db = directory.appendingPathComponent("tally.db").path
        let fields = "jobid,jobidraw,cluster,partition,qos,account,group,gid,user,uid,submit,eligible,start,end,elapsed,exitcode,"
            + "state,nnodes,ncpus,reqcpus,reqmem,reqtres,alloctres,timelimit,nodelist,jobname"
        var steps = [
            ["ingest", "slurm", "--db", db, "--site", "ccr", "--timezone", "America/New_York", "--fields", fields,
             Fixtures.example("slurm/ccr-phillips.sacct.log")],
            ["ingest", "slurm", "--db", db, "--site", "sandbox", "--timezone", "UTC", Fixtures.example("slurm/sandbox-sacct.txt")],
        ]
        for account in ["taifl", "chaff"] {
            steps.append(["alloc", "create", "\(account)-2017", "--db", db, "--account", account, "--amount", "400",
                          "--unit", "core-hours", "--start", "2016-12-01", "--end", "2017-03-01"])
        }
        for arguments in steps {
            let result = try TallyProcess.run(arguments)
            #expect(result.status == 0, "\(arguments[0]) \(arguments[1]): \(result.stderr)")
        }
        let created = try TallyProcess.run(["token", "create", "--db", db, "--name", "pi-chaff", "--scope", "read", "--account", "chaff"])
        let token = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(created.status == 0 && token.hasPrefix("tly_"), "\(created.stderr)")
        let (server, url) = try TallyProcess.startServer(["serve", "--db", db, "--port", "0"])
        defer { kill(server.processIdentifier, SIGKILL); server.waitUntilExit() }

        let accounts = try Self.report(db, ["--period", "total", "--by", "account", "--metrics", "jobs"]).map { $0[1] }
        let others = accounts.filter { $0 != "chaff" && !$0.isEmpty }
        #expect(others.count >= 3, "\(accounts)")
        let mine = try Self.report(db, ["--period", "total", "--where", "account=chaff", "--metrics", "jobs,core_hours"])
        let first = "/explore?by=account&period=month&from=2016-12-01&to=2017-02-01"
        let paths = [first, "/?from=2016-12-01&to=2027-01-01&period=month", "/explore?by=user&period=total",
                     "/explore?by=partition&period=week&from=2016-12-01&to=2017-02-01", "/gpu?from=2016-01-01&to=2027-01-01",
                     "/allocations?at=2017-01-20", "/allocation?name=chaff-2017&at=2017-01-20",
                     "/allocation?name=taifl-2017&at=2017-01-20"]
        let script = Fixtures.project.appendingPathComponent("Tests/fixtures/browser/cdp_session.py").path
        struct Session: Decodable {
            struct Page: Decodable { var path: String; var url: String; var html: String }
            var login_url: String
            var after_sign_in: String
            var pages: [Page]
            var after_sign_out: String
            var after_sign_out_visit: String
        }
        for (sizeName, size) in Self.sizes {
            let output = try Self.run("/usr/bin/python3", [script, chromium, url, token, size] + paths)
            let session = try JSONDecoder().decode(Session.self, from: Data(output.utf8))
            #expect(session.login_url.hasPrefix(url + "/login?next="), "\(sizeName): not sent to sign in first")
            #expect(session.after_sign_in == url + first, "\(sizeName): the deep link was lost through sign-in")
            #expect(session.pages.count == paths.count)
            for page in session.pages {
                #expect(page.url == url + page.path, "\(sizeName) \(page.path) went to \(page.url)")
                // The last page asks for taifl's allocation by name; its answer echoes the name asked.
                guard page.path != paths.last else { continue }
                for other in others {
                    let shown = page.html.range(of: "\\b\(NSRegularExpression.escapedPattern(for: other))\\b", options: .regularExpression)
                    #expect(shown == nil, "\(sizeName) \(page.path) shows account \(other)")
                }
            }
            let overview = try #require(session.pages.first { $0.path.hasPrefix("/?") }).html
            #expect(Self.figure(overview, "jobs") == Double(mine.first?[1] ?? ""), "\(sizeName): the PI's jobs on the overview")
            #expect(abs((Self.figure(overview, "core hours") ?? -1) - (Double(mine.first?[2] ?? "") ?? -2)) < 0.1)
            let explorer = try #require(session.pages.first).html
            #expect(explorer.contains("chaff"), "\(sizeName): the PI's own account is shown")
            let theirs = try #require(session.pages.last).html
            #expect(theirs.contains("there is no allocation") && !theirs.contains("Burn-down"),
                    "\(sizeName): another account's allocation opened")
            #expect(try #require(session.pages.dropLast().last).html.contains("Burn-down of chaff-2017"))
            #expect(session.after_sign_out == url + "/login", "\(sizeName): sign-out")
            #expect(session.after_sign_out_visit.hasPrefix(url + "/login?next="), "\(sizeName): the session outlived sign-out")
        }
    }
}
