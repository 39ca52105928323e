import Foundation
import TallyCore
import TOMLKit

/// A configuration together with the text it was read from (stored with the summaries it built).
public struct LoadedConfiguration: Sendable {
    public var configuration: TallyConfiguration
    public var text: String
    /// Warnings: the configuration is usable, but something looks unintended.
    public var warnings: [ConfigIssue]
}

/// Reads `tally.toml`: every table and key checked, every problem named by line.
public enum ConfigLoader {
    /// `--config`, else `$TALLY_CONFIG`; nil when neither is given.
    public static func resolvePath(_ explicit: String?) -> String? {
        if let explicit, !explicit.isEmpty { return explicit }
        if let path = ProcessInfo.processInfo.environment["TALLY_CONFIG"], !path.isEmpty { return path }
        return nil
    }

    public static func load(path: String) throws -> LoadedConfiguration {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(issues: [ConfigIssue(path: path, line: nil, message: "cannot read the file (missing, unreadable or not UTF-8)")])
        }
        return try parse(text, path: path)
    }

    /// Parses and validates; throws with every error, returns warnings alongside the result.
    public static func parse(_ text: String, path: String? = nil) throws -> LoadedConfiguration {
        let (configuration, issues) = check(text, path: path)
        guard let configuration, !issues.contains(where: { $0.severity == .error }) else {
            throw ConfigError(issues: issues)
        }
        return LoadedConfiguration(configuration: configuration, text: text, warnings: issues)
    }

    /// Every issue in `text`, and the configuration when there was no error.
    public static func check(_ text: String, path: String? = nil) -> (TallyConfiguration?, [ConfigIssue]) {
        let root: TOMLTable
        do {
            root = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            return (nil, [ConfigIssue(path: path, line: error.source.begin.line,
                                      message: "TOML syntax: \(error.description) (column \(error.source.begin.column))")])
        } catch {
            return (nil, [ConfigIssue(path: path, line: nil, message: "TOML syntax: \(error)")])
        }
        var parser = ConfigParser(root: root, lines: SourceLines(text), path: path)
        let configuration = parser.parse()
        return (configuration, parser.issues)
    }
}

/// One pass over the parsed TOML, collecting issues instead of stopping at the first.
struct ConfigParser {
    let root: TOMLTable
    let lines: SourceLines
    let path: String?
    var issues: [ConfigIssue] = []
    var zone = TimeZone(identifier: "UTC")!

    init(root: TOMLTable, lines: SourceLines, path: String?) {
        self.root = root; self.lines = lines; self.path = path
    }

    static let sections = ["site", "benchmark", "gpu_class", "charge_rate", "alias", "user", "resource",
                           "fairshare", "share", "priority", "quota", "quota_group"]

    mutating func error(_ line: Int?, _ message: String) {
        issues.append(ConfigIssue(path: path, line: line, message: message))
    }

    mutating func warning(_ line: Int?, _ message: String) {
        issues.append(ConfigIssue(path: path, line: line, severity: .warning, message: message))
    }

