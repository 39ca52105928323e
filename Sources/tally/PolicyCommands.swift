import ArgumentParser
import Foundation
import TallyApp
import TallyCollectors
import TallyCore

/// `--at`: an instant (default now), in the report zone.
struct InstantOption: ParsableArguments {
    @Option(help: ArgumentHelp("The instant: 2024-03-01T10:00 or a date (default: now).", valueName: "time"))
    var at: String?

    func resolve(_ calendar: PeriodCalendar) throws -> Int64 {
        guard let at else { return Int64(Date().timeIntervalSince1970) }
        guard let instant = calendar.parse(at) else { throw ValidationError("--at: '\(at)' is not a date or date-time") }
        return instant
    }
}

/// What every policy command reads: database, configuration, zone, filters, output format.
struct PolicyOptions: ParsableArguments {
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var configuration: ConfigOption
    @OptionGroup var zone: TimeZoneOption
    @OptionGroup var filter: FilterOptions

    @Option(help: "Output: table, csv or json.")
    var format: OutputFormat = .table

    struct Context {
        var opened: ConfiguredStore
        var calendar: PeriodCalendar
        var filters: [ReportDimension: Set<String>]
        var engine: PolicyEngine { PolicyEngine(store: opened.store, configuration: opened.configuration) }
    }

    /// Opens the store with its configuration; periods and instants in the chosen zone.
    func open() async throws -> Context {
        let opened = try await configuration.open(database, mustExist: true)
        return Context(opened: opened, calendar: PeriodCalendar(timeZone: try zone.resolve(site: opened.configuration.site)),
                       filters: try filter.resolve())
    }
}

func durationOption(_ text: String?, _ name: String) throws -> Double? {
    guard let text else { return nil }
    guard let seconds = DurationText.seconds(text) else {
        throw ValidationError("--\(name): '\(text)' is not a duration (e.g. 7d, 12h, 30m, 7-0)")
    }
    return seconds
}

/// Prints a table, then the sentence saying what it rests on (to standard error for csv/json).
func printPolicy(_ table: Table, format: OutputFormat, basis: PolicyEngine.Basis, calendar: PeriodCalendar, what: String) {
    print(table.render(format), terminator: "")
    let from = basis.from.map { calendar.formatDateTime($0) + " .. " } ?? "all records up to "
    let sentence = "\(what) rests on \(basis.records) records (\(from)\(calendar.formatDateTime(basis.to)))."
    if format == .table { print("\n" + sentence) } else { printError(sentence) }
}

struct FairShareCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fairshare",
        abstract: "Fair-share from accounting records: Slurm's (sshare columns) or HTCondor's user priorities (condor_userprio columns).",
        discussion: """
            Slurm: usage is billing × seconds (cores when a record has no billing), decayed with
            PriorityDecayHalfLife (D = 1 − 0.693/half-life per second), summed up the association tree
            from [[share]] entries or --associations (sacctmgr -P show assoc output). FairShare is by
            Fair Tree (default) or the classic algorithm: 2^(−EffectvUsage/NormShares/dampening).
            HTCondor (--style userprio): real priority RUP ← β·RUP + (1−β)·cores in use,
            β = 0.5^(Δt/half-life), floored at 0.5; effective = real × priority factor ([priority]).
            Not modelled: QOS UsageFactor, PriorityUsageResetPeriod, usage of jobs not in the database.
            """)

    enum Style: String, ExpressibleByArgument, CaseIterable { case sshare, userprio }

    @OptionGroup var options: PolicyOptions
    @OptionGroup var instant: InstantOption

    @Option(help: "sshare (Slurm) or userprio (HTCondor).")
    var style: Style = .sshare

    @Option(help: "Slurm algorithm: fair-tree or classic.")
    var algorithm: SlurmFairShare.Algorithm = .fairTree

    @Option(help: ArgumentHelp("Share tree from `sacctmgr -P show assoc` output (default: [[share]] in the configuration).",
                               valueName: "path"))
    var associations: String?

    @Option(help: ArgumentHelp("Half-life (e.g. 7d, 7-0, 0 for none; default: the configuration's, else 7 days for Slurm, 1 day for HTCondor).",
                               valueName: "duration"))
    var halfLife: String?

    @Option(help: "Slurm usage basis: billing or cores.")
    var usage: FairShareSettings.UsageBasis?

    func run() async throws {
        let context = try await options.open()
        let (opened, calendar, format) = (context.opened, context.calendar, options.format)
        let at = try instant.resolve(calendar)
        var policy = opened.configuration
        let halfLife = try durationOption(self.halfLife, "half-life")
        switch style {
        case .sshare:
            var settings = policy.policy.fairShare
            if let halfLife { settings.halfLife = halfLife }
            if let usage { settings.usage = usage }
            let shares = try associations.map { try SacctmgrAssociations.read(path: $0) }
            let engine = PolicyEngine(store: opened.store, configuration: policy)
            let answer = try await engine.fairShare(at: at, shares: shares, settings: settings, filters: context.filters)
            printPolicy(PolicyTables.sshare(answer.result.rows(algorithm)), format: format, basis: answer.basis,
                        calendar: calendar, what: "Fair-share (\(algorithm.rawValue), half-life \(fixedPoint(settings.halfLife / 86_400, places: 2)) days)")
            let unlisted = answer.result.unlisted
            if !unlisted.isEmpty {
                let named = unlisted.prefix(5).joined(separator: ", ") + (unlisted.count > 5 ? ", …" : "")
                printError("note: \(unlisted.count) association\(unlisted.count == 1 ? " is" : "s are") not in the share tree "
                           + "([[share]] or --associations) and count with 1 share each: \(named)")
            }
        case .userprio:
            if let halfLife { policy.policy.priority.halfLife = halfLife }
            let engine = PolicyEngine(store: opened.store, configuration: policy)
            let (rows, basis) = try await engine.priorities(at: at, filters: context.filters)
            printPolicy(PolicyTables.userprio(rows, calendar: calendar), format: format, basis: basis, calendar: calendar,
                        what: "User priorities (half-life \(fixedPoint(policy.policy.priority.halfLife / 3600, places: 2)) h)")
        }
    }
}

