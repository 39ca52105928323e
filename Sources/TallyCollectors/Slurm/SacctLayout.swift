import Foundation
import TallyCore

/// Where each known column sits in a sacct line, taken from the header or `--fields`.
struct SacctLayout: Sendable {
    let names: [String]
    let kinds: [SacctValueKind]
    private let positions: [Int?]  // indexed by SacctColumn ordinal
    /// Columns Tally reads; a repair must place these unambiguously.
    let usedIndexes: [Int]

    var columnCount: Int { names.count }

    /// Whether lines end with an extra delimiter (`sacct --parsable`): known from a header that
    /// does; assumed possible when the names came from `--fields`.
    let mayHaveTrailingDelimiter: Bool

    init(names rawNames: [String], fromHeader: Bool) throws(LayoutError) {
        var names = rawNames.map { $0.trimmingCharacters(in: .whitespaces) }
        // `sacct --parsable` ends every line with the delimiter: an empty last name.
        let trailing = names.count > 1 && names.last == ""
        if trailing { names.removeLast() }
        mayHaveTrailingDelimiter = trailing || !fromHeader
        guard !names.isEmpty, !names.contains("") else { throw .emptyName }
        var positions = [Int?](repeating: nil, count: SacctColumn.allCases.count)
        for (index, name) in names.enumerated() {
            guard let column = SacctColumn.named(name) else { continue }
            if positions[column.rawValue] == nil { positions[column.rawValue] = index }
        }
        guard positions[SacctColumn.jobID.rawValue] != nil || positions[SacctColumn.jobIDRaw.rawValue] != nil
        else { throw .noJobID }
        self.names = names
        self.kinds = names.map(SacctValueKind.of(header:))
        self.positions = positions
        self.usedIndexes = positions.compactMap { $0 }.sorted()
    }

    @inline(__always)
    func index(of column: SacctColumn) -> Int? {
        positions[column.rawValue]
    }

    /// A header line: every field a column-like name, and a job id column among them.
    static func looksLikeHeader(_ fields: [String]) -> Bool {
        guard fields.contains(where: { SacctColumn.named($0) == .jobID || SacctColumn.named($0) == .jobIDRaw })
        else { return false }
        return fields.dropLast(fields.last == "" ? 1 : 0).allSatisfy { name in
            !name.isEmpty && name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "/" || $0 == ":" }
        }
    }

    enum LayoutError: Error {
        case emptyName, noJobID
    }
}