    mutating func parse() -> TallyConfiguration {
        var configuration = TallyConfiguration(path: path)
        for key in root.keys where !Self.sections.contains(key) {
            error(lines.key(key, inTableAt: nil), "unknown section or key '\(key)' (known: \(Self.sections.joined(separator: ", ")))")
        }
        if let site = root["site"] {
            if let table = site.table {
                var reader = TableReader(table: table, line: lines.header("site"), name: "[site]")
                configuration.site = SiteSettings(name: reader.string("name", &self), cluster: reader.string("cluster", &self),
                                                  timeZone: reader.string("timezone", &self))
                if let name = configuration.site.timeZone {
                    if let zone = TimeZone(identifier: name) {
                        self.zone = zone
                    } else {
                        error(reader.line(for: "timezone", self), "[site] timezone '\(name)': not an IANA time zone name")
                    }
                }
                reader.finish(allowed: ["name", "cluster", "timezone"], &self)
            } else {
                error(lines.key("site", inTableAt: nil), "'site' must be a table ([site])")
            }
        }
        var kinds: [(String, Int?)] = []
        for (index, var reader) in entries("benchmark").enumerated() {
            let match = reader.match(&self)
            guard let score = reader.milli("score", &self, required: true) else { continue }
            if score <= 0 { error(reader.line(for: "score", self), "\(reader.name): score must be positive") }
            let kind = reader.string("type", &self) ?? "HS23"
            kinds.append((kind, reader.line))
            let validity = reader.validity(&self)
            configuration.benchmarks.append(BenchmarkRule(match: match, scoreMilli: score, validity: validity,
                                                          line: reader.line ?? index))
            reader.finish(allowed: ["cluster", "partition", "qos", "host", "score", "type", "valid_from", "valid_until"], &self)
        }
        if let first = kinds.first {
            configuration.benchmarkKind = first.0
            for (kind, line) in kinds where kind.lowercased() != first.0.lowercased() {
                error(line, "benchmark type '\(kind)' differs from '\(first.0)': reports add scores of one kind only")
            }
        }
        for (index, var reader) in entries("gpu_class").enumerated() {
            var patterns: [Glob] = []
            for text in reader.strings("models", &self, required: true) ?? [] {
                do { patterns.append(try Glob(text, caseInsensitive: true)) } catch {
                    self.error(reader.line(for: "models", self), "\(reader.name): \(error)")
                }
            }
            guard let name = reader.string("class", &self, required: true) else { continue }
            let factor = reader.milli("factor", &self) ?? 1000
            configuration.gpuClasses.append(GPUClassRule(
                patterns: patterns, className: name, factorMilli: factor, validity: reader.validity(&self),
                line: reader.line ?? index, acceleratorCores: reader.integer("cores", &self),
                benchmarkMilli: reader.milli("benchmark", &self), benchmarkType: reader.string("benchmark_type", &self)))
            reader.finish(allowed: ["models", "class", "factor", "valid_from", "valid_until", "cores", "benchmark",
                                    "benchmark_type"], &self)
        }
        for (index, var reader) in entries("charge_rate").enumerated() {
            let match = reader.match(&self)
            var classRates: [String: Int64] = [:]
            if let table = reader.table("gpu_class_hour", &self) {
                for (name, value) in table {
                    guard let number = value.double ?? value.int.map(Double.init) else {
                        error(reader.line(for: "gpu_class_hour", self), "\(reader.name): gpu_class_hour.\(name) must be a number")
                        continue
                    }
                    classRates[name] = Int64((number * 1000).rounded())
                }
            }
            let rate = ChargeRate(
                name: reader.string("name", &self) ?? "", match: match,
                perCoreHourMilli: reader.milli("core_hour", &self) ?? 0, perGPUHourMilli: reader.milli("gpu_hour", &self) ?? 0,
                perGPUClassHourMilli: classRates, perMemoryGiBHourMilli: reader.milli("mem_gb_hour", &self) ?? 0,
                minimumMilli: reader.milli("minimum", &self) ?? 0, validity: reader.validity(&self), line: reader.line ?? index)
            for (label, value) in [("core_hour", rate.perCoreHourMilli), ("gpu_hour", rate.perGPUHourMilli),
                                   ("mem_gb_hour", rate.perMemoryGiBHourMilli), ("minimum", rate.minimumMilli)] where value < 0 {
                error(reader.line(for: label, self), "\(reader.name): \(label) must not be negative")
            }
            configuration.chargeRates.append(rate)
            reader.finish(allowed: ["name", "cluster", "partition", "qos", "host", "core_hour", "gpu_hour", "gpu_class_hour",
                                    "mem_gb_hour", "minimum", "valid_from", "valid_until"], &self)
        }
        for (index, var reader) in entries("alias").enumerated() {
            let kindName = reader.string("kind", &self, required: true)
            let from = reader.string("from", &self, required: true)
            let to = reader.string("to", &self, required: true)
            let validity = reader.validity(&self)
            reader.finish(allowed: ["kind", "from", "to", "valid_from", "valid_until"], &self)
            guard let kindName, let from, let to else { continue }
            guard let kind = AliasKind(configName: kindName) else {
                error(reader.line(for: "kind", self), "\(reader.name): kind '\(kindName)' is not one of user, group, account, vo, project")
                continue
            }
            configuration.aliases.append(AliasRule(kind: kind, from: from, to: to, validity: validity, line: reader.line ?? index))
        }
        for var reader in entries("user") {
            guard let user = reader.string("user", &self, required: true) else { continue }
            if configuration.users[user] != nil { error(reader.line, "\(reader.name): user '\(user)' is listed twice") }
            configuration.users[user] = UserEntry(user: user, name: reader.string("name", &self),
                                                  email: reader.string("email", &self),
                                                  organisation: reader.string("organisation", &self) ?? reader.string("organization", &self))
            reader.finish(allowed: ["user", "name", "email", "organisation", "organization"], &self)
        }
        for (index, var reader) in entries("resource").enumerated() {
            guard let cluster = reader.string("cluster", &self, required: true) else { continue }
            var gpus: [String: Int64] = [:]
            if let table = reader.table("gpus", &self, quiet: true) {
                for (model, value) in table {
                    guard let count = value.int, count >= 0 else {
                        error(reader.line(for: "gpus", self), "\(reader.name): gpus.\(model) must be a whole number ≥ 0")
                        continue
                    }
                    gpus[model] = Int64(count)
                }
            } else if let count = reader.integer("gpus", &self) {
                gpus[reader.string("gpu_model", &self) ?? ""] = count
            }
            let cores = reader.integer("cores", &self, required: true) ?? 0
            if cores < 0 { error(reader.line(for: "cores", self), "\(reader.name): cores must not be negative") }
            configuration.resources.append(ResourceEntry(
                cluster: cluster, partition: reader.string("partition", &self), cores: cores, gpus: gpus,
                nodes: reader.integer("nodes", &self) ?? 0, validity: reader.validity(&self), line: reader.line ?? index))
            reader.finish(allowed: ["cluster", "partition", "cores", "gpus", "gpu_model", "nodes", "valid_from", "valid_until"], &self)
        }
        configuration.policy = parsePolicy()
        checkOverlaps(configuration)
        return configuration
    }

