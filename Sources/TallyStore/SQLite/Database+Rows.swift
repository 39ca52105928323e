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
}
