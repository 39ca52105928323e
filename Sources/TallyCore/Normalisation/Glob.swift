/// A shell-style pattern (`*`, `?`, `[abc]`, `[a-z]`, `[!x]`) as config rules use for hosts,
/// partitions and GPU models. Matching is on Unicode scalars; case-insensitive when asked.
public struct Glob: Sendable, Hashable, CustomStringConvertible {
    private enum Token: Sendable, Hashable {
        case literal(Unicode.Scalar)
        case any
        case star
        case set([ClosedRange<Unicode.Scalar>], negated: Bool)
    }

    public let pattern: String
    public let caseInsensitive: Bool
    private let tokens: [Token]

    public init(_ pattern: String, caseInsensitive: Bool = false) throws(GlobError) {
        self.pattern = pattern
        self.caseInsensitive = caseInsensitive
        let scalars = Array((caseInsensitive ? pattern.lowercased() : pattern).unicodeScalars)
        var tokens: [Token] = []
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            switch scalar {
            case "*":
                if tokens.last != .star { tokens.append(.star) }
            case "?":
                tokens.append(.any)
            case "[":
                var cursor = index + 1
                var negated = false
                if cursor < scalars.count, scalars[cursor] == "!" || scalars[cursor] == "^" {
                    negated = true
                    cursor += 1
                }
                var ranges: [ClosedRange<Unicode.Scalar>] = []
                var closed = false
                var first = true
                while cursor < scalars.count {
                    let member = scalars[cursor]
                    if member == "]", !first {
                        closed = true
                        break
                    }
                    first = false
                    if cursor + 2 < scalars.count, scalars[cursor + 1] == "-", scalars[cursor + 2] != "]" {
                        let upper = scalars[cursor + 2]
                        guard member <= upper else { throw GlobError(pattern: pattern, reason: "range \(member)-\(upper) is backwards") }
                        ranges.append(member...upper)
                        cursor += 3
                    } else {
                        ranges.append(member...member)
                        cursor += 1
                    }
                }
                guard closed else { throw GlobError(pattern: pattern, reason: "'[' is not closed") }
                tokens.append(.set(ranges, negated: negated))
                index = cursor
            case "\\":
                guard index + 1 < scalars.count else { throw GlobError(pattern: pattern, reason: "ends with '\\'") }
                index += 1
                tokens.append(.literal(scalars[index]))
            default:
                tokens.append(.literal(scalar))
            }
            index += 1
        }
        if pattern.isEmpty { throw GlobError(pattern: pattern, reason: "empty pattern") }
        self.tokens = tokens
    }

    public var description: String { pattern }

    /// Whether the pattern has no wildcard at all.
    public var isLiteral: Bool {
        tokens.allSatisfy { if case .literal = $0 { true } else { false } }
    }

    public func matches(_ text: String) -> Bool {
        let scalars = Array((caseInsensitive ? text.lowercased() : text).unicodeScalars)
        // Iterative matching with one backtrack point per star: linear in practice.
        var textIndex = 0, tokenIndex = 0
        var starToken = -1, starText = 0
        while textIndex < scalars.count {
            if tokenIndex < tokens.count {
                switch tokens[tokenIndex] {
                case .star:
                    starToken = tokenIndex
                    starText = textIndex
                    tokenIndex += 1
                    continue
                case .any:
                    textIndex += 1; tokenIndex += 1
                    continue
                case let .literal(expected) where expected == scalars[textIndex]:
                    textIndex += 1; tokenIndex += 1
                    continue
                case let .set(ranges, negated)
                    where ranges.contains(where: { $0.contains(scalars[textIndex]) }) != negated:
                    textIndex += 1; tokenIndex += 1
                    continue
                default:
                    break
                }
            }
            guard starToken >= 0 else { return false }
            starText += 1
            textIndex = starText
            tokenIndex = starToken + 1
        }
        while tokenIndex < tokens.count, tokens[tokenIndex] == .star { tokenIndex += 1 }
        return tokenIndex == tokens.count
    }
}

public struct GlobError: Error, Sendable, Hashable, CustomStringConvertible {
    public var pattern: String
    public var reason: String
    public var description: String { "bad pattern '\(pattern)': \(reason)" }
}