    /// `[fairshare]`, `[[share]]`, `[priority]`, `[quota]` and `[[quota_group]]`.
    mutating func parsePolicy() -> PolicySettings {
        var policy = PolicySettings()
        if var reader = section("fairshare") {
            if let value = reader.duration("half_life", &self) { policy.fairShare.halfLife = value }
            if let value = reader.milli("dampening", &self) {
                if value <= 0 { error(reader.line(for: "dampening", self), "[fairshare] dampening must be positive") }
                else { policy.fairShare.dampening = Double(value) / 1000 }
            }
            if let text = reader.string("usage", &self) {
                if let basis = FairShareSettings.UsageBasis(rawValue: text.lowercased()) { policy.fairShare.usage = basis }
                else { error(reader.line(for: "usage", self), "[fairshare] usage must be billing or cores") }
            }
            reader.finish(allowed: ["half_life", "dampening", "usage"], &self)
        }
        var seen: [String: Int?] = [:]
        for var reader in entries("share") {
            guard let account = reader.string("account", &self, required: true) else { continue }
            let user = reader.string("user", &self)
            var shares: Int64? = 1
            if let value = reader.table["shares"], value.string?.lowercased() == "parent" {
                _ = reader.string("shares", &self)
                shares = nil
            } else if let value = reader.integer("shares", &self) {
                if value < 0 { error(reader.line(for: "shares", self), "[[share]] shares must not be negative") }
                shares = value
            }
            let parent = reader.string("parent", &self)
            if user != nil, parent != nil {
                error(reader.line(for: "parent", self), "[[share]] a user association's parent is its account: drop 'parent'")
            }
            let key = "\(account)/\(user ?? "")"
            if let earlier = seen[key] {
                error(reader.line, "[[share]] \(user.map { "user \($0) in " } ?? "")account \(account) is listed twice (first at line \(earlier.map(String.init) ?? "?"))")
            }
            seen[key] = reader.line
            policy.shares.append(ShareEntry(account: account, user: user, parent: parent, shares: shares))
            reader.finish(allowed: ["account", "user", "parent", "shares"], &self)
        }
        if var reader = section("priority") {
            if let value = reader.duration("half_life", &self) { policy.priority.halfLife = value }
            if let value = reader.milli("default_factor", &self) { policy.priority.defaultFactor = Double(value) / 1000 }
            if let value = reader.milli("minimum", &self) { policy.priority.minimum = Double(value) / 1000 }
            for (key, target) in [("factors", \CondorPrioritySettings.factors), ("group_factors", \CondorPrioritySettings.groupFactors)] {
                guard let table = reader.table(key, &self) else { continue }
                for (name, value) in table {
                    guard let number = value.double ?? value.int.map(Double.init), number >= 1 else {
                        error(reader.line(for: key, self), "[priority] \(key).\(name) must be a number ≥ 1")
                        continue
                    }
                    policy.priority[keyPath: target][name] = number
                }
            }
            reader.finish(allowed: ["half_life", "default_factor", "minimum", "factors", "group_factors"], &self)
        }
        if var reader = section("quota") {
            if let value = reader.milli("pool", &self) {
                if value < 0 { error(reader.line(for: "pool", self), "[quota] pool must not be negative") }
                policy.quota.pool = Double(value) / 1000
            }
            if let value = reader.boolean("allow_oversubscription", &self) { policy.quota.allowOversubscription = value }
            if let value = reader.boolean("strict", &self) { policy.quota.strictEnforcement = value }
            reader.finish(allowed: ["pool", "allow_oversubscription", "strict"], &self)
        }
        var groupNames: [String: Int] = [:]
        for (index, var reader) in entries("quota_group").enumerated() {
            guard let name = reader.string("name", &self, required: true) else { continue }
            let quota = reader.milli("quota", &self).map { Double($0) / 1000 }
            let dynamic = reader.milli("dynamic", &self).map { Double($0) / 1000 }
            if let quota, quota < 0 { error(reader.line(for: "quota", self), "[[quota_group]] \(name): quota must not be negative") }
            if let dynamic, !(0...1).contains(dynamic) {
                error(reader.line(for: "dynamic", self), "[[quota_group]] \(name): dynamic is a fraction from 0 to 1")
            }
            if quota != nil, dynamic != nil {
                warning(reader.line, "[[quota_group]] \(name): both quota and dynamic given; the static quota wins (as in HTCondor)")
            }
            let accept = reader.boolean("accept_surplus", &self) ?? false
            let line = reader.line ?? index
            if let earlier = groupNames[name.lowercased()] {
                error(line, "[[quota_group]] \(name) is listed twice (first at line \(earlier))")
            }
            groupNames[name.lowercased()] = line
            policy.quotaGroups.append(QuotaGroupEntry(name: name, staticQuota: quota, dynamicQuota: dynamic, acceptSurplus: accept, line: line))
            reader.finish(allowed: ["name", "quota", "dynamic", "accept_surplus"], &self)
        }
        for group in policy.quotaGroups {
            let parts = group.name.lowercased().split(separator: ".")
            if parts.count > 1, groupNames[parts.dropLast().joined(separator: ".")] == nil {
                warning(group.line, "[[quota_group]] \(group.name): its parent group is not listed, so HTCondor ignores it (and so does Tally)")
            }
        }
        return policy
    }

