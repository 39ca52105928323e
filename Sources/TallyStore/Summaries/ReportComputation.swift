import TallyCore

/// Answers a report from monthly and daily rollups plus exact raw-record splits where periods cut
/// a UTC day, whichever backend supplies the rows. Accumulates on integer ids and turns them into
/// names once, at the end. A backend reads `rollupReads` and `sweeps`, feeds the rows in, then
/// calls `finish`.
struct ReportComputation {
    let query: ReportQuery
    let configuration: TallyConfiguration
    let window: Range<Int64>
    let periods: [Period]
    let plan: ReportPlan
    /// Rollups do not keep job size and wall buckets: reports by them read raw records.
    let buckets: Bool
    let grouped: [Int]
    let filter: DimensionFilter
    private(set) var dimensions: DimensionDictionary
    private var plans: PlanCache
    private var cells: [RollupKey: UsageAmounts] = [:]
    /// Rollup rows read by combination (SQLite): each combination's grouped key is worked out
    /// once, and cells are keyed by period and group number, an integer hash instead of thirteen.
    private var comboKeys: [DimensionIDs] = []
    private var comboGroups: [Int32] = []
    private var groupKeys: [DimensionIDs] = []
    private var groupNumbers: [DimensionIDs: Int32] = [:]
    /// Rows come in period order: one period's sums are kept by group number in a dense array,
    /// and moved to `comboCells` when the period changes (no hashing per row).
    private var openPeriod = -1
    private var openSums: [UsageAmounts] = []
    private var openGroups: [Int32] = []
    private var comboCells: [ReportAccumulator.Cell] = []
    private var lastUnit = (unit: Int64.min, isMonth: false, period: Int?.none)
    private var derivedFilters: [(index: Int, ids: Set<Int64>)] = []
    /// Fact scans (`addFact`): the filter on recorded names, the plan every job shares when no
    /// rule depends on names, and sums by period and group number.
    private let recordedFilter: DimensionFilter
    private var sharedPlan: (plan: RatePlan, noModel: Int64, unclassified: Int64)?
    private var factSums: [[UsageAmounts]] = []
    private let periodStarts: [Int64]
    let meta: StoreMeta
    var maxSpan: Int64 { meta.maxSpan }

    /// One rollup table read: its units `[first, end)`.
    struct RollupRead {
        var table: String
        var column: String
        var first: Int64
        var end: Int64
        var isMonth: Bool { column == "month" }
    }

    /// One pass over raw records for a run of raw groups.
    struct Sweep {
        var groups: [(range: Range<Int64>, spans: [ReportPlan.RawSpan])]
        var groupStarts: [Int64]
        var window: Range<Int64>
        var tableScan: Bool
    }

    /// `factScan`: every period is computed from raw facts (`addFact`), no rollup is read.
    init(query: ReportQuery, meta: StoreMeta, dimensions: DimensionDictionary, plans: PlanCache,
         configuration: TallyConfiguration, factScan: Bool = false) {
        self.query = query
        self.meta = meta
        self.dimensions = dimensions
        self.plans = plans
        self.configuration = configuration
        let calendar = PeriodCalendar(timeZone: query.timeZone)
        if let given = query.window {
            window = given
        } else if let low = meta.minT0, let high = meta.maxT1, low < high {
            window = calendar.periodStart(.day, containing: low)..<calendar.periodEnd(.day, containing: high - 1)
        } else {
            window = 0..<0
        }
        periods = calendar.periods(query.period, covering: window)
        buckets = (query.groupBy + query.filters.keys).contains { $0 == .jobSize || $0 == .wallBucket }
        plan = buckets || factScan ? ReportPlan(rawOnly: periods) : ReportPlan(periods: periods)
        grouped = query.groupBy.map(DimensionColumn.index)
        filter = DimensionFilter(query.filters, dimensions: dimensions)
        recordedFilter = DimensionFilter(query.filters.filter { $0.key.filtersRawRecords }, dimensions: dimensions)
        periodStarts = periods.map(\.start)
        if factScan {
            factSums = Array(repeating: [], count: periods.count)
            if configuration.isNameIndependent {
                let plan = Normaliser(configuration).plan(for: RuleSubject(
                    cluster: "", partition: "", qos: "", host: "", gpuModel: "", user: "", group: "", account: ""))
                sharedPlan = (plan, self.dimensions.provisionalID(.gpuClass, GPUClasses.noModel),
                              self.dimensions.provisionalID(.gpuClass, GPUClasses.unclassified))
            }
        }
        // Filters on names configuration decides (aliases, classes, organisations) and on
        // buckets are checked after a raw record is normalised.
        for (dimension, values) in query.filters where !dimension.filtersRawRecords {
            let ids = values.map { $0.isEmpty ? 0 : self.dimensions.provisionalID(dimension, $0) }
            derivedFilters.append((DimensionColumn.index(dimension), Set(ids)))
        }
    }

