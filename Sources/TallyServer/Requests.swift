import Foundation
import Hummingbird
import Metrics
import TallyCore
import TallyStore

/// `GET /api/v1/summaries` parameters: the same as `tally report`'s options.
struct SummaryRequest: Sendable {
    var query: ReportQuery
    var unit: TallyCore.TimeUnit
    var metrics: [Metric]?
    /// Whether the same parameters always mean the same window (no `from` without `to`).
    var isStable = true

    /// `site`: the `[site]` settings in use; its zone is the default, as for `tally report`.
    init(_ parameters: Parameters, site: SiteSettings) throws {
        func value(_ name: String) -> String? { parameters.get(name).flatMap { $0.isEmpty ? nil : $0 } }
        guard let zone = site.zone(named: value("timezone")) else {
            throw APIError(.badRequest, "timezone '\(value("timezone") ?? "")' is not an IANA zone")
        }
        let calendar = PeriodCalendar(timeZone: zone)
        // A window without an end moves with the clock: not cacheable.
        isStable = value("from") == nil || value("to") != nil
        let window = try api { () throws(ReportArguments.Invalid) in
            try ReportArguments.window(from: value("from"), to: value("to"), calendar: calendar)
        }
        var period = PeriodKind.month
        if let name = value("period") {
            guard let kind = PeriodKind(rawValue: name) else {
                throw APIError(.badRequest, "period '\(name)' is not one of \(PeriodKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            period = kind
        }
        // Empty values are fields a form left blank.
        let groupBy = try api { () throws(ReportArguments.Invalid) in
            try ReportArguments.dimensions(parameters.getAll("by").filter { !$0.isEmpty })
        }
        let filters = try api { () throws(ReportArguments.Invalid) in
            try ReportArguments.filters(parameters.getAll("where").filter { !$0.isEmpty })
        }
        query = ReportQuery(window: window, period: period, groupBy: groupBy, filters: filters, timeZone: zone)
        unit = .hours
        if let name = value("unit") {
            guard let given = TallyCore.TimeUnit(rawValue: name) else { throw APIError(.badRequest, "unit '\(name)' is not hours, minutes or seconds") }
            unit = given
        }
        metrics = try api { () throws(ReportArguments.Invalid) in try ReportArguments.metrics(parameters.getAll("metrics")) }
    }
}

/// Report options that cannot be used, as 400 answers (`where: …`).
func api<Value>(_ body: () throws(ReportArguments.Invalid) -> Value) throws -> Value {
    do {
        return try body()
    } catch {
        throw APIError(.badRequest, error.description)
    }
}

/// `GET /api/v1/records` parameters: a time window, filters on recorded names, a page.
struct RecordsRequest {
    var query: JobQuery
    var limit: Int

    static let maxLimit = 10_000

    init(_ parameters: Parameters) throws {
        func value(_ name: String) -> String? { parameters.get(name).flatMap { $0.isEmpty ? nil : $0 } }
        limit = 1000
        if let text = value("limit") {
            guard let given = Int(text), given > 0, given <= Self.maxLimit else {
                throw APIError(.badRequest, "limit must be 1…\(Self.maxLimit)")
            }
            limit = given
        }
        var window: Range<Int64>?
        if value("from") != nil || value("to") != nil {
            guard let from = Int64(value("from") ?? "0"), let to = Int64(value("to") ?? String(Int64.max)), from < to else {
                throw APIError(.badRequest, "from and to are epoch seconds, from < to")
            }
            window = from..<to
        }
        var filters: [ReportDimension: Set<String>] = [:]
        for dimension in ReportDimension.recorded {
            let values = parameters.getAll(dimension.rawValue).flatMap { $0.split(separator: ",") }.map(String.init)
            if !values.isEmpty { filters[dimension] = Set(values) }
        }
        var after: Int64 = 0
        if let cursor = value("cursor") {
            guard let id = Int64(cursor), id >= 0 else { throw APIError(.badRequest, "cursor '\(cursor)' is not one this server gave") }
            after = id
        }
        // One more than asked: whether there is a next page.
        query = JobQuery(window: window, filters: filters, limit: limit + 1, afterID: after)
    }
}

/// A decoded `POST /api/v1/records` body: each element a record or the reason it is not one.
struct RecordBatch {
    var elements: [Result<APIRecord, Error>]

    /// A JSON array, or NDJSON (one object per line) when the content type says so or the body
    /// does not start with `[`.
    static func decode(_ data: Data, contentType: String?) throws -> RecordBatch {
        let decoder = JSONDecoder()
        let first = data.first { !($0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09) }
        if first == UInt8(ascii: "["), contentType?.contains("ndjson") != true {
            do {
                return RecordBatch(elements: try decoder.decode([Decoded<APIRecord>].self, from: data).map(\.result))
            } catch {
                throw APIError(.badRequest, Decoded<APIRecord>.reason(error))
            }
        }
        guard first != nil else { throw APIError(.badRequest, "the body is empty") }
        var elements: [Result<APIRecord, Error>] = []
        for line in data.split(separator: 0x0A, omittingEmptySubsequences: false) {
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { continue }
            do {
                elements.append(.success(try decoder.decode(APIRecord.self, from: Data(line))))
            } catch {
                elements.append(.failure(error))
            }
        }
        return RecordBatch(elements: elements)
    }
}

/// Validates and stores a batch: per-record errors with their index, the good records kept,
/// a record of another site than the token's refuses the whole batch (403).
struct RecordIntake {
    let store: any UsageStore

    struct Outcome: Encodable {
        struct Failure: Encodable { var index: Int; var reason: String }
        var received: Int
        var accepted: Int
        var inserted: Int
        var updated: Int
        var unchanged: Int
        var errors: [Failure]
    }

    func accept(_ batch: RecordBatch, from principal: Principal) async throws -> Response {
        let (outcome, status) = try await store(batch, from: principal)
        return try json(outcome, status: status)
    }

    /// Stores the batch's good records; the outcome, and the status that answers it.
    func store(_ batch: RecordBatch, from principal: Principal) async throws -> (Outcome, HTTPResponse.Status) {
        var records: [UsageRecord] = []
        var failures: [Outcome.Failure] = []
        for (index, element) in batch.elements.enumerated() {
            switch element {
            case let .failure(error):
                failures.append(.init(index: index, reason: Decoded<APIRecord>.reason(error)))
            case let .success(wire):
                do {
                    let record = try wire.usageRecord(index: index)
                    guard principal.mayWrite(site: record.site) else {
                        throw APIError(.forbidden, "record \(index): token '\(principal.name)' may not write records of site '\(record.site)'")
                    }
                    records.append(record)
                } catch let error as APIRecordError {
                    failures.append(.init(index: index, reason: error.description))
                }
            }
        }
        var outcome = Outcome(received: batch.elements.count, accepted: records.count, inserted: 0, updated: 0,
                              unchanged: 0, errors: failures)
        if !records.isEmpty {
            let run = try await store.beginIngest(format: .api, path: "api/\(principal.name)")
            var collected = CollectedBatch()
            collected.records = records
            collected.linesRead = batch.elements.count
            let written = try await store.write(collected, in: run)
            var totals = IngestTotals()
            totals.add(collected, written)
            totals.rejected = failures.count
            try await store.finishIngest(run, totals: totals, status: .finished)
            outcome.inserted = written.inserted
            outcome.updated = written.updated
            outcome.unchanged = written.unchanged
        }
        Counter(label: "tally_records_received_total").increment(by: batch.elements.count)
        Counter(label: "tally_records_rejected_total").increment(by: failures.count)
        Counter(label: "tally_records_inserted_total").increment(by: outcome.inserted)
        Counter(label: "tally_records_updated_total").increment(by: outcome.updated)
        let status: HTTPResponse.Status = failures.isEmpty ? .ok : records.isEmpty ? .badRequest : HTTPResponse.Status(code: 207, reasonPhrase: "Multi-Status")
        return (outcome, status)
    }
}