    /// A single `[name]` table, or nil (with an error if it is something else).
    mutating func section(_ name: String) -> TableReader? {
        guard let value = root[name] else { return nil }
        guard let table = value.table else {
            error(lines.key(name, inTableAt: nil), "'\(name)' must be a table ([\(name)])")
            return nil
        }
        return TableReader(table: table, line: lines.header(name), name: "[\(name)]")
    }

    /// Readers for each `[[name]]` entry (an array of tables).
    mutating func entries(_ name: String) -> [TableReader] {
        guard let value = root[name] else { return [] }
        guard let array = value.array else {
            error(lines.header(name) ?? lines.key(name, inTableAt: nil), "'\(name)' must be an array of tables ([[\(name)]])")
            return []
        }
        var readers: [TableReader] = []
        for (index, element) in array.enumerated() {
            let line = lines.header(name, index: index)
            guard let table = element.table else {
                error(line, "[[\(name)]] entry \(index + 1) is not a table")
                continue
            }
            readers.append(TableReader(table: table, line: line, name: "[[\(name)]]"))
        }
        return readers
    }

    /// Two rules that would both apply to the same job at the same time, with nothing to choose between them.
    mutating func checkOverlaps(_ configuration: TallyConfiguration) {
        func pairs<Rule>(_ rules: [Rule], same: (Rule, Rule) -> Bool, validity: (Rule) -> Validity, line: (Rule) -> Int,
                         what: String) {
            for (index, rule) in rules.enumerated() {
                if validity(rule).isEmpty {
                    error(line(rule), "\(what): valid_until is not after valid_from")
                }
                for earlier in rules[..<index] where same(earlier, rule) && validity(earlier).overlaps(validity(rule)) {
                    error(line(rule), "\(what) overlaps the one at line \(line(earlier)) (same match, overlapping dates)")
                }
            }
        }
        pairs(configuration.benchmarks, same: { $0.match == $1.match }, validity: \.validity, line: \.line, what: "[[benchmark]]")
        pairs(configuration.chargeRates, same: { $0.match == $1.match }, validity: \.validity, line: \.line, what: "[[charge_rate]]")
        pairs(configuration.gpuClasses, same: { !Set($0.patterns.map(\.pattern)).isDisjoint(with: $1.patterns.map(\.pattern)) },
              validity: \.validity, line: \.line, what: "[[gpu_class]]")
        pairs(configuration.aliases, same: { $0.kind == $1.kind && $0.from == $1.from }, validity: \.validity, line: \.line,
              what: "[[alias]]")
        pairs(configuration.resources, same: { $0.cluster == $1.cluster && $0.partition == $1.partition },
              validity: \.validity, line: \.line, what: "[[resource]]")
        for alias in configuration.aliases {
            if configuration.aliases.contains(where: { $0.kind == alias.kind && $0.from == alias.to }) {
                warning(alias.line, "[[alias]] \(alias.from) → \(alias.to): '\(alias.to)' is itself aliased; aliases apply once, not in chains")
            }
        }
        let classes = Set(configuration.gpuClasses.map(\.className))
        for rate in configuration.chargeRates {
            for name in rate.perGPUClassHourMilli.keys.sorted() where !classes.contains(name) {
                warning(rate.line, "[[charge_rate]] gpu_class_hour names class '\(name)', which no [[gpu_class]] defines")
            }
        }
    }
}

