import TallyCore

/// Answers a report, whichever backend supplies the rows: PostgreSQL reads monthly and daily
/// rollups (`rollupReads`) plus exact raw-record splits where periods cut a UTC day (`sweeps`);
/// SQLite feeds every job's fact slot (`addFact`). Accumulates on integer ids and turns them
/// into names once, at the end (`finish`).
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
    /// Group keys by number (fact scans and cells are keyed by period and group number: an
    /// integer instead of thirteen).
    private var groupKeys: [DimensionIDs] = []
    private var groupNumbers: [DimensionIDs: Int32] = [:]
    /// Group numbers by stored id when the report groups by one name (-1: not seen yet).
    private var directGroups: [Int32] = []
    private var comboCells: [ReportAccumulator.Cell] = []
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

    /// Adds a rollup row read through `rollupReads` (`ids` need only the grouped keys).
    @inline(__always)
    mutating func addRollup(unit: Int64, isMonth: Bool, ids: DimensionIDs, amounts: UsageAmounts) {
        guard let period = isMonth ? plan.period(ofMonth: unit) : plan.period(ofDay: unit) else { return }
        var masked = DimensionIDs()
        for index in grouped { masked[index] = ids[index] }
        cells[RollupKey(period: Int64(period), ids: masked), default: UsageAmounts()] += amounts
    }

    private mutating func groupNumber(masked: DimensionIDs) -> Int32 {
        // Grouped by one name (the common report): its stored id indexes the group directly,
        // instead of hashing thirteen ids for every job of the scan.
        if grouped.count == 1 {
            let id = masked[grouped[0]]
            if id > 0, id < directGroups.count, directGroups[Int(id)] >= 0 { return directGroups[Int(id)] }
        }
        if let known = groupNumbers[masked] { return remember(known, masked) }
        let number = Int32(groupKeys.count)
        groupKeys.append(masked)
        groupNumbers[masked] = number
        return remember(number, masked)
    }

    private mutating func remember(_ number: Int32, _ masked: DimensionIDs) -> Int32 {
        guard grouped.count == 1 else { return number }
        let id = masked[grouped[0]]
        guard id > 0, id < 1 << 22 else { return number }
        if id >= directGroups.count {
            directGroups.append(contentsOf: repeatElement(-1, count: Int(id) + 1 - directGroups.count))
        }
        directGroups[Int(id)] = number
        return number
    }

    /// Takes in the sums of a fact scan of other blocks of the same data (closed with
    /// `closeFacts`). Group numbers differ between the two: mapped by key.
    mutating func absorbFacts(_ other: ReportComputation) {
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
                        ids = try plans.keys(resolved, piece: piece, facts: facts, recorded: recorded,
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
        let resolved = try plans.resolve(recorded, hostID: FactSlot.host(slot), dictionary: &dimensions,
                                         source: .provisional)
        let job = ChargedJob(facts: facts, plan: resolved.plan)
        var period = low
        while period < periods.count, periodStarts[period] < touched.upperBound {
            try job.forEachShare(in: periods[period].range) { piece, amounts in
                let ids = try plans.keys(resolved, piece: piece, facts: facts, recorded: recorded, buckets: buckets,
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

    /// Ends a fact scan: its sums become cells (before `absorbFacts` or `finish`).
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
        // Raw slivers join the fact cells by group number before anything is dropped as zero.
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
        // Looked up once per report: the dictionary holds every recorded name.
        let uncovered = capacities.isEmpty ? [] : Set(clustersWithoutCapacity())
        if !capacities.isEmpty {
            for index in rows.indices {
                rows[index].capacity = capacity(capacities, keys: rows[index].keys, over: rows[index].period.range,
                                                uncovered: uncovered)
            }
            report.totalCapacity = capacity(capacities, keys: nil, over: window, uncovered: uncovered)
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
    /// filter's single cluster or partition, else everything configured. Utilisation is per
    /// cluster capacity: a row whose usage may come from a cluster with no `[[resource]]` has
    /// none (blank), rather than being divided by another cluster's capacity.
    private func capacity(_ model: CapacityModel, keys: [String]?, over range: Range<Int64>,
                          uncovered: Set<String>) -> Capacity? {
        func scope(_ dimension: ReportDimension) -> String? {
            if let keys, let index = query.groupBy.firstIndex(of: dimension) { return keys[index] }
            if let values = query.filters[dimension], values.count == 1 { return values.first }
            return nil
        }
        let cluster = scope(.cluster)
        if let cluster {
            guard model.resources.contains(where: { $0.cluster == cluster }) else { return nil }
        } else if let asked = query.filters[.cluster] {
            guard asked.allSatisfy({ name in model.resources.contains { $0.cluster == name } }) else { return nil }
        } else if !uncovered.isEmpty {
            return nil
        }
        return model.capacity(cluster: cluster, partition: scope(.partition), gpuModel: scope(.gpuModel), over: range)
    }

    /// Recorded clusters no `[[resource]]` gives a capacity (their utilisation is blank).
    private func clustersWithoutCapacity() -> [String] {
        dimensions.storedValues(.cluster).filter { name in !configuration.resources.contains { $0.cluster == name } }
    }

    private func metrics(for report: Report) -> [Metric] {
        var metrics = Metric.basic
        let total = report.total
        if total.gpuSeconds > 0 { metrics.append(.averageGPUs) }
        if total.diskMiBSeconds > 0 { metrics.insert(.diskGBHours, at: metrics.firstIndex(of: .efficiency) ?? metrics.count) }
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
        let uncovered = configuration.resources.isEmpty ? [] : clustersWithoutCapacity()
        if !uncovered.isEmpty {
            notes.append("no [[resource]] capacity for cluster \(uncovered.joined(separator: ", ")): its utilisation, "
                         + "and that of rows mixing it with others, is blank (group by cluster to see the rest)")
        }
        return notes
    }
}
