import Foundation

/// Usage decayed the way Slurm's priority/multifactor plugin decays it: each second's usage
/// loses a factor `D = 1 − 0.693 / half-life` per second that has passed since.
public struct DecayedUsage: Sendable {
    public let at: Int64
    /// Per-second decay rate `−ln D`; 0 without decay.
    let rate: Double

    public init(halfLife: Double, at: Int64) {
        self.at = at
        rate = halfLife > 0 ? -log(1 - 0.693 / halfLife) : 0
    }

    /// The oldest instant whose usage still counts for more than a billionth of itself: older
    /// records need not be read.
    public var horizon: Int64? {
        rate > 0 ? at - Int64((30 / rate).rounded(.up)) : nil
    }

    /// `weight × ∫ D^(at − t) dt` over the part of `interval` before `at`.
    public func usage(weight: Double, over interval: Range<Int64>) -> Double {
        let end = min(interval.upperBound, at)
        guard end > interval.lowerBound, weight > 0 else { return 0 }
        guard rate > 0 else { return weight * Double(end - interval.lowerBound) }
        let recent = exp(-rate * Double(at - end))
        let early = exp(-rate * Double(at - interval.lowerBound))
        return weight * (recent - early) / rate
    }
}

/// Slurm's fair-share over an association tree, by the classic algorithm and by Fair Tree, with
/// the columns `sshare -l` prints.
public struct SlurmFairShare: Sendable {
    public struct Row: Sendable, Hashable, Codable {
        public var account: String
        public var user: String?
        public var depth: Int
        /// nil: `FairShare=parent`.
        public var rawShares: Int64?
        public var normShares: Double
        public var rawUsage: Double
        public var normUsage: Double
        public var effectiveUsage: Double
        /// The factor for users (and, in the classic algorithm, for accounts too).
        public var fairShare: Double?
        /// Fair Tree's level fair-share; nil in classic output.
        public var levelFS: Double?
    }

    public enum Algorithm: String, Sendable, CaseIterable, Codable {
        case fairTree = "fair-tree"
        case classic
    }

    final class Node {
        let account: String
        let user: String?
        let shares: Int64?
        var children: [Node] = []
        weak var parent: Node?
        var rawUsage = 0.0
        // Fair Tree
        var levelShares = 0.0
        var siblingShare = 0.0
        var relativeUsage = 0.0
        var levelFS = 0.0
        // Classic
        var normShares = 0.0
        var effectiveUsage = 0.0
        /// Fair Tree's factor (users only).
        var fairShare: Double?

        init(account: String, user: String?, shares: Int64?) {
            self.account = account; self.user = user; self.shares = shares
        }
        var isUser: Bool { user != nil }
    }

    let fairTreeRows: [Row]
    let classicRows: [Row]
    /// User associations in the tree (Fair Tree's N).
    public let userCount: Int
    /// Associations that had usage but no entry in the share tree (added with 1 share).
    public private(set) var unlisted: [String] = []

    /// - Parameters:
    ///   - shares: the association tree; accounts without a parent hang under `root`.
    ///   - usage: decayed usage per (account, user).
    public init(shares: [ShareEntry], usage: [AccountUser: Double], dampening: Double = 1) {
        let root = Node(account: "root", user: nil, shares: nil)
        var accounts: [String: Node] = ["root": root]
        var parents: [String: String] = [:]
        for entry in shares where entry.user == nil && entry.account != "root" {
            accounts[entry.account] = Node(account: entry.account, user: nil, shares: entry.shares)
            parents[entry.account] = entry.parent ?? "root"
        }
        var unlisted: [String] = []
        for (account, parent) in parents.sorted(by: { $0.key < $1.key }) {
            let node = accounts[account]!
            let parentNode = accounts[parent] ?? root
            if accounts[parent] == nil { unlisted.append("account \(parent) (parent of \(account))") }
            node.parent = parentNode
            parentNode.children.append(node)
        }
        var users: [AccountUser: Node] = [:]
        func userNode(account: String, user: String, shares: Int64?) -> Node {
            let key = AccountUser(account: account, user: user)
            if let known = users[key] { return known }
            let parent: Node
            if let known = accounts[account] {
                parent = known
            } else {
                parent = Node(account: account, user: nil, shares: 1)
                parent.parent = root
                root.children.append(parent)
                accounts[account] = parent
                unlisted.append("account \(account)")
            }
            let node = Node(account: account, user: user, shares: shares)
            node.parent = parent
            parent.children.append(node)
            users[key] = node
            return node
        }
        for entry in shares {
            if let user = entry.user { _ = userNode(account: entry.account, user: user, shares: entry.shares) }
        }
        for (key, value) in usage.sorted(by: { ($0.key.account, $0.key.user) < ($1.key.account, $1.key.user) }) {
            if users[key] == nil { unlisted.append("user \(key.user) in account \(key.account)") }
            let node = userNode(account: key.account, user: key.user, shares: 1)
            node.rawUsage += value
        }
        self.unlisted = unlisted
        userCount = users.count
        Self.sumUsage(root)
        Self.computeLevels(root)
        Self.computeClassic(root, rootUsage: root.rawUsage)
        var rank = Double(users.count)
        var notTied = rank
        Self.rankFairTree(root.children, accountTied: false, rank: &rank, notTied: &notTied, users: Double(users.count))
        fairTreeRows = Self.rows(root, .fairTree, dampening: dampening)
        classicRows = Self.rows(root, .classic, dampening: dampening)
    }

