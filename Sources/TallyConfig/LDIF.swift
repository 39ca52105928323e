import Foundation

/// Entries of an LDIF content file (RFC 2849), as `ldapsearch -LLL` prints them: attribute
/// names lower-cased, values in order, base64 (`::`) values decoded, folded lines joined.
public struct LDIFEntry: Sendable, Hashable {
    public var dn: String
    public var attributes: [String: [String]]

    public func first(_ attribute: String) -> String? { attributes[attribute.lowercased()]?.first }
    public func all(_ attribute: String) -> [String] { attributes[attribute.lowercased()] ?? [] }
}

public enum LDIF {
    public struct Invalid: Error, CustomStringConvertible {
        public var line: Int
        public var reason: String
        public var description: String { "line \(line): \(reason)" }
    }

    public static func entries(_ text: String) throws(Invalid) -> [LDIFEntry] {
        var entries: [LDIFEntry] = []
        var current: LDIFEntry?
        // Unfolded logical lines with the number of their first physical line.
        var logical: [(line: Int, text: String)] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw[...]
            if line.hasPrefix(" "), let last = logical.last, !last.text.isEmpty {
                logical[logical.count - 1].text += line.dropFirst()
            } else {
                logical.append((index + 1, String(line)))
            }
        }
        for (number, line) in logical {
            if line.isEmpty {
                if let entry = current { entries.append(entry) }
                current = nil
                continue
            }
            if line.hasPrefix("#") { continue }
            guard let colon = line.firstIndex(of: ":") else {
                throw Invalid(line: number, reason: "expected 'attribute: value', found '\(line.prefix(60))'")
            }
            let name = line[..<colon].lowercased()
            var rest = line[line.index(after: colon)...]
            let value: String
            if rest.hasPrefix(":") {
                rest = rest.dropFirst()
                let encoded = rest.trimmingCharacters(in: .whitespaces)
                guard let data = Data(base64Encoded: encoded), let decoded = String(data: data, encoding: .utf8) else {
                    throw Invalid(line: number, reason: "\(name): the base64 value is not valid UTF-8 text")
                }
                value = decoded
            } else if rest.hasPrefix("<") {
                throw Invalid(line: number, reason: "\(name): values by URL are not read")
            } else {
                value = String(rest.drop { $0 == " " })
            }
            if name == "version", current == nil, entries.isEmpty { continue }
            if name == "dn" {
                if let entry = current { entries.append(entry) }
                current = LDIFEntry(dn: value, attributes: [:])
                continue
            }
            guard current != nil else { throw Invalid(line: number, reason: "\(name) before any dn") }
            current!.attributes[name, default: []].append(value)
        }
        if let entry = current { entries.append(entry) }
        return entries
    }
}