/// Typed reads of one table's keys; remembers which keys were read so the rest can be named as unknown.
struct TableReader {
    let table: TOMLTable
    let line: Int?
    let name: String
    private var seen: Set<String> = []

    init(table: TOMLTable, line: Int?, name: String) {
        self.table = table; self.line = line; self.name = name
    }

    func line(for key: String, _ parser: ConfigParser) -> Int? { parser.lines.key(key, inTableAt: line) ?? line }

    private mutating func value(_ key: String, _ parser: inout ConfigParser, required: Bool) -> TOMLValueConvertible? {
        seen.insert(key)
        guard let value = table[key] else {
            if required { parser.error(line, "\(name): '\(key)' is required") }
            return nil
        }
        return value
    }

    mutating func string(_ key: String, _ parser: inout ConfigParser, required: Bool = false) -> String? {
        guard let value = value(key, &parser, required: required) else { return nil }
        guard let text = value.string else {
            parser.error(line(for: key, parser), "\(name): '\(key)' must be a string")
            return nil
        }
        return text
    }

    mutating func strings(_ key: String, _ parser: inout ConfigParser, required: Bool = false) -> [String]? {
        guard let value = value(key, &parser, required: required) else { return nil }
        if let text = value.string { return [text] }
        if let array = value.array {
            let texts = array.compactMap(\.string)
            if texts.count == array.count { return texts }
        }
        parser.error(line(for: key, parser), "\(name): '\(key)' must be a string or an array of strings")
        return nil
    }

    mutating func integer(_ key: String, _ parser: inout ConfigParser, required: Bool = false) -> Int64? {
        guard let value = value(key, &parser, required: required) else { return nil }
        guard let number = value.int else {
            parser.error(line(for: key, parser), "\(name): '\(key)' must be a whole number")
            return nil
        }
        return Int64(number)
    }

