import PostgresNIO
import TallyCore

extension PostgresStore {
    public func saveAllocation(_ allocation: Allocation, replacing: Bool) async throws -> Bool {
        var text = try AllocationColumns.save(allocation, replacing: replacing, dialect: .postgres)
        text.append(" RETURNING name")
        for try await _ in try await client.query(text.postgresQuery, logger: logger) { return true }
        return false
    }

    public func allocations() async throws -> [Allocation] {
        var rows: [Allocation] = []
        try await forEachRow(AllocationColumns.select(dialect: .postgres)) { rows.append(try AllocationColumns.allocation($0)) }
        return rows
    }

    public func addAllocationCharge(_ charge: AllocationCharge) async throws {
        try await client.query(AllocationColumns.addCharge(charge, dialect: .postgres).postgresQuery, logger: logger)
    }

    public func allocationCharges(allocation: String) async throws -> [AllocationCharge] {
        var rows: [AllocationCharge] = []
        try await forEachRow(AllocationColumns.charges(allocation: allocation, dialect: .postgres)) {
            rows.append(try AllocationColumns.charge($0))
        }
        return rows
    }
}
