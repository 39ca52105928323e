import AsyncHTTPClient
import Foundation
import NIOCore
import Testing
import TallyTestSupport

/// One set of defaults: on a site whose `[site] timezone` is not UTC, the CLI, the JSON/CSV API,
/// the dashboard and the policy routes give the same answer to the same question, allocation
/// dates are read and printed in the same zone, and ingest stores the configured site name.
@Suite(.serialized) struct SiteDefaultsTests {
    static func get(_ url: String, token: String, csv: Bool = false) async throws -> String {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if csv { request.headers.add(name: "Accept", value: "text/csv") }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = String(buffer: try await response.body.collect(upTo: 1 << 22))
        #expect(response.status.code == 200, "\(url): \(body)")
        return body
    }

    @Test func cliAPIAndDashboardAgreeOnANonUTCSite() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tally-site-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let db = directory.appendingPathComponent("tally.db").path
        let config = directory.appendingPathComponent("tally.toml").path
        try Data("[site]\nname = \"auckland-hpc\"\ntimezone = \"Pacific/Auckland\"\n".utf8).write(to: URL(fileURLWithPath: config))
        // 11:30 UTC on 1 March is 00:30 on 2 March in Auckland (UTC+13).
        let sacct = directory.appendingPathComponent("sacct.txt").path
        try Data("""
            JobID|User|Account|Start|End|ElapsedRaw|AllocTRES|State
            1|alice|chem|2024-03-01T10:30:00|2024-03-01T11:30:00|3600|cpu=4|COMPLETED
            2|bob|chem|2024-03-01T09:00:00|2024-03-01T10:00:00|3600|cpu=2|COMPLETED

            """.utf8).write(to: URL(fileURLWithPath: sacct))
        let ingest = try TallyProcess.run(["ingest", "slurm", "--db", db, "--config", config, "--timezone", "UTC", sacct])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        // No --site: the configured site name, not "local"; no --config later: the stored one.
        let sites = try TallyProcess.run(["report", "--db", db, "--period", "total", "--by", "site", "--format", "csv"])
        #expect(sites.stdout.contains(",auckland-hpc,2,"), "\(sites.stdout)")
        #expect(!sites.stdout.contains("local"))

        let cli = try TallyProcess.run(["report", "--db", db, "--period", "day", "--by", "user", "--format", "csv"])
        #expect(cli.status == 0, "\(cli.stderr)")
        #expect(cli.stdout.contains("2024-03-01,bob") && cli.stdout.contains("2024-03-02,alice"), "\(cli.stdout)")

        let created = try TallyProcess.run(["alloc", "create", "--db", db, "chem-2024", "--account", "chem",
                                            "--amount", "100", "--unit", "core-hours", "--start", "2024-03-02",
                                            "--end", "2024-03-31"])
        #expect(created.status == 0, "\(created.stderr)")
        #expect(created.stdout.contains("2024-03-02T00:00:00 .. 2024-04-01T00:00:00"), "\(created.stdout)")
        let listed = try TallyProcess.run(["alloc", "list", "--db", db, "--format", "csv"])
        #expect(listed.stdout.contains("2024-03-02T00:00:00"), "\(listed.stdout)")

        let token = try TallyProcess.run(["token", "create", "--db", db, "--name", "t", "--scope", "read"])
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let (server, url) = try TallyProcess.startServer(["serve", "--db", db, "--port", "0"])
        defer { server.terminate(); server.waitUntilExit() }
        let api = try await Self.get("\(url)/api/v1/summaries?period=day&by=user", token: token, csv: true)
        #expect(api == cli.stdout)
        let page = try await Self.get("\(url)/explore.csv?period=day&by=user", token: token)
        #expect(page == cli.stdout)
        let html = try await Self.get("\(url)/explore?period=day&by=user", token: token)
        #expect(html.contains("2024-03-02") && !html.contains("2024-03-01T"), "dashboard periods in the site zone")
        let allocations = try await Self.get("\(url)/api/v1/allocations", token: token, csv: true)
        #expect(allocations.contains("2024-03-02T00:00:00"), "\(allocations)")
        // A zone named in the request still wins, and an unknown one is an error, not UTC.
        let utc = try await Self.get("\(url)/api/v1/summaries?period=day&by=user&timezone=UTC", token: token, csv: true)
        #expect(utc.contains("2024-03-01,alice"))
        var bad = HTTPClientRequest(url: "\(url)/api/v1/allocations?timezone=Mars/Olympus")
        bad.headers.add(name: "Authorization", value: "Bearer \(token)")
        #expect(try await HTTPClient.shared.execute(bad, timeout: .seconds(30)).status.code == 400)
    }
}
