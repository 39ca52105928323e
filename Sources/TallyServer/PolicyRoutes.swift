import Foundation
import Hummingbird
import HTTPTypes
import TallyApp
import TallyCore
import TallyStore

/// `/api/v1/allocations`, `/api/v1/fairshare`, `/api/v1/quota`, `/api/v1/preempt`: the policy
/// commands' answers over HTTP. JSON by default; the tables `tally` prints as CSV with `Accept: text/csv`.
extension APIServer {
    func addPolicyRoutes(
        _ on: (HTTPRequest.Method, String, Bool, @escaping @Sendable (Request, TallyRequestContext) async throws -> Response) -> Void
    ) {
        let store = self.store
        @Sendable func engine() async -> PolicyEngine {
            PolicyEngine(store: store, configuration: await store.currentConfiguration())
        }

        on(.get, "allocations", true) { request, context in
            let principal = try context.require(.read)
            let parameters = try PolicyParameters(request, site: await store.currentConfiguration().site)
            let at = try parameters.instant("at")
            let policy = await engine()
            var answers: [AllocationBody] = []
            for allocation in try await store.allocations() where principal.mayRead(allocation) {
                let (burn, basis) = try await policy.burnDown(allocation.name, at: at, rateWindow: try parameters.seconds("rate_window"))
                answers.append(AllocationBody(burnDown: burn, basis: basis))
            }
            if parameters.wantsCSV {
                return csv(PolicyTables.allocations(answers.map(\.burnDown.allocation), calendar: parameters.calendar))
            }
            return try json(answers)
        }
        on(.get, "allocations/{name}", true) { request, context in
            let principal = try context.require(.read)
            let parameters = try PolicyParameters(request, site: await store.currentConfiguration().site)
            let name = context.parameters.get("name") ?? ""
            guard try await store.allocations().contains(where: { $0.name == name && principal.mayRead($0) }) else {
                throw APIError(.notFound, "no allocation named '\(name)'")
            }
            do {
                let (burn, basis) = try await engine().burnDown(name, at: try parameters.instant("at"),
                                                                rateWindow: try parameters.seconds("rate_window"))
                if parameters.wantsCSV { return csv(PolicyTables.allocationUsers(burn)) }
                return try json(AllocationBody(burnDown: burn, basis: basis))
            } catch PolicyEngine.Failure.unknownAllocation {
                throw APIError(.notFound, "no allocation named '\(name)'")
            }
        }
        on(.post, "allocations", true) { request, context in
            _ = try context.require(.admin)
            let body = try await request.body.collect(upTo: 1 << 20)
            let allocation: Allocation
            do {
                allocation = try JSONDecoder().decode(Allocation.self, from: Data(buffer: body))
            } catch {
                throw APIError(.badRequest, "an allocation is {name, dimension, owner, unit, amountMilli, start, end, thresholds, userLimitsMilli, createdAt}: \(error)")
            }
            if let problem = allocation.problem { throw APIError(.badRequest, problem) }
            guard try await store.saveAllocation(allocation, replacing: request.uri.queryParameters.get("replace") == "true") else {
                throw APIError(.conflict, "allocation \(allocation.name) exists (add ?replace=true to change it)")
            }
            return try json(allocation, status: .created)
        }
        on(.post, "allocations/{name}/charges", true) { request, context in
            _ = try context.require(.admin)
            let name = context.parameters.get("name") ?? ""
            guard try await store.allocations().contains(where: { $0.name == name }) else {
                throw APIError(.notFound, "no allocation named '\(name)'")
            }
            let body = try await request.body.collect(upTo: 1 << 20)
            var charge: AllocationCharge
            do {
                charge = try JSONDecoder().decode(AllocationCharge.self, from: Data(buffer: body))
            } catch {
                throw APIError(.badRequest, "a charge is {allocation, at, amountMilli, note}: \(error)")
            }
            charge.allocation = name
            try await store.addAllocationCharge(charge)
            return try json(charge, status: .created)
        }
        on(.get, "fairshare", true) { request, context in
            _ = try context.requireAllAccounts(.read)
            let parameters = try PolicyParameters(request, site: await store.currentConfiguration().site)
            let at = try parameters.instant("at")
            var configuration = await store.currentConfiguration()
            let filters = try api { () throws(ReportArguments.Invalid) in try ReportArguments.filters(parameters.all("where")) }
            switch parameters.value("style") ?? "sshare" {
            case "sshare":
                var settings = configuration.policy.fairShare
                if let halfLife = try parameters.seconds("half_life") { settings.halfLife = Double(halfLife) }
                let algorithm = try parameters.value("algorithm").map {
                    guard let value = SlurmFairShare.Algorithm(rawValue: $0) else { throw APIError(.badRequest, "algorithm is fair-tree or classic") }
                    return value
                } ?? .fairTree
                let answer = try await PolicyEngine(store: store, configuration: configuration)
                    .fairShare(at: at, settings: settings, filters: filters)
                let rows = answer.result.rows(algorithm)
                if parameters.wantsCSV { return csv(PolicyTables.sshare(rows)) }
                return try json(FairShareBody(algorithm: algorithm.rawValue, halfLifeSeconds: settings.halfLife, rows: rows,
                                              unlisted: answer.result.unlisted, basis: answer.basis))
            case "userprio":
                if let halfLife = try parameters.seconds("half_life") { configuration.policy.priority.halfLife = Double(halfLife) }
                let (rows, basis) = try await PolicyEngine(store: store, configuration: configuration).priorities(at: at, filters: filters)
                if parameters.wantsCSV { return csv(PolicyTables.userprio(rows, calendar: parameters.calendar)) }
                return try json(PrioritiesBody(halfLifeSeconds: configuration.policy.priority.halfLife, rows: rows, basis: basis))
            case let other:
                throw APIError(.badRequest, "style '\(other)' is not sshare or userprio")
            }
        }
        on(.get, "quota", true) { request, context in
            _ = try context.requireAllAccounts(.read)
            let parameters = try PolicyParameters(request, site: await store.currentConfiguration().site)
            let filters = try api { () throws(ReportArguments.Invalid) in try ReportArguments.filters(parameters.all("where")) }
            do {
                let status = try await engine().quotaStatus(at: try parameters.instant("at"), pool: try parameters.number("pool"),
                                                            lookahead: try parameters.seconds("lookahead") ?? 86_400, filters: filters)
                if parameters.wantsCSV { return csv(PolicyTables.quotaStatus(status)) }
                return try json(status)
            } catch let failure as PolicyEngine.Failure {
                throw APIError(.unprocessableContent, failure.description)
            }
        }
        on(.get, "quota/report", true) { request, context in
            _ = try context.requireAllAccounts(.read)
            let parameters = try PolicyParameters(request, site: await store.currentConfiguration().site)
            let filters = try api { () throws(ReportArguments.Invalid) in try ReportArguments.filters(parameters.all("where")) }
            let window = try api { () throws(ReportArguments.Invalid) in
                try ReportArguments.window(from: parameters.value("from"), to: parameters.value("to"), calendar: parameters.calendar)
            }
            guard let window else { throw APIError(.badRequest, "give from and to") }
            let period = try parameters.value("period").map {
                guard let kind = PeriodKind(rawValue: $0) else { throw APIError(.badRequest, "period '\($0)' is not day, week, month, quarter, year or total") }
                return kind
            } ?? .day
            do {
                let (rows, basis) = try await engine().quotaReport(window: window, period: period, calendar: parameters.calendar,
                                                                   pool: try parameters.number("pool"), filters: filters)
                if parameters.wantsCSV { return csv(PolicyTables.occupancy(rows)) }
                return try json(OccupancyBody(rows: rows, basis: basis))
            } catch let failure as PolicyEngine.Failure {
                throw APIError(.unprocessableContent, failure.description)
            }
        }
        on(.get, "preempt", true) { request, context in
            _ = try context.requireAllAccounts(.read)
            let parameters = try PolicyParameters(request, site: await store.currentConfiguration().site)
            guard let need = parameters.value("need").flatMap({ Int64($0.prefix { $0.isNumber }) }), need > 0 else {
                throw APIError(.badRequest, "need: a number of cores")
            }
            guard let group = parameters.value("for") else { throw APIError(.badRequest, "for: the group that wants the cores") }
            let filters = try api { () throws(ReportArguments.Invalid) in try ReportArguments.filters(parameters.all("where")) }
            let answer = try await engine().preempt(need: need, forGroup: group, at: try parameters.instant("at"),
                                                    minimumRuntime: try parameters.seconds("min_runtime") ?? 0,
                                                    pool: try parameters.number("pool"), filters: filters)
            return try json(answer)
        }
    }
}

