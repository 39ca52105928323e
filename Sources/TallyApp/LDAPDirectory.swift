import Foundation
import TallyConfig
import TallyCore

/// The user directory from LDAP, read with OpenLDAP's `ldapsearch` (Debian's ldap-utils): people
/// with display name, mail and organisation, the groups each is a member of (posixGroup
/// `memberUid`, groupOfNames `member`, groupOfUniqueNames `uniqueMember`) and their PI
/// (`manager`). There is no maintained Swift LDAP client; ldapsearch is on every directory
/// admin's machine and speaks every bind and TLS option a site needs (ldap.conf applies).
public struct LDAPDirectory: Sendable {
    public struct Options: Sendable {
        public var url: String
        public var base: String
        public var bindDN: String?
        /// A file holding the bind password (a trailing newline is not part of it).
        public var passwordFile: String?
        public static let defaultUserFilter = "(objectClass=posixAccount)"
        public static let defaultGroupFilter =
            "(|(objectClass=posixGroup)(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))"
        public static let defaultNameAttributes = ["displayName", "cn"]

        public var userFilter = defaultUserFilter
        public var groupBase: String?
        public var groupFilter = defaultGroupFilter
        public var uidAttribute = "uid"
        /// The first of these an entry has is its display name.
        public var nameAttributes = defaultNameAttributes
        public var mailAttribute = "mail"
        public var organisationAttribute = "o"
        public var piAttribute = "manager"
        public var timeoutSeconds = 30
        public var ldapsearch = "ldapsearch"

        public init(url: String, base: String) { self.url = url; self.base = base }
    }

    public enum Failure: Error, CustomStringConvertible {
        case toolMissing(String)
        case searchFailed(base: String, status: Int32, message: String)
        case unreadable(base: String, LDIF.Invalid)
        case passwordFile(String)

        public var description: String {
            switch self {
            case .toolMissing(let tool): "\(tool) is not installed (Debian: apt install ldap-utils)"
            case .searchFailed(let base, let status, let message):
                "ldapsearch under \(base) failed (exit \(status)): \(message.trimmingCharacters(in: .whitespacesAndNewlines))"
            case .unreadable(let base, let invalid): "ldapsearch under \(base) printed unreadable LDIF: \(invalid)"
            case .passwordFile(let path): "\(path): cannot read the password file"
            }
        }
    }

    /// What a sync read: the entries, and the people skipped (no uid), by DN.
    public struct Result: Sendable {
        public var entries: [UserEntry]
        public var groups: Int
        public var skipped: [String]
    }

    public let options: Options

    public init(options: Options) { self.options = options }

    public func read() async throws -> Result {
        let people = try await search(base: options.base, filter: options.userFilter,
                                      attributes: [options.uidAttribute, options.mailAttribute, options.organisationAttribute,
                                                   options.piAttribute] + options.nameAttributes)
        var uidByDN: [String: String] = [:]
        var skipped: [String] = []
        for person in people {
            if let uid = person.first(options.uidAttribute) { uidByDN[Self.normalised(person.dn)] = uid } else { skipped.append(person.dn) }
        }
        func uid(named reference: String) -> String? {
            guard reference.contains("=") else { return reference }  // memberUid, or a manager given as a plain uid
            return uidByDN[Self.normalised(reference)] ?? Self.rdnValue(reference, attribute: options.uidAttribute)
        }
        let groups = try await search(base: options.groupBase ?? options.base, filter: options.groupFilter,
                                      attributes: ["cn", "memberUid", "member", "uniqueMember"])
        var groupsOf: [String: Set<String>] = [:]
        for group in groups {
            guard let name = group.first("cn") else { continue }
            for member in group.all("memberUid") + group.all("member") + group.all("uniqueMember") {
                if let user = uid(named: member) { groupsOf[user, default: []].insert(name) }
            }
        }
        var entries: [UserEntry] = []
        for person in people {
            guard let user = person.first(options.uidAttribute) else { continue }
            let name = options.nameAttributes.lazy.compactMap { person.first($0) }.first
            entries.append(UserEntry(user: user, name: name, email: person.first(options.mailAttribute),
                                     organisation: person.first(options.organisationAttribute),
                                     groups: (groupsOf[user] ?? []).sorted(),
                                     pi: person.first(options.piAttribute).flatMap(uid(named:))))
        }
        return Result(entries: entries.sorted { $0.user < $1.user }, groups: groups.count, skipped: skipped)
    }

    /// One subtree search, paged (directories cap unpaged answers, Active Directory at 1000).
    func search(base: String, filter: String, attributes: [String]) async throws -> [LDIFEntry] {
        guard let tool = Self.locate(options.ldapsearch) else { throw Failure.toolMissing(options.ldapsearch) }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("tally-ldap-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(at: scratch) }
        var arguments = ["-LLL", "-x", "-o", "ldif-wrap=no", "-o", "nettimeout=\(options.timeoutSeconds)",
                         "-l", "\(options.timeoutSeconds)", "-E", "pr=500/noprompt", "-H", options.url, "-b", base]
        if let bindDN = options.bindDN { arguments += ["-D", bindDN] }
        if let passwordFile = options.passwordFile {
            // ldapsearch -y takes a file's every byte: the copy without the newline editors add.
            // Read through a handle: a pipe (`<(pass show ldap)`) has no size to read at once.
            guard let handle = FileHandle(forReadingAtPath: passwordFile), let data = try? handle.readToEnd(),
                  let text = String(data: data, encoding: .utf8) else { throw Failure.passwordFile(passwordFile) }
            let copy = scratch.appendingPathComponent("password")
            _ = FileManager.default.createFile(atPath: copy.path, contents: Data(text.trimmingCharacters(in: .newlines).utf8),
                                           attributes: [.posixPermissions: 0o600])
            arguments += ["-y", copy.path]
        }
        arguments.append(filter)
        arguments += attributes
        let output = scratch.appendingPathComponent("out.ldif"), errors = scratch.appendingPathComponent("err.txt")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = try FileHandle(forWritingTo: errors)
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch { continuation.resume(throwing: error) }
        }
        // 32: no such object (an empty subtree answers nothing, which is not an error here).
        guard status == 0 || status == 32 else {
            let message = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            throw Failure.searchFailed(base: base, status: status, message: message)
        }
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        do { return try LDIF.entries(text) } catch { throw Failure.unreadable(base: base, error) }
    }

    static func locate(_ tool: String) -> String? {
        if tool.contains("/") { return FileManager.default.isExecutableFile(atPath: tool) ? tool : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(tool)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// DNs compare without case and without blanks around separators.
    static func normalised(_ dn: String) -> String {
        dn.split(separator: ",").map { part in
            part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: "=")
        }.joined(separator: ",").lowercased()
    }

    /// `uid=jsmith,ou=people,…` → `jsmith` when the first RDN is `attribute`.
    static func rdnValue(_ dn: String, attribute: String) -> String? {
        guard let first = dn.split(separator: ",").first else { return nil }
        let pair = first.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        return pair.count == 2 && pair[0].lowercased() == attribute.lowercased() ? pair[1] : nil
    }
}
