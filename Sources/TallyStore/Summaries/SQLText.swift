/// A value bound to a statement parameter.
enum SQLValue: Sendable, Hashable {
    case int(Int64)
    case text(String)
    case null
    /// Bound as one array where the dialect has them, else spread over placeholders.
    case ints([Int64])
}

/// The two SQL dialects Tally speaks: the queries are the same but for placeholders and hints.
enum SQLDialect: Sendable {
    case sqlite
    case postgres
}

/// SQL text built with bound values only (never interpolated user data), rendered with the
/// dialect's placeholders: `?` for SQLite, `$1, $2…` for PostgreSQL.
struct SQLText: Sendable {
    let dialect: SQLDialect
    private(set) var sql = ""
    private(set) var values: [SQLValue] = []

    init(_ dialect: SQLDialect, _ sql: String = "") {
        self.dialect = dialect
        self.sql = sql
    }

    mutating func append(_ text: String) { sql += text }

    /// Appends a placeholder for `value`.
    mutating func bind(_ value: SQLValue) {
        values.append(value)
        switch dialect {
        case .sqlite: sql += "?"
        case .postgres: sql += "$\(values.count)"
        }
    }

    mutating func bind(_ value: Int64) { bind(.int(value)) }

    mutating func bind(_ value: String) { bind(.text(value)) }

    /// ` AND column IN (…)`: one array parameter on PostgreSQL, one placeholder per id on SQLite.
    mutating func andIn(_ column: String, _ ids: [Int64]) {
        switch dialect {
        case .postgres:
            sql += " AND \(column) = ANY("
            bind(.ints(ids))
            sql += ")"
        case .sqlite:
            sql += " AND \(column) IN ("
            for (index, id) in ids.enumerated() {
                if index > 0 { sql += ", " }
                bind(id)
            }
            sql += ")"
        }
    }
}