func csv(_ table: Table) -> Response {
    Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: table.render(.csv))))
}

/// Query parameters of the policy routes: instants in `timezone` (default: the site's zone, as
/// for the CLI), durations as `7d`/`12h`/seconds.
struct PolicyParameters {
    let parameters: Parameters
    let calendar: PeriodCalendar
    let wantsCSV: Bool

    init(_ request: Request, site: SiteSettings) throws {
        parameters = request.uri.queryParameters
        guard let zone = site.zone(named: parameters.get("timezone")) else {
            throw APIError(.badRequest, "timezone '\(parameters.get("timezone") ?? "")' is not an IANA zone")
        }
        calendar = PeriodCalendar(timeZone: zone)
        wantsCSV = request.headers[.accept]?.contains("text/csv") == true
    }

    func value(_ name: String) -> String? { parameters.get(name).flatMap { $0.isEmpty ? nil : $0 } }
    func all(_ name: String) -> [String] { parameters.getAll(name) }

    func instant(_ name: String) throws -> Int64 {
        guard let text = value(name) else { return Int64(Date().timeIntervalSince1970) }
        guard let instant = calendar.parse(text) else { throw APIError(.badRequest, "\(name): '\(text)' is not a date or date-time") }
        return instant
    }

    func seconds(_ name: String) throws -> Int64? {
        guard let text = value(name) else { return nil }
        guard let seconds = DurationText.seconds(text) else { throw APIError(.badRequest, "\(name): '\(text)' is not a duration (7d, 12h, 3600)") }
        return Int64(seconds)
    }

    func number(_ name: String) throws -> Double? {
        guard let text = value(name) else { return nil }
        guard let number = Double(text), number >= 0, number.isFinite else { throw APIError(.badRequest, "\(name): '\(text)' is not a number") }
        return number
    }
}

struct AllocationBody: Encodable {
    var burnDown: BurnDown
    var basis: PolicyEngine.Basis
}

struct FairShareBody: Encodable {
    var algorithm: String
    var halfLifeSeconds: Double
    var rows: [SlurmFairShare.Row]
    var unlisted: [String]
    var basis: PolicyEngine.Basis
}

struct PrioritiesBody: Encodable {
    var halfLifeSeconds: Double
    var rows: [CondorAccountant.Row]
    var basis: PolicyEngine.Basis
}

struct OccupancyBody: Encodable {
    var rows: [PolicyEngine.Occupancy]
    var basis: PolicyEngine.Basis
}
