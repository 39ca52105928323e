import GRDB
import TallyCore

extension SQLiteStore {
    public func saveAllocation(_ allocation: Allocation, replacing: Bool) async throws -> Bool {
        let text = try AllocationColumns.save(allocation, replacing: replacing, dialect: .sqlite)
        return try await queue.write { db in
            try db.execute(sql: text.sql, arguments: text.arguments)
            return db.changesCount > 0
        }
    }

    public func allocations() async throws -> [Allocation] {
        try await queue.read { db in
            var rows: [Allocation] = []
            try db.forEachRow(AllocationColumns.select(dialect: .sqlite)) { rows.append(try AllocationColumns.allocation($0)) }
            return rows
        }
    }

    public func addAllocationCharge(_ charge: AllocationCharge) async throws {
        let text = AllocationColumns.addCharge(charge, dialect: .sqlite)
        try await queue.write { db in try db.execute(sql: text.sql, arguments: text.arguments) }
    }

    public func allocationCharges(allocation: String) async throws -> [AllocationCharge] {
        try await queue.read { db in
            var rows: [AllocationCharge] = []
            try db.forEachRow(AllocationColumns.charges(allocation: allocation, dialect: .sqlite)) {
                rows.append(try AllocationColumns.charge($0))
            }
            return rows
        }
    }
}