extension SlurmFairShare.Algorithm: ExpressibleByArgument {}
extension FairShareSettings.UsageBasis: ExpressibleByArgument {}

struct QuotaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quota",
        abstract: "HTCondor hierarchical group quotas: where each group stands, and occupancy over time.",
        subcommands: [Status.self, QuotaReport.self])

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            abstract: "Each group's quota, usage (cores of jobs running at --at), demand, allocation with surplus sharing, and whether it is over quota.",
            discussion: """
                Groups and quotas come from [[quota_group]] (name, quota or dynamic, accept_surplus) and
                [quota] (pool, allow_oversubscription, strict). A record belongs to the configured group
                named by its account (AccountingGroup), or to its nearest configured ancestor, else <none>.
                Demand adds jobs waiting at --at that started (or were cancelled) within --lookahead of it.
                """)

        @OptionGroup var options: PolicyOptions
        @OptionGroup var instant: InstantOption

        @Option(help: ArgumentHelp("Pool size in cores (default: [quota] pool, else [[resource]] capacity).", valueName: "cores"))
        var pool: Double?

        @Option(help: ArgumentHelp("How far past --at to look for jobs that were waiting then.", valueName: "duration"))
        var lookahead = "1d"

        func run() async throws {
            let context = try await options.open()
            let calendar = context.calendar
            let at = try instant.resolve(calendar)
            let status = try await context.engine.quotaStatus(at: at, pool: pool, lookahead: Int64(try durationOption(lookahead, "lookahead") ?? 86_400),
                                                              filters: context.filters)
            printPolicy(PolicyTables.quotaStatus(status), format: options.format, basis: status.basis, calendar: calendar,
                        what: "Quota status at \(calendar.formatDateTime(at)) for a pool of \(fixedPoint(status.pool, places: 0)) cores")
            for orphan in status.orphans { printError("note: group \(orphan) has no configured parent and is ignored") }
        }
    }

    struct QuotaReport: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "report",
            abstract: "Average and peak cores in use per group and period, against its quota.")

        @OptionGroup var options: PolicyOptions
        @OptionGroup var window: WindowOptions

        @Option(help: "Period: day, week, month, quarter, year or total.")
        var period: PeriodKind = .day

        @Option(help: ArgumentHelp("Pool size in cores (default: [quota] pool, else [[resource]] capacity).", valueName: "cores"))
        var pool: Double?

        func run() async throws {
            let context = try await options.open()
            let calendar = context.calendar
            guard let span = try window.window(calendar) else { throw ValidationError("give the span: --from and --to") }
            let (rows, basis) = try await context.engine.quotaReport(window: span, period: period, calendar: calendar, pool: pool,
                                                                     filters: context.filters)
            printPolicy(PolicyTables.occupancy(rows), format: options.format, basis: basis, calendar: calendar, what: "Group occupancy")
        }
    }
}

