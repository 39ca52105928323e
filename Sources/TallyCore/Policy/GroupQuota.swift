import Foundation

/// HTCondor's hierarchical group quotas: quotas assigned top-down from the pool, each group's
/// allocation capped by its demand, and unused quota shared as surplus among groups that accept it
/// (in proportion to their quotas), then capped by strict enforcement. Names follow `GROUP_NAMES`:
/// `group_physics.hep` is a child of `group_physics`; everything else runs in `<none>`.
public struct GroupQuotaTree: Sendable {
    public static let rootName = "<none>"

    public struct Group: Sendable, Hashable, Codable {
        public var name: String
        public var parent: String?
        public var depth: Int
        public var acceptSurplus: Bool
        /// The quota the tree gives this group and its sub-groups.
        public var quota: Double
        /// The part of it for the group's own submitters.
        public var ownQuota: Double
        /// Weighted slots asked for by the group's own submitters (running + waiting).
        public var demand: Double
        /// Weighted slots in use by the group's own submitters.
        public var usage: Double
        /// What the negotiator would hand the group's own submitters for this demand.
        public var allocated: Double
        /// Usage and allocation of the whole subtree.
        public var subtreeUsage: Double
        public var subtreeAllocated: Double
        /// Usage above the quota: surplus received from other groups.
        public var surplusReceived: Double { max(0, subtreeUsage - quota) }
        public var overQuota: Bool { subtreeUsage > quota + 1e-9 }
        /// Unused quota that other groups' surplus use is taking (shared in proportion to what is unused).
        public var surplusLent: Double
    }

    struct Node: Sendable {
        var entry: QuotaGroupEntry
        var parent: Int?
        var children: [Int] = []
        var depth = 0
        var quota = 0.0
        var ownQuota = 0.0
        var demand = 0.0
        var usage = 0.0
        var allocated = 0.0
        var unmet = 0.0
        var subtreeUnmet = 0.0
    }

    var nodes: [Node]
    var index: [String: Int]
    public let settings: QuotaSettings
    /// Groups named in the configuration whose parent is not (HTCondor ignores them).
    public private(set) var orphans: [String] = []

    public init(groups: [QuotaGroupEntry], settings: QuotaSettings) {
        self.settings = settings
        nodes = [Node(entry: QuotaGroupEntry(name: Self.rootName, acceptSurplus: false))]
        index = [Self.rootName: 0]
        // Parents before children: sort by depth.
        for entry in groups.sorted(by: { ($0.name.split(separator: ".").count, $0.name) < ($1.name.split(separator: ".").count, $1.name) }) {
            let name = entry.name.lowercased()
            let parts = name.split(separator: ".")
            var parent = 0
            if parts.count > 1 {
                guard let found = index[parts.dropLast().joined(separator: ".")] else { orphans.append(entry.name); continue }
                parent = found
            }
            var node = Node(entry: entry, parent: parent)
            node.depth = nodes[parent].depth + 1
            index[name] = nodes.count
            nodes[parent].children.append(nodes.count)
            nodes.append(node)
        }
    }

    /// The configured group a record's accounting group belongs to: the longest configured name
    /// that is the group or one of its dotted ancestors; `<none>` when none is.
    public func group(for accountingGroup: String?) -> String {
        guard var name = accountingGroup?.lowercased(), !name.isEmpty else { return Self.rootName }
        while true {
            if let found = index[name] { return nodes[found].entry.name }
            guard let dot = name.lastIndex(of: ".") else { return Self.rootName }
            name = String(name[..<dot])
        }
    }

    /// Quotas for a pool of `pool` weighted slots, then the allocation for the given demand and usage
    /// (keyed by configured group name, as `group(for:)` returns).
    public func evaluate(pool: Double, demand: [String: Double], usage: [String: Double]) -> [Group] {
        var nodes = self.nodes
        for position in nodes.indices {
            let key = nodes[position].entry.name
            nodes[position].demand = demand[key] ?? 0
            nodes[position].usage = usage[key] ?? 0
        }
        assignQuotas(&nodes, at: 0, quota: pool)
        _ = fairShare(&nodes, at: 0)
        if settings.strictEnforcement { enforceStrictly(&nodes) }
        return groups(nodes)
    }