    var rollupReads: [RollupRead] {
        [("rollup_month", "month", plan.monthRuns), ("rollup_day", "day", plan.dayRuns)].compactMap { table, column, runs in
            guard let first = runs.first, let last = runs.last else { return nil }
            return RollupRead(table: table, column: column, first: first.first, end: last.end)
        }
    }

    /// Below this many days of rollups (a month counts 30) a report is not worth splitting.
    static let splitWeight: Int64 = 60

    /// The rollup reads cut in two halves of about equal size, for two connections to scan at
    /// once (see `absorbRollups`); nil when they are too short to be worth a second transaction.
    func splitReads() -> (front: [RollupRead], back: [RollupRead])? {
        let reads = rollupReads
        let weight = reads.reduce(Int64(0)) { $0 + ($1.end - $1.first) * ($1.isMonth ? 30 : 1) }
        guard weight >= Self.splitWeight else { return nil }
        var front: [RollupRead] = [], back: [RollupRead] = []
        for read in reads {
            let middle = read.first + (read.end - read.first) / 2
            var first = read, second = read
            first.end = middle
            second.first = middle
            if middle > read.first { front.append(first) }
            back.append(second)
        }
        return (front, back)
    }

    /// Adds a rollup row read through `rollupReads` (`ids` need only the grouped keys).
    @inline(__always)
    mutating func addRollup(unit: Int64, isMonth: Bool, ids: DimensionIDs, amounts: UsageAmounts) {
        guard let period = isMonth ? plan.period(ofMonth: unit) : plan.period(ofDay: unit) else { return }
        var masked = DimensionIDs()
        for index in grouped { masked[index] = ids[index] }
        cells[RollupKey(period: Int64(period), ids: masked), default: UsageAmounts()] += amounts
    }

    /// Rollup rows will name their keys by combination id: `keys[id]` are its dimension ids.
    mutating func useCombinations(_ keys: [DimensionIDs]) {
        comboKeys = keys
        comboGroups = Array(repeating: Self.unresolved, count: keys.count)
    }

    private static let unresolved: Int32 = -2, filteredOut: Int32 = -1

    /// Adds a rollup row read by combination id (after `useCombinations`).
    @inline(__always)
    mutating func addRollup(unit: Int64, isMonth: Bool, combo: Int, amounts: UsageAmounts) {
        if unit != lastUnit.unit || isMonth != lastUnit.isMonth {
            lastUnit = (unit, isMonth, isMonth ? plan.period(ofMonth: unit) : plan.period(ofDay: unit))
        }
        guard let period = lastUnit.period, combo > 0, combo < comboGroups.count else { return }
        var group = comboGroups[combo]
        if group == Self.unresolved {
            group = groupNumber(combo)
            comboGroups[combo] = group
        }
        guard group >= 0 else { return }
        if period != openPeriod { closePeriod(next: period) }
        let slot = Int(group)
        if slot >= openSums.count { openSums.append(contentsOf: repeatElement(UsageAmounts(), count: slot + 1 - openSums.count)) }
        if openSums[slot].isZero { openGroups.append(group) }
        openSums[slot] += amounts
    }