    mutating func boolean(_ key: String, _ parser: inout ConfigParser) -> Bool? {
        guard let value = value(key, &parser, required: false) else { return nil }
        guard let flag = value.bool else {
            parser.error(line(for: key, parser), "\(name): '\(key)' must be true or false")
            return nil
        }
        return flag
    }

    /// A duration in seconds: a number, or text such as `7d`, `12h`, `7-0` (Slurm's form).
    mutating func duration(_ key: String, _ parser: inout ConfigParser) -> Double? {
        guard let value = value(key, &parser, required: false) else { return nil }
        if let number = value.double ?? value.int.map(Double.init), number >= 0 { return number }
        if let text = value.string, let seconds = DurationText.seconds(text) { return seconds }
        parser.error(line(for: key, parser), "\(name): '\(key)' must be a duration (seconds, or 7d, 12h, 30m, 7-0)")
        return nil
    }

    /// A decimal as thousandths (scores, factors, rates).
    mutating func milli(_ key: String, _ parser: inout ConfigParser, required: Bool = false) -> Int64? {
        guard let value = value(key, &parser, required: required) else { return nil }
        guard let number = value.double ?? value.int.map(Double.init), number.isFinite else {
            parser.error(line(for: key, parser), "\(name): '\(key)' must be a number")
            return nil
        }
        return Int64((number * 1000).rounded())
    }

    mutating func table(_ key: String, _ parser: inout ConfigParser, quiet: Bool = false) -> TOMLTable? {
        guard let value = value(key, &parser, required: false) else { return nil }
        guard let table = value.table else {
            if !quiet { parser.error(line(for: key, parser), "\(name): '\(key)' must be a table") }
            return nil
        }
        return table
    }

    mutating func glob(_ key: String, _ parser: inout ConfigParser) -> Glob? {
        guard let text = string(key, &parser) else { return nil }
        do { return try Glob(text) } catch {
            parser.error(line(for: key, parser), "\(name): \(key): \(error)")
            return nil
        }
    }

    mutating func match(_ parser: inout ConfigParser) -> RuleMatch {
        RuleMatch(cluster: glob("cluster", &parser), partition: glob("partition", &parser), qos: glob("qos", &parser),
                  host: glob("host", &parser))
    }

    /// `valid_from`/`valid_until`: TOML dates and date-times, or strings; local ones are in the
    /// `[site]` time zone (UTC when unset).
    mutating func validity(_ parser: inout ConfigParser) -> Validity {
        Validity(from: instant("valid_from", &parser), until: instant("valid_until", &parser))
    }

    mutating func instant(_ key: String, _ parser: inout ConfigParser) -> Int64? {
        guard let value = value(key, &parser, required: false) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = parser.zone
        if let date = value.date {
            let components = DateComponents(year: date.year, month: date.month, day: date.day)
            if let instant = calendar.date(from: components) { return Int64(instant.timeIntervalSince1970) }
        } else if let dateTime = value.dateTime {
            var components = DateComponents(year: dateTime.date.year, month: dateTime.date.month, day: dateTime.date.day,
                                            hour: dateTime.time.hour, minute: dateTime.time.minute,
                                            second: dateTime.time.second)
            if let offset = dateTime.offset {
                calendar.timeZone = TimeZone(secondsFromGMT: offset.offset * 60) ?? parser.zone
                components.timeZone = calendar.timeZone
            }
            if let instant = calendar.date(from: components) { return Int64(instant.timeIntervalSince1970) }
        } else if let text = value.string, let instant = PeriodCalendar(timeZone: parser.zone).parse(text) {
            return instant
        }
        parser.error(line(for: key, parser), "\(name): '\(key)' must be a date (2024-03-01) or date-time (2024-03-01T08:00:00Z)")
        return nil
    }

    /// Names every key that was not read: a misspelt key must not be silently ignored.
    func finish(allowed: Set<String>, _ parser: inout ConfigParser) {
        for key in table.keys.sorted() where !seen.contains(key) {
            let known = allowed.sorted().joined(separator: ", ")
            parser.error(line(for: key, parser), "\(name): unknown key '\(key)' (known: \(known))")
        }
    }
}