    /// The bottom-up pass: each group takes what it asks up to its own quota; the rest of its quota
    /// and its sub-groups' surplus is shared inside the subtree, the remainder handed up.
    func fairShare(_ nodes: inout [Node], at position: Int) -> Double {
        let allocated = min(nodes[position].demand, nodes[position].ownQuota)
        nodes[position].allocated = allocated
        nodes[position].unmet = nodes[position].demand - allocated
        var surplus = nodes[position].ownQuota - allocated
        for child in nodes[position].children {
            surplus += fairShare(&nodes, at: child)
        }
        updateUnmet(&nodes, at: position)
        let left = shareSurplus(&nodes, at: position, surplus: surplus)
        // With oversubscription a group's own quota overlaps its sub-groups': what it hands up
        // can be no more than the part of its subtree quota still unallocated.
        return min(left, max(0, nodes[position].quota - subtreeAllocated(nodes, at: position)))
    }

    func subtreeAllocated(_ nodes: [Node], at position: Int) -> Double {
        nodes[position].children.reduce(nodes[position].allocated) { $0 + subtreeAllocated(nodes, at: $1) }
    }

    func updateUnmet(_ nodes: inout [Node], at position: Int) {
        nodes[position].subtreeUnmet = nodes[position].unmet + nodes[position].children
            .filter { nodes[$0].entry.acceptSurplus }
            .reduce(0) { $0 + nodes[$1].subtreeUnmet }
    }

    /// Shares `surplus` between a group's own submitters and its sub-groups that accept surplus and
    /// still want more: everything they want if it suffices, else in rounds in proportion to their
    /// quotas (capped at what each wants), then equally among zero-quota groups. Returns what is left.
    func shareSurplus(_ nodes: inout [Node], at position: Int, surplus total: Double) -> Double {
        var surplus = total
        guard surplus > 1e-12, nodes[position].subtreeUnmet > 1e-12 else { return surplus }
        // (node, weight, want); the node itself stands for its own submitters.
        var candidates: [(node: Int, weight: Double, want: Double)] = []
        if nodes[position].unmet > 0 { candidates.append((position, nodes[position].ownQuota, nodes[position].unmet)) }
        for child in nodes[position].children where nodes[child].entry.acceptSurplus && nodes[child].subtreeUnmet > 0 {
            candidates.append((child, nodes[child].quota, nodes[child].subtreeUnmet))
        }
        var got = [Double](repeating: 0, count: candidates.count)
        let wanted = candidates.reduce(0) { $0 + $1.want }
        if surplus >= wanted {
            for index in candidates.indices { got[index] = candidates[index].want }
            surplus -= wanted
        } else {
            for weighted in [true, false] {
                while surplus > 1e-12 {
                    let active = candidates.indices.filter {
                        got[$0] < candidates[$0].want - 1e-12 && (weighted ? candidates[$0].weight > 0 : candidates[$0].weight <= 0)
                    }
                    guard !active.isEmpty else { break }
                    let totalWeight = active.reduce(0) { $0 + (weighted ? candidates[$1].weight : 1) }
                    var handed = 0.0
                    var capped = false
                    for index in active {
                        let offer = surplus * (weighted ? candidates[index].weight : 1) / totalWeight
                        let give = min(candidates[index].want - got[index], offer)
                        if give < offer - 1e-12 { capped = true }
                        got[index] += give
                        handed += give
                    }
                    surplus -= handed
                    if !capped { break }
                }
            }
        }
        for (index, candidate) in candidates.enumerated() where got[index] > 0 {
            if candidate.node == position {
                nodes[position].allocated += got[index]
                nodes[position].unmet -= got[index]
            } else {
                surplus += shareSurplus(&nodes, at: candidate.node, surplus: got[index])
            }
        }
        updateUnmet(&nodes, at: position)
        return max(0, surplus)
    }

