import TallyCore

/// PBS / Torque value formats (formats-and-policies §4.4) and resource strings.
enum PBSValues {
    /// `HH:MM:SS` with unbounded hours, `[[H:]M:]S[.ms]`, or plain seconds.
    static func duration(_ text: String) -> Int64? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard (1...3).contains(parts.count) else { return nil }
        var total: Double = 0
        for part in parts {
            guard let value = Double(part), value >= 0 else { return nil }
            total = total * 60 + value
        }
        return Int64(total.rounded())
    }

    /// `<n>[k|m|g|t|p][b|w]` (w = 8-byte words); a bare number is bytes. Decimals (`12.27M`, seen
    /// in real Torque logs) are accepted and rounded to a byte.
    static func size(_ text: String) -> Int64? {
        var digits = Substring(text.lowercased())
        var unit: Int64 = 1
        if digits.hasSuffix("w") { unit = 8; digits = digits.dropLast() } else if digits.hasSuffix("b") { digits = digits.dropLast() }
        let scales: [Character: Int64] = ["k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50]
        if let last = digits.last, let scale = scales[last] { unit *= scale; digits = digits.dropLast() }
        if let value = Int64(digits), value >= 0 {
            let (product, overflow) = value.multipliedReportingOverflow(by: unit)
            return overflow ? nil : product
        }
        guard let value = Double(digits), value >= 0, value * Double(unit) < 9e18 else { return nil }
        return Int64((value * Double(unit)).rounded())
    }

    /// `MM/DD/YYYY HH:MM:SS` as local wall-clock seconds since the epoch.
    static func localStamp(_ text: String) -> Int64? {
        let pieces = text.split(whereSeparator: { $0 == "/" || $0 == " " || $0 == ":" }).compactMap { Int64($0) }
        guard pieces.count == 6 else { return nil }
        return UTCDay.fromCivil(year: pieces[2], month: pieces[0], day: pieces[1]) * 86_400
            + pieces[3] * 3600 + pieces[4] * 60 + pieces[5]
    }

    /// `host/0*8+host2/0-3+host3/5`: distinct hosts in order, and CPUs (`*C` counts C, a range
    /// `a-b` counts b−a+1, a plain index 1).
    static func execHosts(_ text: String?) -> (names: [String], cpus: Int64?) {
        guard let text, !text.isEmpty else { return ([], nil) }
        var names: [String] = []
        var seen = Set<String>()
        var cpus: Int64 = 0
        for chunk in text.split(separator: "+") {
            let pieces = chunk.split(separator: "/", maxSplits: 1)
            let host = String(pieces[0])
            if seen.insert(host).inserted { names.append(host) }
            guard pieces.count == 2 else { cpus += 1; continue }
            let slot = pieces[1]
            if let star = slot.firstIndex(of: "*") {
                cpus += Int64(slot[slot.index(after: star)...]) ?? 1
            } else {
                for range in slot.split(separator: ",") {
                    let ends = range.split(separator: "-").compactMap { Int64($0) }
                    cpus += ends.count == 2 ? max(0, ends[1] - ends[0] + 1) : 1
                }
            }
        }
        return (names, cpus)
    }

    /// `(vn1:ncpus=4:mem=8388608kb:ngpus=1)+(vn2:ncpus=4)`: totals of ncpus, ngpus and mem.
    static func vnodeTotals(_ text: String?) -> (cpus: Int64?, gpus: Int64?, memory: Int64?) {
        guard let text, !text.isEmpty else { return (nil, nil, nil) }
        var cpus: Int64?, gpus: Int64?, memory: Int64?
        for item in text.split(whereSeparator: { $0 == ":" || $0 == "+" || $0 == "(" || $0 == ")" }) {
            let pair = item.split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { continue }
            switch pair[0] {
            case "ncpus": cpus = (cpus ?? 0) + (Int64(pair[1]) ?? 0)
            case "ngpus": gpus = (gpus ?? 0) + (Int64(pair[1]) ?? 0)
            case "mem": memory = (memory ?? 0) + (size(String(pair[1])) ?? 0)
            default: break
            }
        }
        return (cpus, gpus, memory)
    }

    /// Torque `nodes=N:ppn=P:gpus=G` (or `host:ppn=P+…`): N·P CPUs and N·G GPUs.
    static func nodeSpec(_ text: String?) -> (cpus: Int64?, gpus: Int64?) {
        guard let text, !text.isEmpty else { return (nil, nil) }
        var cpus: Int64 = 0, gpus: Int64 = 0
        var sawPPN = false, sawGPU = false
        for part in text.split(separator: "+") {
            let fields = part.split(separator: ":")
            let count = fields.first.flatMap { Int64($0) } ?? 1
            var ppn: Int64 = 1
            for field in fields.dropFirst() {
                let pair = field.split(separator: "=", maxSplits: 1)
                guard pair.count == 2, let value = Int64(pair[1]) else { continue }
                if pair[0] == "ppn" { ppn = value; sawPPN = true }
                // `gpus=` in Resource_List.nodes; some Torque sites write `gpu=` (XDMoD's fixture).
                if pair[0] == "gpus" || pair[0] == "gpu" { gpus += count * value; sawGPU = true }
            }
            cpus += count * ppn
        }
        return (sawPPN || Int64(text) != nil ? cpus : nil, sawGPU ? gpus : nil)
    }
}