    private mutating func closePeriod(next: Int) {
        for group in openGroups {
            let slot = Int(group)
            // A group summing to zero within the period appears again only if later rows change it.
            comboCells.append(.init(period: openPeriod, group: slot, amounts: openSums[slot]))
            openSums[slot] = UsageAmounts()
        }
        openGroups.removeAll(keepingCapacity: true)
        openPeriod = next
    }

    private mutating func groupNumber(_ combo: Int) -> Int32 {
        let ids = comboKeys[combo]
        guard filter.matches(ids) else { return Self.filteredOut }
        var masked = DimensionIDs()
        for index in grouped { masked[index] = ids[index] }
        return groupNumber(masked: masked)
    }

    private mutating func groupNumber(masked: DimensionIDs) -> Int32 {
        if let known = groupNumbers[masked] { return known }
        let number = Int32(groupKeys.count)
        groupKeys.append(masked)
        groupNumbers[masked] = number
        return number
    }

    /// Ends the rollup scan (before handing the computation to `absorbRollups`).
    mutating func closeRollups() { closePeriod(next: -1) }

    /// Takes in the rollup sums of a computation that scanned other reads of the same data (the
    /// other half of `splitReads`, closed). Group numbers differ between the two: mapped by key.
    mutating func absorbRollups(_ other: ReportComputation) {
        precondition(other.openGroups.isEmpty, "absorbRollups needs a closed computation")
        var mapped = [Int32](repeating: -1, count: other.groupKeys.count)
        comboCells.reserveCapacity(comboCells.count + other.comboCells.count)
        for cell in other.comboCells {
            var number = mapped[cell.group]
            if number < 0 {
                // Names neither half found stored have provisional ids, handed out in each
                // half's own order (a fact scan meets them in both): mapped by name.
                var key = other.groupKeys[cell.group]
                for index in grouped where key[index] < 0 {
                    key[index] = dimensions.provisionalID(DimensionColumn.all[index].dimension,
                                                          other.dimensions.value(key[index]))
                }
                number = groupNumber(masked: key)
                mapped[cell.group] = number
            }
            comboCells.append(.init(period: cell.period, group: Int(number), amounts: cell.amounts))
        }
    }

    /// Raw slivers: one indexed query per group when there are few; with many (a year of days in
    /// a non-UTC zone) one sweep over the records, each dispatched to the groups it touches,
    /// instead of hundreds of scans that each reach back by the longest job. Each sweep
    /// dispatches only into its own groups, or a record touching two would be counted twice.
    var sweeps: [Sweep] {
        let allGroups = plan.rawGroups
        var runs = allGroups.map { [$0] }
        var tableScan = false
        if let low = meta.minT0, let high = meta.maxT1, high > low, allGroups.count > 1 {
            // Estimated by time covered: each per-group query reaches back by the longest span.
            let perGroup = allGroups.reduce(Int64(0)) { $0 + ($1.range.upperBound - $1.range.lowerBound) + meta.maxSpan }
            if perGroup > (high - low) / 2 {
                runs = [allGroups]
                tableScan = true
            }
        }
        return runs.map { groups in
            Sweep(groups: groups, groupStarts: groups.map(\.range.lowerBound),
                  window: groups.first!.range.lowerBound..<groups.last!.range.upperBound, tableScan: tableScan)
        }
    }

    var needsHosts: Bool { plans.needsHosts }

