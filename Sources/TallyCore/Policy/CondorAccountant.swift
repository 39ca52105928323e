import Foundation

/// HTCondor's accountant replayed from accounting records: each submitter's real user priority
/// follows `RUP ← β·RUP + (1 − β)·ρ`, `β = 0.5^(Δt / half-life)`, with ρ the weighted slots
/// (cores) in use, floored at the minimum priority. β composes multiplicatively, so updating at
/// every start and end gives what updating every negotiation cycle gives.
public struct CondorAccountant: Sendable {
    public struct Row: Sendable, Hashable, Codable {
        /// `group.user` for members of an accounting group, else the user; groups have rows too.
        public var name: String
        public var isGroup: Bool
        public var effectivePriority: Double
        public var realPriority: Double
        public var priorityFactor: Double
        /// Weighted slots in use at the instant.
        public var resourcesInUse: Double
        /// Weighted (core) hours over all records read.
        public var accumulatedUsageHours: Double
        public var firstUsage: Int64
        public var lastUsage: Int64
    }

    struct Principal: Sendable {
        var time: Int64
        var priority: Double
        var inUse: Double = 0
        /// Ends of running jobs as (end, weight), kept as a binary min-heap.
        var ends = MinHeap()
        var weightedSeconds = 0.0
        var firstUsage: Int64
        var lastUsage: Int64
    }

    public let settings: CondorPrioritySettings
    public let at: Int64
    var principals: [String: Principal] = [:]
    var groups: Set<String> = []
    var groupOf: [String: String] = [:]

    public init(settings: CondorPrioritySettings, at: Int64) {
        self.settings = settings; self.at = at
    }

    /// The submitter name HTCondor charges: `group.user` when the job ran in an accounting group.
    public static func submitter(user: String?, group: String?) -> String {
        let user = user ?? "unknown"
        guard let group, !group.isEmpty, group != "<none>" else { return user }
        return "\(group).\(user)"
    }

    /// Adds one job's run. Runs must come in ascending start order (as the store reads them).
    public mutating func add(user: String?, group: String?, start: Int64, end: Int64, weight: Double) {
        guard end > start, start < at, weight > 0 else { return }
        let name = Self.submitter(user: user, group: group)
        add(principal: name, start: start, end: end, weight: weight)
        if let group, !group.isEmpty, group != "<none>" {
            groups.insert(group)
            groupOf[name] = group
            add(principal: group, start: start, end: end, weight: weight)
        }
    }

    mutating func add(principal name: String, start: Int64, end: Int64, weight: Double) {
        let seen = min(end, at)
        // In place, and through static functions: a method of `self` here would copy the whole
        // dictionary (it is being mutated), once per run.
        Self.add(to: &principals[name, default: Principal(time: start, priority: settings.minimum, firstUsage: start, lastUsage: seen)],
                 start: start, end: end, seen: seen, weight: weight, settings: settings)
    }

    static func add(to principal: inout Principal, start: Int64, end: Int64, seen: Int64, weight: Double,
                    settings: CondorPrioritySettings) {
        advance(&principal, to: start, settings: settings)
        principal.inUse += weight
        // The real end: a job still running at `at` is in use then.
        principal.ends.push(end, weight)
        principal.weightedSeconds += weight * Double(seen - start)
        principal.lastUsage = max(principal.lastUsage, seen)
    }

    /// Replays the principal's history up to `instant`, one constant-usage stretch at a time.
    static func advance(_ principal: inout Principal, to instant: Int64, settings: CondorPrioritySettings) {
        while let (end, weight) = principal.ends.peek, end <= instant {
            update(&principal, to: end, settings: settings)
            principal.inUse -= weight
            _ = principal.ends.pop()
        }
        update(&principal, to: instant, settings: settings)
    }

    static func update(_ principal: inout Principal, to instant: Int64, settings: CondorPrioritySettings) {
        guard instant > principal.time else { return }
        let beta = settings.halfLife > 0 ? pow(0.5, Double(instant - principal.time) / settings.halfLife) : 1
        principal.priority = max(settings.minimum, beta * principal.priority + (1 - beta) * max(0, principal.inUse))
        principal.time = instant
    }

    public func factor(for name: String) -> Double {
        if let factor = settings.factors[name] { return max(1, factor) }
        if let group = groupOf[name], let factor = settings.groupFactors[group] { return max(1, factor) }
        return max(1, settings.defaultFactor)
    }

    /// Every principal at `at`, best (lowest effective priority) first.
    public func rows() -> [Row] {
        principals.map { name, state -> Row in
            var state = state
            Self.advance(&state, to: at, settings: settings)
            let factor = factor(for: name)
            return Row(name: name, isGroup: groups.contains(name), effectivePriority: state.priority * factor,
                       realPriority: state.priority, priorityFactor: factor, resourcesInUse: max(0, state.inUse),
                       accumulatedUsageHours: state.weightedSeconds / 3600, firstUsage: state.firstUsage,
                       lastUsage: state.lastUsage)
        }.sorted { ($0.effectivePriority, $0.name) < ($1.effectivePriority, $1.name) }
    }
}

/// A binary min-heap of (instant, weight), for the ends of running jobs.
public struct MinHeap: Sendable {
    private var items: [(Int64, Double)] = []

    public init() {}

    public var peek: (Int64, Double)? { items.first }

    public mutating func push(_ instant: Int64, _ weight: Double) {
        items.append((instant, weight))
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child].0 < items[parent].0 else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    public mutating func pop() -> (Int64, Double)? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < items.count, items[left].0 < items[smallest].0 { smallest = left }
            if right < items.count, items[right].0 < items[smallest].0 { smallest = right }
            guard smallest != parent else { break }
            items.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }
}
