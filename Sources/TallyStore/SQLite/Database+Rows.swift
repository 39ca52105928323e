import GRDB
import GRDBSQLite

extension Database {
    /// Steps a prepared statement (arguments bound) through the C API, handing `body` the raw
    /// handle for each row: report scans read hundreds of thousands of rows, and GRDB's `Row`
    /// costs several times the column reads themselves.
    func forEachRow(_ statement: Statement, _ body: (OpaquePointer) throws -> Void) throws {
        let handle = statement.sqliteStatement
        defer { sqlite3_reset(handle) }
        while true {
            let code = sqlite3_step(handle)
            if code == SQLITE_DONE { return }
            guard code == SQLITE_ROW else {
                throw DatabaseError(resultCode: ResultCode(rawValue: code),
                                    message: String(cString: sqlite3_errmsg(sqliteConnection)))
            }
            try body(handle)
        }
    }

    /// Runs shared SQL text, handing each row to `body`.
    func forEachRow(_ text: SQLText, _ body: (SQLiteRow) throws -> Void) throws {
        let statement = try makeStatement(sql: text.sql)
        try statement.setArguments(text.arguments)
        try forEachRow(statement) { try body(SQLiteRow(handle: $0)) }
    }
}

extension SQLText {
    var arguments: StatementArguments {
        StatementArguments(values.map { value -> (any DatabaseValueConvertible)? in
            switch value {
            case let .int(number): number
            case let .text(string): string
            case .null: nil
            // `andIn` spreads arrays over placeholders on SQLite.
            case .ints: preconditionFailure("array parameter in SQLite text")
            }
        })
    }
}

/// A row under a stepped SQLite statement.
struct SQLiteRow: StoredRow {
    let handle: OpaquePointer

    @inline(__always) func int(_ column: Int) -> Int64 { sqlite3_column_int64(handle, Int32(column)) }

    @inline(__always) func optionalInt(_ column: Int) -> Int64? {
        sqlite3_column_type(handle, Int32(column)) == SQLITE_NULL ? nil : sqlite3_column_int64(handle, Int32(column))
    }

    func optionalText(_ column: Int) -> String? {
        guard let text = sqlite3_column_text(handle, Int32(column)) else { return nil }
        return String(cString: text)
    }
}