    /// Adds one raw record read by a sweep's query.
    mutating func addRaw(_ facts: UsageFacts, recorded: DimensionIDs, touched: Range<Int64>, host: String,
                         sweep: Sweep) throws {
        let resolved = try plans.resolve(recorded, host: host, dictionary: &dimensions, source: .provisional)
        let job = ChargedJob(facts: facts, plan: resolved.plan)
        var pieceKeys: [DimensionIDs?] = Array(repeating: nil, count: resolved.plan.pieces.count)
        // Groups are sorted and disjoint: start at the last one beginning before `touched` ends.
        let groupStarts = sweep.groupStarts
        var low = 0, high = groupStarts.count
        while low < high {
            let mid = (low + high) / 2
            if groupStarts[mid] < touched.upperBound { low = mid + 1 } else { high = mid }
        }
        var index = low - 1
        while index >= 0, sweep.groups[index].range.upperBound > touched.lowerBound {
            for span in sweep.groups[index].spans {
                try job.forEachShare(in: span.range) { piece, amounts in
                    let ids: DimensionIDs
                    if let known = pieceKeys[piece] {
                        ids = known
                    } else {
                        ids = try plans.keys(resolved, piece: piece, facts: facts, state: recorded.state,
                                             buckets: buckets, dictionary: &dimensions, source: .provisional)
                        pieceKeys[piece] = ids
                    }
                    for filter in derivedFilters where !filter.ids.contains(ids[filter.index]) { return }
                    var masked = DimensionIDs()
                    for index in grouped { masked[index] = ids[index] }
                    let key = RollupKey(period: Int64(span.period), ids: masked)
                    if span.sign > 0 {
                        cells[key, default: UsageAmounts()] += amounts
                    } else {
                        cells[key, default: UsageAmounts()] -= amounts
                    }
                }
            }
            index -= 1
        }
    }

    /// Adds one job of a fact scan (a computation made with `factScan`): its shares of every
    /// period it touches, exactly as `addRaw` splits them.
    @inline(__always)
    mutating func addFact(_ slot: UnsafeRawPointer, states: StateCache) throws {
        let touched = FactSlot.touched(slot)
        guard touched.lowerBound < window.upperBound, touched.upperBound > window.lowerBound else { return }
        let recorded = FactSlot.ids(slot)
        guard recordedFilter.matches(recorded) else { return }
        let facts = FactSlot.facts(slot, state: states.state(recorded.state))
        // The first period ending after the job's first second.
        var low = 0, high = periods.count
        while low < high {
            let mid = (low + high) / 2
            if periods[mid].end <= touched.lowerBound { low = mid + 1 } else { high = mid }
        }
        guard low < periods.count, periodStarts[low] < touched.upperBound else { return }
        if let shared = sharedPlan {
            // No rule depends on names: the recorded names are the report's.
            var ids = recorded
            ids.gpuClass = facts.gpus == 0 ? 0 : recorded.gpuModel == 0 ? shared.noModel : shared.unclassified
            if buckets { try plans.addBuckets(&ids, facts: facts, dictionary: &dimensions, source: .provisional) }
            for filter in derivedFilters where !filter.ids.contains(ids[filter.index]) { return }
            var masked = DimensionIDs()
            for index in grouped { masked[index] = ids[index] }
            let group = Int(groupNumber(masked: masked))
            let job = ChargedJob(facts: facts, plan: shared.plan)
            var period = low
            while period < periods.count, periodStarts[period] < touched.upperBound {
                job.forEachShare(in: periods[period].range) { _, amounts in add(amounts, period: period, group: group) }
                period += 1
            }
            return
        }
        let resolved = try plans.resolve(recorded, host: "", dictionary: &dimensions, source: .provisional)
        let job = ChargedJob(facts: facts, plan: resolved.plan)
        var period = low
        while period < periods.count, periodStarts[period] < touched.upperBound {
            try job.forEachShare(in: periods[period].range) { piece, amounts in
                let ids = try plans.keys(resolved, piece: piece, facts: facts, state: recorded.state, buckets: buckets,
                                         dictionary: &dimensions, source: .provisional)
                for filter in derivedFilters where !filter.ids.contains(ids[filter.index]) { return }
                var masked = DimensionIDs()
                for index in grouped { masked[index] = ids[index] }
                add(amounts, period: period, group: Int(groupNumber(masked: masked)))
            }
            period += 1
        }
    }

    @inline(__always)
    private mutating func add(_ amounts: UsageAmounts, period: Int, group: Int) {
        if group >= factSums[period].count {
            factSums[period].append(contentsOf: repeatElement(UsageAmounts(), count: group + 1 - factSums[period].count))
        }
        factSums[period][group] += amounts
    }

