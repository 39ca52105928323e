import Foundation
import SwiftCSV
import TallyCore

/// Reads a user directory export (`user,name,email,organisation`, header required; column order
/// free; `login`/`username` and `organization`/`org` accepted).
public enum UserDirectoryCSV {
    public static func parse(_ text: String, path: String) throws -> (entries: [UserEntry], issues: [ConfigIssue]) {
        let csv: CSV<Enumerated>
        do {
            csv = try CSV<Enumerated>(string: text, delimiter: .comma, loadColumns: false)
        } catch {
            throw ConfigError(issues: [ConfigIssue(path: path, line: nil, message: "not CSV: \(error)")])
        }
        let header = csv.header.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        func column(_ names: String...) -> Int? { header.firstIndex { names.contains($0) } }
        guard let user = column("user", "login", "username", "uid") else {
            throw ConfigError(issues: [ConfigIssue(path: path, line: 1, message: "the header has no 'user' column (got: \(header.joined(separator: ", ")))")])
        }
        let name = column("name", "display_name", "full_name")
        let email = column("email", "mail")
        let organisation = column("organisation", "organization", "org", "institution")
        var entries: [UserEntry] = []
        var issues: [ConfigIssue] = []
        for (index, row) in csv.rows.enumerated() {
            let line = index + 2
            func cell(_ column: Int?) -> String? {
                guard let column, column < row.count else { return nil }
                let value = row[column].trimmingCharacters(in: .whitespaces)
                return value.isEmpty ? nil : value
            }
            guard row.count == header.count else {
                issues.append(ConfigIssue(path: path, line: line, message: "has \(row.count) fields, the header \(header.count): skipped"))
                continue
            }
            guard let login = cell(user) else {
                issues.append(ConfigIssue(path: path, line: line, message: "field 'user' is empty: skipped"))
                continue
            }
            entries.append(UserEntry(user: login, name: cell(name), email: cell(email), organisation: cell(organisation)))
        }
        return (entries, issues)
    }
}
