import TallyCore

/// Records per state, kept up to date by the writers, so status pages need not count the job table
/// (a GROUP BY over millions of rows took over a second).
enum StateCounts {
    /// Created with the counts of what the table already holds.
    static let table = """
        CREATE TABLE state_count (
            state TEXT PRIMARY KEY,
            records INTEGER NOT NULL
        );
        INSERT INTO state_count (state, records)
            SELECT d.value, COUNT(*) FROM job j JOIN dim d ON d.id = j.state GROUP BY d.value
        """

    /// What one batch changes: a new record adds one to its state, a replaced one moves one across.
    struct Deltas {
        private(set) var byState: [String: Int64] = [:]

        mutating func inserted(_ state: JobState) { byState[state.rawValue, default: 0] += 1 }

        mutating func replaced(_ old: JobState, with new: JobState) {
            guard old != new else { return }
            byState[old.rawValue, default: 0] -= 1
            byState[new.rawValue, default: 0] += 1
        }

        /// One statement per state that changed.
        func statements(_ dialect: SQLDialect) -> [SQLText] {
            byState.filter { $0.value != 0 }.sorted { $0.key < $1.key }.map { state, delta in
                var text = SQLText(dialect, "INSERT INTO state_count (state, records) VALUES (")
                text.bind(state); text.append(", "); text.bind(delta)
                text.append(") ON CONFLICT (state) DO UPDATE SET records = state_count.records + excluded.records")
                return text
            }
        }
    }

    static func select(_ dialect: SQLDialect) -> SQLText {
        SQLText(dialect, "SELECT state, records FROM state_count WHERE records <> 0")
    }

    /// Most common first, ties by name.
    static func sorted(_ rows: [(state: String, count: Int64)]) -> [(state: String, count: Int64)] {
        rows.sorted { ($1.count, $0.state) < ($0.count, $1.state) }
    }
}