    /// Ends a fact scan: its sums become cells (before `absorbRollups` or `finish`).
    mutating func closeFacts() {
        for (period, sums) in factSums.enumerated() {
            for (group, amounts) in sums.enumerated() where !amounts.isZero {
                comboCells.append(.init(period: period, group: group, amounts: amounts))
            }
        }
        factSums = Array(repeating: [], count: factSums.count)
    }

    /// The report, with the counts of sources and rejected lines it rests on (the computation
    /// is spent: its cells move into the report).
    mutating func finish(sources: Int64, rejectedLines: Int64) -> Report {
        // Raw slivers join the rollup cells by group number before anything is dropped as zero.
        closePeriod(next: -1)
        var merged = comboCells
        comboCells = []  // moved, not copied, when the raw cells are appended
        for (cell, amounts) in cells {
            merged.append(.init(period: Int(cell.period), group: Int(groupNumber(masked: cell.ids)), amounts: amounts))
        }
        let names = groupKeys.map { ids in grouped.map { dimensions.value(ids[$0]) } }
        var rows = ReportAccumulator.rows(periods: periods, groups: names, cells: merged)
        let jobs = rows.reduce(Int64(0)) { $0 + $1.amounts.jobs }
        let basis = ReportBasis(records: jobs, sources: sources, rejectedLines: rejectedLines)
        var report = Report(query: query, window: window, rows: [], basis: basis,
                            benchmarkKind: configuration.benchmarkKind)
        let capacities = CapacityModel(configuration.resources)
        if !capacities.isEmpty {
            for index in rows.indices {
                rows[index].capacity = capacity(capacities, keys: rows[index].keys, over: rows[index].period.range)
            }
            report.totalCapacity = capacity(capacities, keys: nil, over: window)
        }
        report.rows = rows
        report.metrics = metrics(for: report)
        if query.groupBy.contains(.user) {
            report.displayNames = configuration.users.compactMapValues(\.name)
        }
        report.notes = notes(for: report)
        return report
    }

    /// Capacity in scope of a row: its cluster and partition when grouped by them, else the
    /// filter's single cluster or partition, else everything configured.
    private func capacity(_ model: CapacityModel, keys: [String]?, over range: Range<Int64>) -> Capacity {
        func scope(_ dimension: ReportDimension) -> String? {
            if let keys, let index = query.groupBy.firstIndex(of: dimension) { return keys[index] }
            if let values = query.filters[dimension], values.count == 1 { return values.first }
            return nil
        }
        return model.capacity(cluster: scope(.cluster), partition: scope(.partition), gpuModel: scope(.gpuModel),
                              over: range)
    }

    private func metrics(for report: Report) -> [Metric] {
        var metrics = Metric.basic
        let total = report.total
        if total.gpuSeconds > 0 { metrics.append(.averageGPUs) }
        if !configuration.benchmarks.isEmpty { metrics.append(.benchmarkHours) }
        if !configuration.gpuClasses.isEmpty { metrics.append(.normalisedGPUHours) }
        if !configuration.chargeRates.isEmpty { metrics.append(.serviceUnits) }
        if !configuration.resources.isEmpty {
            metrics.append(.coreUtilisation)
            if configuration.resources.contains(where: { $0.totalGPUs > 0 }) { metrics.append(.gpuUtilisation) }
        }
        return metrics
    }

    private func notes(for report: Report) -> [String] {
        var notes: [String] = []
        let total = report.total
        if !configuration.benchmarks.isEmpty, total.coreSecondsBenchmarked < total.coreSeconds {
            let hours = Double(total.coreSeconds - total.coreSecondsBenchmarked) / 3600
            notes.append("\(fixedPoint(hours, places: 2)) core hours ran where no [[benchmark]] rule matched: "
                         + "they count 0 \(configuration.benchmarkKind) hours (tally config check lists them)")
        }
        return notes
    }
}
