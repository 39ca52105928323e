import Foundation
import Testing
import TallyCore
import TallyStore
import TallyTestSupport

/// `tally users sync-ldap` against a real OpenLDAP (Debian's slapd, started by scripts/test.sh
/// with Tests/fixtures/ldap/directory.ldif; `TALLY_TEST_LDAP` is its URL).
@Suite(.serialized) struct LDAPSyncTests {
    static let url = ProcessInfo.processInfo.environment["TALLY_TEST_LDAP"]

    static func arguments(_ location: String, password: String) -> [String] {
        ["users", "sync-ldap", "--db", location, "--url", url ?? "", "--base", "ou=people,dc=example,dc=org",
         "--group-base", "ou=groups,dc=example,dc=org", "--bind-dn", "cn=reader,dc=example,dc=org",
         "--password-file", password]
    }

    @Test(arguments: Backend.all) func peopleGroupsAndPIsComeFromTheDirectory(backend: Backend) async throws {
        guard Self.url != nil else {
            #expect(ProcessInfo.processInfo.environment["CI"] == nil, "TALLY_TEST_LDAP is unset: scripts/test.sh starts slapd")
            return
        }
        let temporary = try TemporaryStore()
        let (store, location) = try await backend.makeStore(in: temporary.directory)
        // An editor's trailing newline is not part of the password.
        let password = try temporary.write("reader.password", "reader-secret\n")
        let sandbox = Fixtures.path("slurm-sandbox/sacct-duplicates.txt")
        #expect(try TallyProcess.run(["ingest", "slurm", "--db", location, "--timezone", "UTC", sandbox]).status == 0)

        let synced = try TallyProcess.run(Self.arguments(location, password: password))
        #expect(synced.status == 0, "\(synced.stderr)")
        #expect(synced.stdout.contains("synced 5 users from \(Self.url!) (3 groups, 3 with a PI)"))

        let directory = Dictionary(uniqueKeysWithValues: try await store.userDirectory().map { ($0.user, $0) })
        #expect(directory.keys.sorted() == ["bmuller", "carol", "jsmith", "prof.ada", "prof.curie"])
        // displayName wins over cn, base64 values decoded; groups from memberUid and member DNs.
        #expect(directory["bmuller"] == UserEntry(user: "bmuller", name: "Björn Müller", email: "bmuller@example.org",
                                                   organisation: "Chemistry", groups: ["chemistry", "gpu-users"],
                                                   pi: "prof.curie"))
        #expect(directory["carol"]?.name == "Carol Jones")  // no displayName: cn
        #expect(directory["jsmith"]?.groups == ["gpu-users", "physics"])
        #expect(directory["jsmith"]?.pi == "prof.ada")
        #expect(directory["prof.ada"]?.pi == nil)

        // The organisation applies to reports: carol's jobs in the sandbox are Chemistry's.
        let report = try TallyProcess.run(["report", "--db", location, "--period", "total", "--by", "organisation",
                                           "--format", "csv", "--metrics", "jobs"])
        #expect(report.status == 0, "\(report.stderr)")
        #expect(report.stdout.contains(",Chemistry,"))
        let listed = try TallyProcess.run(["users", "list", "--db", location, "--format", "csv"])
        #expect(listed.stdout.contains("jsmith,Jane Smith,jsmith@example.org,Physics,prof.ada,gpu-users physics"))

        // A second sync changes nothing; a wrong password is a clear error and keeps the directory.
        #expect(try TallyProcess.run(Self.arguments(location, password: password)).status == 0)
        #expect(try await store.userDirectory().count == 5)
        let wrong = try temporary.write("wrong.password", "nope")
        let refused = try TallyProcess.run(Self.arguments(location, password: wrong))
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("ldapsearch under ou=people,dc=example,dc=org failed (exit 49)"))
        #expect(refused.stderr.contains("Invalid credentials"))
        #expect(!refused.stderr.contains("nope"))
        #expect(try await store.userDirectory().count == 5)
    }
}