    /// `NEGOTIATOR_STRICT_ENFORCE_QUOTA`: groups negotiate most-starved first (what they are handed
    /// ÷ quota, as usage ÷ quota settles to), and none may take its subtree, or any ancestor's, past
    /// the quota of a group that does not accept surplus.
    func enforceStrictly(_ nodes: inout [Node]) {
        var granted = [Double](repeating: 0, count: nodes.count)
        let order = nodes.indices.dropFirst().sorted { left, right in
            func starvation(_ index: Int) -> Double {
                nodes[index].quota > 0 ? nodes[index].allocated / nodes[index].quota : .greatestFiniteMagnitude
            }
            return (starvation(left), nodes[left].entry.name) < (starvation(right), nodes[right].entry.name)
        }
        for position in order {
            var room = Double.greatestFiniteMagnitude
            var cursor: Int? = position
            while let current = cursor, current != 0 {
                if !nodes[current].entry.acceptSurplus { room = min(room, nodes[current].quota - granted[current]) }
                cursor = nodes[current].parent
            }
            let final = min(nodes[position].allocated, max(0, room))
            nodes[position].allocated = final
            cursor = position
            while let current = cursor, current != 0 {
                granted[current] += final
                cursor = nodes[current].parent
            }
        }
    }

    func groups(_ nodes: [Node]) -> [Group] {
        var subtreeUsage = nodes.map(\.usage)
        var subtreeAllocated = nodes.map(\.allocated)
        for position in nodes.indices.sorted(by: { nodes[$0].depth > nodes[$1].depth }) {
            if let parent = nodes[position].parent {
                subtreeUsage[parent] += subtreeUsage[position]
                subtreeAllocated[parent] += subtreeAllocated[position]
            }
        }
        var lent = [Double](repeating: 0, count: nodes.count)
        for node in nodes {
            // Surplus flows between siblings: what some use above their quota comes from the others' unused quota.
            let siblings = node.children
            let received = siblings.reduce(0) { $0 + max(0, subtreeUsage[$1] - nodes[$1].quota) }
            let unused = siblings.reduce(0) { $0 + max(0, nodes[$1].quota - subtreeUsage[$1]) }
            guard unused > 0 else { continue }
            for sibling in siblings {
                lent[sibling] = max(0, nodes[sibling].quota - subtreeUsage[sibling]) * min(1, received / unused)
            }
        }
        var result: [Group] = []
        func visit(_ position: Int) {
            let node = nodes[position]
            result.append(Group(name: node.entry.name, parent: node.parent.map { nodes[$0].entry.name }, depth: node.depth,
                                acceptSurplus: node.entry.acceptSurplus, quota: node.quota, ownQuota: node.ownQuota,
                                demand: node.demand, usage: node.usage, allocated: node.allocated,
                                subtreeUsage: subtreeUsage[position], subtreeAllocated: subtreeAllocated[position],
                                surplusLent: lent[position]))
            for child in node.children.sorted(by: { nodes[$0].entry.name < nodes[$1].entry.name }) { visit(child) }
        }
        visit(0)
        return result
    }

    /// Each group's quota for a pool size, without regard to demand; for `<none>`, what is left of
    /// the pool for jobs in no group.
    public func quotas(pool: Double) -> [String: Double] {
        var nodes = self.nodes
        assignQuotas(&nodes, at: 0, quota: pool)
        return Dictionary(uniqueKeysWithValues: nodes.enumerated().map { index, node in
            (node.entry.name, index == 0 ? node.ownQuota : node.quota)
        })
    }

    func assignQuotas(_ nodes: inout [Node], at position: Int, quota: Double) {
        nodes[position].quota = quota
        let children = nodes[position].children
        let statics = children.filter { nodes[$0].entry.staticQuota != nil }
        let staticSum = statics.reduce(0) { $0 + (nodes[$1].entry.staticQuota ?? 0) }
        let staticAssigned = settings.allowOversubscription ? staticSum : min(staticSum, quota)
        var given = 0.0
        for child in statics {
            let share = staticSum > 0 ? (nodes[child].entry.staticQuota ?? 0) * staticAssigned / staticSum : 0
            assignQuotas(&nodes, at: child, quota: share)
            given += share
        }
        let dynamics = children.filter { nodes[$0].entry.staticQuota == nil }
        let fractionSum = dynamics.reduce(0) { $0 + max(0, nodes[$1].entry.dynamicQuota ?? 0) }
        let dynamicPool = max(0, quota - staticAssigned)
        for child in dynamics {
            let fraction = max(0, nodes[child].entry.dynamicQuota ?? 0)
            let share = dynamicPool * fraction / max(1, fractionSum)
            assignQuotas(&nodes, at: child, quota: share)
            given += share
        }
        if position == 0 || !settings.allowOversubscription {
            nodes[position].ownQuota = max(0, quota - given)
        } else {
            nodes[position].ownQuota = quota
        }
    }
}