struct AllocCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alloc",
        abstract: "Allocations: amounts of SU (or core or GPU hours) granted to an account, and their burn-down.",
        subcommands: [Create.self, List.self, Show.self, Charge.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "create", abstract: "Grant an allocation.")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var zone: TimeZoneOption

        @Argument(help: "Allocation name (e.g. chem-2026).")
        var name: String

        @Option(help: ArgumentHelp("Whose usage it covers (an account, VO or project; see --kind).", valueName: "name"))
        var account: String

        @Option(help: "What --account names: account, group or user.")
        var kind = "account"

        @Option(help: "Amount granted, in --unit.")
        var amount: Double

        @Option(help: "su, core-hours or gpu-hours.")
        var unit = "su"

        @Option(help: ArgumentHelp("First day (inclusive).", valueName: "date"))
        var start: String

        @Option(help: ArgumentHelp("Last day (inclusive), or a date-time (exclusive).", valueName: "date"))
        var end: String

        @Option(name: .customLong("threshold"), help: ArgumentHelp("Warn at this percentage used (repeatable; default 80 and 100).", valueName: "pct"))
        var thresholds: [Int] = []

        @Option(name: .customLong("user-limit"), help: ArgumentHelp("A user's limit in --unit: user=amount (repeatable).", valueName: "user=amount"))
        var userLimits: [String] = []

        @Flag(help: "Replace an allocation of the same name.")
        var replace = false

        func run() async throws {
            let store = try await ConfiguredStore.open(database.db, config: nil, mustExist: false).store
            // Dates are read in the site's zone, as `alloc show` prints them.
            let calendar = PeriodCalendar(timeZone: try zone.resolve(site: await store.currentConfiguration().site))
            guard let startInstant = calendar.parse(start) else { throw ValidationError("--start: '\(start)' is not a date") }
            guard let endInstant = calendar.parseEnd(end) else { throw ValidationError("--end: '\(end)' is not a date") }
            guard let unit = Allocation.Unit(argument: unit) else { throw ValidationError("--unit: su, core-hours or gpu-hours") }
            guard let dimension = ReportDimension(argument: kind) else { throw ValidationError("--kind: account, group or user") }
            guard amount.isFinite else { throw ValidationError("--amount must be a number") }
            var limits: [String: Int64] = [:]
            for text in userLimits {
                let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, let value = Double(parts[1]), value >= 0 else {
                    throw ValidationError("--user-limit: '\(text)' is not user=amount")
                }
                limits[parts[0]] = Int64((value * 1000).rounded())
            }
            let allocation = Allocation(name: name, dimension: dimension, owner: account, unit: unit,
                                        amountMilli: Int64((amount * 1000).rounded()), start: startInstant, end: endInstant,
                                        thresholds: thresholds.isEmpty ? [80, 100] : thresholds.sorted(), userLimitsMilli: limits,
                                        createdAt: Int64(Date().timeIntervalSince1970))
            if let problem = allocation.problem { throw ValidationError(problem) }
            guard try await store.saveAllocation(allocation, replacing: replace) else {
                throw ValidationError("allocation \(name) exists (use --replace to change it)")
            }
            print("allocation \(name): \(fixedPoint(allocation.amount, places: 3)) \(unit.label) for \(dimension.rawValue) \(account), "
                  + "\(calendar.formatDateTime(startInstant)) .. \(calendar.formatDateTime(endInstant))")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List allocations.")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var zone: TimeZoneOption

        @Option(help: "Output: table, csv or json.")
        var format: OutputFormat = .table

        func run() async throws {
            let store = try await ConfiguredStore.open(database.db, config: nil, mustExist: true).store
            let calendar = PeriodCalendar(timeZone: try zone.resolve(site: await store.currentConfiguration().site))
            print(PolicyTables.allocations(try await store.allocations(), calendar: calendar).render(format), terminator: "")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Used, remaining, burn rate, projected exhaustion and per-user usage of an allocation (by name, or every allocation of an account).")

        @OptionGroup var options: PolicyOptions
        @OptionGroup var instant: InstantOption

        @Argument(help: "Allocation name or owning account.")
        var name: String

        @Option(help: ArgumentHelp("Burn rate over this last stretch (e.g. 30d; default: the whole allocation so far).", valueName: "duration"))
        var rateWindow: String?

        func run() async throws {
            let context = try await options.open()
            let (opened, calendar, format) = (context.opened, context.calendar, options.format)
            let at = try instant.resolve(calendar)
            let all = try await opened.store.allocations()
            let chosen = all.contains { $0.name == name } ? [name] : all.filter { $0.owner == name }.map(\.name)
            guard !chosen.isEmpty else { throw ValidationError("no allocation named or owned by '\(name)' (tally alloc list)") }
            let engine = context.engine
            let window = try durationOption(rateWindow, "rate-window").map { Int64($0) }
            for (index, allocation) in chosen.enumerated() {
                let (burn, basis) = try await engine.burnDown(allocation, at: at, rateWindow: window)
                if format == .json {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
                    print(String(decoding: try encoder.encode(burn), as: UTF8.self))
                } else {
                    if index > 0 { print("") }
                    print(PolicyTables.burnDown(burn, calendar: calendar).render(format), terminator: "")
                    if !burn.users.isEmpty {
                        if format == .table { print("") }
                        print(PolicyTables.allocationUsers(burn).render(format), terminator: "")
                    }
                    if format == .table { print("\nUsage rests on \(basis.records) records.") }
                }
                for warning in burn.warnings { printError("warning: " + warning) }
            }
        }
    }

    struct Charge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "charge",
            abstract: "Debit (positive) or credit (negative) an allocation by hand, with a note.")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var zone: TimeZoneOption
        @OptionGroup var instant: InstantOption

        @Argument(help: "Allocation name.")
        var name: String

        @Option(parsing: .unconditional, help: "Amount in the allocation's unit; negative for a refund.")
        var amount: Double

        @Option(help: "Why (kept with the charge).")
        var note: String

        func run() async throws {
            let store = try await ConfiguredStore.open(database.db, config: nil, mustExist: true).store
            let calendar = PeriodCalendar(timeZone: try zone.resolve(site: await store.currentConfiguration().site))
            guard try await store.allocations().contains(where: { $0.name == name }) else {
                throw ValidationError("no allocation named '\(name)' (tally alloc list)")
            }
            guard amount.isFinite, amount != 0 else { throw ValidationError("--amount must be a non-zero number") }
            let at = try instant.resolve(calendar)
            try await store.addAllocationCharge(AllocationCharge(allocation: name, at: at, amountMilli: Int64((amount * 1000).rounded()),
                                                                 note: note))
            print("charged \(fixedPoint(amount, places: 3)) to \(name) at \(calendar.formatDateTime(at)): \(note)")
        }
    }
}

