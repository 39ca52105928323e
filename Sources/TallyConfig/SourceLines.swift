/// Finds where tables and keys are written in TOML text. TOMLKit gives positions for syntax
/// errors only; checks of meaning (unknown keys, overlapping rules) name lines through this.
struct SourceLines {
    private struct Header { var name: String; var isArray: Bool; var line: Int }
    private let lines: [Substring]
    private let headers: [Header]

    init(_ text: String) {
        lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        var headers: [Header] = []
        for (index, raw) in lines.enumerated() {
            let line = raw.drop { $0 == " " || $0 == "\t" }
            guard line.hasPrefix("[") else { continue }
            let isArray = line.hasPrefix("[[")
            let inner = line.dropFirst(isArray ? 2 : 1).prefix { $0 != "]" }
            let name = inner.trimmingCharacters(in: .whitespaces)
            headers.append(Header(name: name, isArray: isArray, line: index + 1))
        }
        self.headers = headers
    }

    /// The line of the `index`-th `[[name]]` (or of `[name]` when `index` is nil).
    func header(_ name: String, index: Int? = nil) -> Int? {
        let matching = headers.filter { $0.name == name && $0.isArray == (index != nil) }
        guard let index else { return matching.first?.line }
        return index < matching.count ? matching[index].line : nil
    }

    /// The line of `key = …` inside the table whose header is on `tableLine` (top level when nil).
    func key(_ key: String, inTableAt tableLine: Int?) -> Int? {
        let start = tableLine ?? 0
        let end = headers.first { $0.line > start }?.line ?? (lines.count + 1)
        for number in (start + 1)..<end {
            let line = lines[number - 1].drop { $0 == " " || $0 == "\t" }
            guard line.hasPrefix(key) else { continue }
            let rest = line.dropFirst(key.count).drop { $0 == " " || $0 == "\t" }
            if rest.hasPrefix("=") || rest.hasPrefix(".") { return number }
        }
        return tableLine
    }
}

import Foundation
