import Foundation
import Testing
import TallyApp
import TallyConfig
@testable import TallyCore
@testable import TallyStore

/// What the server and the CLI need from any store, checked on both backends.
@Suite struct StoreSuiteTests {
    static func generated(_ temporary: TemporaryStore, jobs: Int) async throws -> String {
        var generator = SacctGenerator(seed: 11, start: utc("2024-02-01"), days: 20, users: 6, accounts: 3,
                                       expectedJobs: jobs)
        var bytes = Array((generator.header + "\n").utf8)
        for _ in 0..<jobs { generator.appendJob(to: &bytes) }
        let path = try temporary.write("generated.txt", String(decoding: bytes, as: UTF8.self))
        try await temporary.ingest(path, batchSize: 113)
        return path
    }

    @Test(arguments: Backend.all) func keysetPagesReturnEveryRecordOnce(backend: Backend) async throws {
        let temporary = try await TemporaryStore(backend)
        _ = try await Self.generated(temporary, jobs: 700)
        let all = try await temporary.store.jobs(JobQuery())
        var seen: [String] = []
        var cursor: Int64 = 0
        while true {
            let page = try await temporary.store.jobPage(JobQuery(limit: 64, afterID: cursor))
            guard let last = page.last else { break }
            seen += page.map(\.record.naturalKey)
            cursor = last.id
        }
        #expect(seen.count == all.count)
        #expect(Set(seen) == Set(all.map(\.naturalKey)))
        #expect(Set(seen).count == seen.count)
        // Filters and time windows select the same records on both backends.
        let user = all[0].user!
        let mine = try await temporary.store.jobs(JobQuery(filters: [.user: [user]]))
        #expect(mine.count == all.filter { $0.user == user }.count)
        let window = utc("2024-02-05")..<utc("2024-02-06")
        let touching = try await temporary.store.jobs(JobQuery(window: window))
        #expect(touching.count == all.filter { record in
            guard let span = record.usage.touchSpan else { return false }
            return span.overlaps(window)
        }.count)
    }

    @Test(arguments: Backend.all) func tokensStoreOnlyHashes(backend: Backend) async throws {
        let temporary = try await TemporaryStore(backend)
        let created = try await temporary.store.createToken(name: "site-a", hash: "abc123", scopes: ["write"],
                                                            sites: ["a", "b"])
        #expect(try await temporary.store.token(hash: "abc123") == created)
        #expect(try await temporary.store.token(hash: "nope") == nil)
        _ = try await temporary.store.createToken(name: "reader", hash: "def456", scopes: ["read"], sites: [])
        #expect(try await temporary.store.tokens().map(\.name) == ["site-a", "reader"])
    }

    @Test(arguments: Backend.all) func configurationUsersAndGenerations(backend: Backend) async throws {
        let temporary = try await TemporaryStore(backend)
        let before = try await temporary.store.summaryGeneration()
        _ = try await Self.generated(temporary, jobs: 300)
        let afterIngest = try await temporary.store.summaryGeneration()
        #expect(afterIngest != before)
        let plain = try await temporary.store.report(ReportQuery(period: .month, groupBy: [.account]))

        // A configuration rebuilds the summaries; raw totals stay, SU appear.
        let text = "[[charge_rate]]\ncore_hour = 2\n"
        let stats = try await temporary.store.apply(try ConfigLoader.parse(text).configuration, text: text)
        let counted = try await temporary.store.jobs(JobQuery()).filter { $0.usage.touchSpan != nil }.count
        #expect(stats?.records == Int64(counted))
        #expect(try await temporary.store.appliedConfiguration()?.text == text)
        let charged = try await temporary.store.report(ReportQuery(period: .month, groupBy: [.account]))
        #expect(charged.total.coreSeconds == plain.total.coreSeconds)
        #expect(charged.total.chargeMilli == 2000 * plain.total.coreSeconds)
        #expect(try await temporary.store.summaryGeneration() != afterIngest)
        // The same configuration again changes nothing.
        #expect(try await temporary.store.apply(try ConfigLoader.parse(text).configuration, text: text) == nil)

        // A user directory groups users by organisation.
        let users = Set(try await temporary.store.jobs(JobQuery()).compactMap(\.user)).sorted()
        let entries = users.enumerated().map { index, user in
            UserEntry(user: user, name: "User \(index)", email: nil, organisation: index % 2 == 0 ? "even" : "odd")
        }
        _ = try await temporary.store.importUsers(entries, source: "test.csv",
                                                  configuration: try ConfigLoader.parse(text).configuration, text: text)
        #expect(try await temporary.store.userDirectory().count == users.count)
        let byOrganisation = try await temporary.store.report(ReportQuery(period: .total, groupBy: [.organisation]))
        #expect(Set(byOrganisation.rows.map { $0.keys[0] }) == ["even", "odd"])
        #expect(byOrganisation.total.coreSeconds == plain.total.coreSeconds)
        #expect(try await temporary.store.recordedSubjects().reduce(Int64(0)) { $0 + $1.coreSeconds }
                == plain.total.coreSeconds)
        #expect(try await temporary.store.coverage().count == 1)
    }

    @Test func bothBackendsGiveTheSameAnswers() async throws {
        guard Backend.all.contains(.postgres) else { return }
        var answers: [[ReportRow]] = []
        var statuses: [StoreStatus] = []
        for backend in [Backend.sqlite, .postgres] {
            let temporary = try await TemporaryStore(backend)
            _ = try await Self.generated(temporary, jobs: 500)
            answers.append(try await temporary.store.report(ReportQuery(period: .day, groupBy: [.user, .partition])).rows)
            answers.append(try await temporary.store.report(ReportQuery(
                window: utc("2024-02-03T05:00:00")..<utc("2024-02-09T17:30:00"), period: .day,
                groupBy: [.state, .wallBucket])).rows)
            statuses.append(try await temporary.store.status())
        }
        #expect(answers[0] == answers[2])
        #expect(answers[1] == answers[3])
        #expect(statuses[0].records == statuses[1].records)
        #expect(statuses[0].recordsByState.map(\.state) == statuses[1].recordsByState.map(\.state))
    }
}