struct PreemptCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preempt",
        abstract: "Rank running jobs to evict so a group gets cores back: by worst user priority, by groups most over quota, by least work lost.",
        discussion: """
            Candidates are jobs running at --at (from records) outside the claiming group that have
            run at least --min-runtime. priority: highest effective priority first (HTCondor's
            PREEMPTION_RANK), youngest first on ties; quota: groups furthest over their quota
            ([[quota_group]]) first; badput: least core-hours lost first.
            """)

    @OptionGroup var options: PolicyOptions
    @OptionGroup var instant: InstantOption

    @Option(help: ArgumentHelp("Cores needed (e.g. 64 or 64-cores).", valueName: "N"))
    var need: String

    @Option(name: .customLong("for"), help: ArgumentHelp("The group that wants the cores.", valueName: "group"))
    var group: String

    @Option(help: ArgumentHelp("Guaranteed minimum runtime: younger jobs are not evicted (e.g. 1h).", valueName: "duration"))
    var minRuntime = "0"

    @Option(help: ArgumentHelp("Pool size in cores for the quota strategy.", valueName: "cores"))
    var pool: Double?

    func run() async throws {
        let digits = need.prefix { $0.isNumber }
        guard let cores = Int64(digits), cores > 0,
              ["", "-cores", "cores", "c"].contains(need.dropFirst(digits.count).lowercased()) else {
            throw ValidationError("--need: a number of cores such as 64 or 64-cores")
        }
        let context = try await options.open()
        let (calendar, format) = (context.calendar, options.format)
        let at = try instant.resolve(calendar)
        let answer = try await context.engine.preempt(need: cores, forGroup: group, at: at,
                                                      minimumRuntime: Int64(try durationOption(minRuntime, "min-runtime") ?? 0),
                                                      pool: pool, filters: context.filters)
        if format == .json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            print(String(decoding: try encoder.encode(answer), as: UTF8.self))
            return
        }
        for plan in answer.plans {
            let verdict = plan.satisfied ? "frees \(plan.freedCores) cores" : "frees only \(plan.freedCores) of \(cores) cores"
            if format == .table {
                print("strategy \(plan.strategy.rawValue): \(verdict), losing \(fixedPoint(Double(plan.badputCoreSeconds) / 3600, places: 2)) core-hours")
            }
            print(PolicyTables.preemption(plan).render(format), terminator: "")
            if format == .table { print("") }
        }
        let sentence = "\(answer.running) jobs were running at \(calendar.formatDateTime(at))."
        if format == .table { print(sentence) } else { printError(sentence) }
        for note in answer.notes { printError("note: " + note) }
    }
}