    public func rows(_ algorithm: Algorithm) -> [Row] {
        algorithm == .fairTree ? fairTreeRows : classicRows
    }

    @discardableResult
    static func sumUsage(_ node: Node) -> Double {
        if !node.children.isEmpty { node.rawUsage = node.children.reduce(0) { $0 + sumUsage($1) } }
        return node.rawUsage
    }

    /// Fair Tree's sibling-relative share, usage and level fair-share.
    static func computeLevels(_ node: Node) {
        let levelShares = Double(node.children.compactMap(\.shares).reduce(0, +))
        for child in node.children {
            child.levelShares = levelShares
            child.siblingShare = levelShares > 0 ? Double(child.shares ?? 0) / levelShares : 0
            child.relativeUsage = node.rawUsage > 0 ? child.rawUsage / node.rawUsage : 0
            if child.shares == nil, child.isUser {
                child.levelFS = .infinity
            } else if child.siblingShare == 0 {
                child.levelFS = 0
            } else {
                child.levelFS = child.relativeUsage == 0 ? .infinity : child.siblingShare / child.relativeUsage
            }
            computeLevels(child)
        }
    }

    /// The classic algorithm: shares multiplied down the tree, usage mixed with the parent's.
    static func computeClassic(_ node: Node, rootUsage: Double) {
        for child in node.children {
            let own = rootUsage > 0 ? min(1, child.rawUsage / rootUsage) : 0
            if child.shares == nil {
                // FairShare=parent: the parent's values.
                child.normShares = node.normShares
                child.effectiveUsage = node.effectiveUsage
            } else if node.parent == nil {
                child.normShares = child.siblingShare
                child.effectiveUsage = own
            } else {
                child.normShares = node.normShares * child.siblingShare
                child.effectiveUsage = child.levelShares > 0
                    ? own + (node.effectiveUsage - own) * Double(child.shares ?? 0) / child.levelShares
                    : node.effectiveUsage
            }
            computeClassic(child, rootUsage: rootUsage)
        }
    }

    /// Fair Tree: siblings in descending level fair-share, users before accounts on ties; users
    /// take the next rank, accounts are descended into, tied accounts with their children merged.
    static func rankFairTree(_ siblings: [Node], accountTied: Bool, rank: inout Double, notTied: inout Double, users: Double) {
        // Accounts with FairShare=parent are not ranked themselves: their children join this level.
        var level: [Node] = []
        for node in siblings {
            if !node.isUser, node.shares == nil { level.append(contentsOf: node.children) } else { level.append(node) }
        }
        level.sort { left, right in
            if left.levelFS != right.levelFS { return left.levelFS > right.levelFS }
            if left.isUser != right.isUser { return left.isUser }
            return (left.account, left.user ?? "") < (right.account, right.user ?? "")
        }
        var previous: Double?
        var index = 0
        while index < level.count {
            let node = level[index]
            let tied = index == 0 ? accountTied : previous == node.levelFS
            if node.isUser {
                if !tied { rank = notTied }
                node.fairShare = users > 0 ? rank / users : 0
                notTied -= 1
                index += 1
            } else {
                var children = node.children
                var next = index + 1
                while next < level.count, !level[next].isUser, level[next].levelFS == node.levelFS {
                    children.append(contentsOf: level[next].children)
                    next += 1
                }
                rankFairTree(children, accountTied: tied, rank: &rank, notTied: &notTied, users: users)
                index = next
            }
            previous = node.levelFS
        }
    }

    /// The rows in `sshare` order: root, then depth first, users before sub-accounts, by name.
    static func rows(_ root: Node, _ algorithm: Algorithm, dampening: Double) -> [Row] {
        var rows: [Row] = [Row(account: "root", user: nil, depth: 0, rawShares: nil, normShares: 0, rawUsage: root.rawUsage,
                               normUsage: root.rawUsage > 0 ? 1 : 0, effectiveUsage: 1, fairShare: nil, levelFS: nil)]
        func visit(_ node: Node, depth: Int) {
            let ordered = node.children.sorted { left, right in
                if left.isUser != right.isUser { return left.isUser }
                return (left.account, left.user ?? "") < (right.account, right.user ?? "")
            }
            for child in ordered {
                let normUsage = root.rawUsage > 0 ? min(1, child.rawUsage / root.rawUsage) : 0
                switch algorithm {
                case .fairTree:
                    // Fair Tree gives accounts no factor of their own.
                    rows.append(Row(account: child.account, user: child.user, depth: depth, rawShares: child.shares,
                                    normShares: child.siblingShare, rawUsage: child.rawUsage, normUsage: normUsage,
                                    effectiveUsage: child.relativeUsage, fairShare: child.isUser ? child.fairShare : nil,
                                    levelFS: child.levelFS))
                case .classic:
                    rows.append(Row(account: child.account, user: child.user, depth: depth, rawShares: child.shares,
                                    normShares: child.normShares, rawUsage: child.rawUsage, normUsage: normUsage,
                                    effectiveUsage: child.effectiveUsage,
                                    fairShare: child.normShares > 0 ? pow(2, -(child.effectiveUsage / child.normShares) / dampening) : 0,
                                    levelFS: nil))
                }
                visit(child, depth: depth + 1)
            }
        }
        visit(root, depth: 1)
        return rows
    }
}

/// A user within an account: the key of a Slurm association and of usage sums.
public struct AccountUser: Sendable, Hashable, Codable {
    public var account: String
    public var user: String
    public init(account: String, user: String) { self.account = account; self.user = user }
}
