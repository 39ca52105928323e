import Foundation
import TallyCore

/// The share tree as Slurm holds it: `sacctmgr -P show assoc format=Cluster,Account,User,Share,ParentName`
/// (any column order; a header line names the columns). Account rows name their parent; user
/// rows hang under their account. `Share` is a number or `parent`.
public enum SacctmgrAssociations {
    public struct Invalid: Error, Sendable, CustomStringConvertible {
        public var path: String
        public var line: Int
        public var message: String
        public var description: String { "\(path):\(line): \(message)" }
    }

    public static func read(path: String, cluster: String? = nil) throws -> [ShareEntry] {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw Invalid(path: path, line: 0, message: "cannot read: \(error.localizedDescription)")
        }
        return try parse(text, path: path, cluster: cluster)
    }

    public static func parse(_ text: String, path: String = "-", cluster: String? = nil) throws -> [ShareEntry] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().makeIterator()
        guard let (_, header) = lines.next() else { throw Invalid(path: path, line: 1, message: "empty file") }
        let names = header.split(separator: "|", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased().replacingOccurrences(of: " ", with: "") }
        func column(_ candidates: String...) -> Int? { names.firstIndex { candidates.contains($0) } }
        guard let account = column("account"), let user = column("user"),
              let share = column("share", "rawshares", "fairshare") else {
            throw Invalid(path: path, line: 1, message: "header must name Account, User and Share columns (sacctmgr -P show assoc)")
        }
        let parent = column("parentname", "parname")
        let clusterColumn = column("cluster")
        var entries: [ShareEntry] = []
        while let (index, raw) = lines.next() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            let fields = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.count >= names.count else {
                throw Invalid(path: path, line: index + 1, message: "\(fields.count) fields where the header names \(names.count)")
            }
            if let cluster, let clusterColumn, fields[clusterColumn] != cluster { continue }
            let accountName = fields[account]
            guard !accountName.isEmpty else { throw Invalid(path: path, line: index + 1, message: "Account is empty") }
            let shareText = fields[share]
            var shares: Int64?
            if shareText.lowercased() == "parent" {
                shares = nil
            } else if let value = Int64(shareText), value >= 0 {
                shares = value
            } else if shareText.isEmpty {
                shares = 1
            } else {
                throw Invalid(path: path, line: index + 1, message: "Share '\(shareText)' is neither a number nor 'parent'")
            }
            let userName = fields[user]
            if accountName == "root", userName.isEmpty { continue }
            entries.append(ShareEntry(account: accountName, user: userName.isEmpty ? nil : userName,
                                      parent: userName.isEmpty ? parent.map { fields[$0] }.flatMap { $0.isEmpty ? nil : $0 } : nil,
                                      shares: shares))
        }
        return entries
    }
}
