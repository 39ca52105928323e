import TallyCore

/// Parsers for the value formats sacct prints (formats-and-policies §1.4), on raw bytes.
///
/// Each returns `.absent` for the sentinels Slurm prints instead of a value (`Unknown`, `None`,
/// empty, `INVALID`, `UNLIMITED`, `Partition_limit`) and `nil` for text that is not a value of
/// that kind, so callers can tell "not set" from "malformed".
public enum SlurmValue<T: Sendable>: Sendable {
    case absent
    case value(T)

    public var value: T? {
        if case let .value(v) = self { return v }
        return nil
    }
}

extension SlurmValue: Equatable where T: Equatable {}

/// A memory size in bytes; `per` is set for pre-21.08 ReqMem (`c` per CPU, `n` per node).
public struct SlurmSize: Sendable, Equatable {
    public enum Per: Sendable, Equatable { case cpu, node }
    public var bytes: Int64
    public var per: Per?
}

/// `code:signal` as sacct prints ExitCode.
public struct ExitStatus: Sendable, Equatable {
    public var code: Int
    public var signal: Int
}

public typealias Bytes = UnsafeBufferPointer<UInt8>

extension UnsafeBufferPointer<UInt8> {
    @inlinable
    func equals(_ literal: StaticString) -> Bool {
        guard count == literal.utf8CodeUnitCount else { return false }
        let other = literal.utf8Start
        for index in 0..<count where self[index] != other[index] { return false }
        return true
    }

    @inlinable
    func contains(byte: UInt8) -> Bool {
        for value in self where value == byte { return true }
        return false
    }

    @inlinable
    func slice(_ from: Int, _ to: Int) -> Bytes { Bytes(rebasing: self[from..<to]) }

    /// Decodes as UTF-8, replacing invalid sequences.
    @inlinable
    var string: String { String(decoding: self, as: UTF8.self) }
}

public enum SlurmValues {
    @usableFromInline static let zero = UInt8(ascii: "0")

    /// True for the texts sacct prints when a value is not set.
    @inlinable
    public static func isSentinel(_ bytes: Bytes) -> Bool {
        bytes.isEmpty || bytes.equals("Unknown") || bytes.equals("None") || bytes.equals("INVALID")
            || bytes.equals("UNLIMITED") || bytes.equals("Partition_limit") || bytes.equals("NONE")
            || bytes.equals("None assigned") || bytes.equals("N/A")
    }

    /// A non-negative decimal integer (optionally signed).
    @inlinable
    public static func integer(_ bytes: Bytes) -> Int64? {
        guard !bytes.isEmpty else { return nil }
        var index = 0
        var negative = false
        if bytes[0] == UInt8(ascii: "-") { negative = true; index = 1 }
        guard index < bytes.count, bytes.count - index <= 18 else { return nil }
        var value: Int64 = 0
        while index < bytes.count {
            let digit = bytes[index] &- zero
            guard digit < 10 else { return nil }
            value = value * 10 + Int64(digit)
            index += 1
        }
        return negative ? -value : value
    }

    public static func integerField(_ bytes: Bytes) -> SlurmValue<Int64>? {
        if isSentinel(bytes) { return .absent }
        return integer(bytes).map { .value($0) }
    }

    /// `YYYY-MM-DDTHH:MM:SS` (or a space for `T`) on the local wall clock, or epoch seconds
    /// (`SLURM_TIME_FORMAT=%s`).
    public static func timestamp(_ bytes: Bytes, converter: inout LocalTimeConverter) -> SlurmValue<Int64>? {
        if isSentinel(bytes) { return .absent }
        if bytes.count == 19, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
           bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: " "),
           bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":") {
            guard let year = digits(bytes, 0, 4), let month = digits(bytes, 5, 2), let day = digits(bytes, 8, 2),
                  let hour = digits(bytes, 11, 2), let minute = digits(bytes, 14, 2),
                  let second = digits(bytes, 17, 2),
                  (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
                  hour < 24, minute < 60, second < 61 else { return nil }
            let local = UTCDay.fromCivil(year: year, month: month, day: day) * 86_400
                + hour * 3600 + minute * 60 + second
            return .value(converter.utc(fromLocal: local))
        }
        if let epoch = integer(bytes), epoch >= 0 { return .value(epoch) }
        if bytes.allSatisfy({ $0 == UInt8(ascii: "#") }) { return nil }
        return nil
    }

    @inlinable
    static func digits(_ bytes: Bytes, _ from: Int, _ count: Int) -> Int64? {
        var value: Int64 = 0
        for index in from..<(from + count) {
            let digit = bytes[index] &- zero
            guard digit < 10 else { return nil }
            value = value * 10 + Int64(digit)
        }
        return value
    }

    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// A duration in milliseconds: `[D-][HH:]MM:SS[.fff]`, `D-HH`, or plain minutes.
    public static func durationMillis(_ bytes: Bytes) -> SlurmValue<Int64>? {
        if isSentinel(bytes) { return .absent }
        var days: Int64 = 0
        var parts: [Int64] = []
        parts.reserveCapacity(3)
        var current: Int64 = 0
        var haveDigit = false
        var millis: Int64 = 0
        var index = 0
        var sawDash = false
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "-") {
                guard !sawDash, haveDigit, parts.isEmpty else { return nil }
                days = current; current = 0; haveDigit = false; sawDash = true
            } else if byte == UInt8(ascii: ":") {
                guard haveDigit, parts.count < 2 else { return nil }
                parts.append(current); current = 0; haveDigit = false
            } else if byte == UInt8(ascii: ".") {
                guard haveDigit else { return nil }
                var scale: Int64 = 100
                index += 1
                while index < bytes.count {
                    let digit = bytes[index] &- zero
                    guard digit < 10 else { return nil }
                    millis += Int64(digit) * scale
                    scale /= 10
                    index += 1
                }
                break
            } else {
                let digit = byte &- zero
                guard digit < 10, current < 100_000_000 else { return nil }
                current = current * 10 + Int64(digit)
                haveDigit = true
            }
            index += 1
        }
        guard haveDigit else { return nil }
        parts.append(current)
        let seconds: Int64
        switch (sawDash, parts.count) {
        case (true, 1): seconds = parts[0] * 3600                       // D-HH
        case (true, 2): seconds = parts[0] * 3600 + parts[1] * 60       // D-HH:MM
        case (true, 3), (false, 3): seconds = parts[0] * 3600 + parts[1] * 60 + parts[2]
        case (false, 2): seconds = parts[0] * 60 + parts[1]             // MM:SS
        case (false, 1): seconds = parts[0] * 60                        // minutes
        default: return nil
        }
        return .value((days * 86_400 + seconds) * 1000 + millis)
    }

    /// Whole seconds of a duration, rounded to the nearest second.
    public static func durationSeconds(_ bytes: Bytes) -> SlurmValue<Int64>? {
        durationMillis(bytes).map { value in
            switch value {
            case .absent: .absent
            case let .value(ms): .value((ms + 500) / 1000)
            }
        }
    }

    /// A size like `4000M`, `2.50G`, `3104K` or a bare number, scaled from `baseUnit` bytes.
    /// A trailing `c` or `n` (pre-21.08 ReqMem: per CPU / per node) is returned separately.
    public static func size(_ bytes: Bytes, baseUnit: Int64) -> SlurmValue<SlurmSize>? {
        if isSentinel(bytes) { return .absent }
        var end = bytes.count
        var per: SlurmSize.Per?
        if end > 0, bytes[end - 1] == UInt8(ascii: "c") || bytes[end - 1] == UInt8(ascii: "n") {
            per = bytes[end - 1] == UInt8(ascii: "c") ? .cpu : .node
            end -= 1
        }
        var multiplier: Int64 = baseUnit
        if end > 0 {
            let unit: Int64? = switch bytes[end - 1] | 0x20 {
            case UInt8(ascii: "k"): 1 << 10
            case UInt8(ascii: "m"): 1 << 20
            case UInt8(ascii: "g"): 1 << 30
            case UInt8(ascii: "t"): 1 << 40
            case UInt8(ascii: "p"): 1 << 50
            default: nil
            }
            if let unit { multiplier = unit; end -= 1 }
        }
        guard end > 0 else { return nil }
        var whole: Int64 = 0
        var fraction: Int64 = 0
        var fractionScale: Int64 = 1
        var inFraction = false
        for index in 0..<end {
            let byte = bytes[index]
            if byte == UInt8(ascii: "."), !inFraction { inFraction = true; continue }
            let digit = byte &- zero
            guard digit < 10 else { return nil }
            if inFraction {
                guard fractionScale < 1_000_000 else { continue }
                fraction = fraction * 10 + Int64(digit); fractionScale *= 10
            } else {
                guard whole < 1 << 40 else { return nil }
                whole = whole * 10 + Int64(digit)
            }
        }
        let (product, overflow) = whole.multipliedReportingOverflow(by: multiplier)
        guard !overflow else { return nil }
        let total = product + (fraction * multiplier) / fractionScale
        return .value(SlurmSize(bytes: total, per: per))
    }

    /// `code:signal`.
    public static func exitCode(_ bytes: Bytes) -> SlurmValue<ExitStatus>? {
        if isSentinel(bytes) { return .absent }
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")),
              let code = integer(bytes.slice(0, colon)),
              let signal = integer(bytes.slice(colon + 1, bytes.count)) else { return nil }
        return .value(ExitStatus(code: Int(code), signal: Int(signal)))
    }
}

/// GPUs in a legacy GRES column (`AllocGRES`, `ReqGRES`): comma-separated `name[:type][:count]`
/// items, each perhaps followed by `(IDX:0-1)`; `gpu` without a count is one GPU.
public struct LegacyGRES: Sendable, Equatable {
    public var count: Int64
    public var model: String?

    /// nil when a `gpu` item cannot be read (a count that is not a number).
    public static func parse(_ text: String) -> LegacyGRES? {
        var count: Int64 = 0
        var models: [String] = []
        for item in text.split(separator: ",") {
            let bare = item.split(separator: "(", maxSplits: 1).first.map(String.init) ?? ""
            var parts = bare.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard let name = parts.first, name == "gpu" || name == "gres/gpu" else { continue }
            parts.removeFirst()
            var itemCount: Int64 = 1
            if let last = parts.last, let number = Int64(last) {
                guard number >= 0 else { return nil }
                itemCount = number
                parts.removeLast()
            } else if parts.count > 1 {
                return nil  // gpu:type:<not a number>
            }
            if let type = parts.first, !type.isEmpty {
                guard type.allSatisfy({ $0.isLetter || $0.isNumber || "_-.".contains($0) }) else { return nil }
                if itemCount > 0 { models.append(type) }
            }
            count += itemCount
        }
        return LegacyGRES(count: count, model: models.isEmpty ? nil : Set(models).sorted().joined(separator: "+"))
    }
}

/// The parts of a TRES string (`billing=12,cpu=8,gres/gpu:a100=2,gres/gpu=2,mem=32G,node=1`) that
/// accounting uses.
public struct TRESAllocation: Sendable, Equatable {
    public var cpu: Int64?
    public var memoryBytes: Int64?
    public var nodes: Int64?
    public var billing: Int64?
    public var energy: Int64?
    /// Untyped `gres/gpu` count: the number of GPUs.
    public var gpus: Int64?
    /// Typed `gres/gpu:<model>` counts, which only split the untyped count by model.
    public var gpusByModel: [(model: String, count: Int64)] = []

    public init() {}

    public static func == (lhs: TRESAllocation, rhs: TRESAllocation) -> Bool {
        lhs.cpu == rhs.cpu && lhs.memoryBytes == rhs.memoryBytes && lhs.nodes == rhs.nodes
            && lhs.billing == rhs.billing && lhs.energy == rhs.energy && lhs.gpus == rhs.gpus
            && lhs.gpusByModel.map(\.model) == rhs.gpusByModel.map(\.model)
            && lhs.gpusByModel.map(\.count) == rhs.gpusByModel.map(\.count)
    }

    /// GPUs held: the untyped count when tracked, else the sum of typed counts.
    public var gpuCount: Int64 {
        gpus ?? gpusByModel.reduce(0) { $0 + $1.count }
    }

    /// The GPU model(s) held, `a100` or `a100+v100`; nil when untyped only.
    public var gpuModel: String? {
        let models = gpusByModel.filter { $0.count > 0 }.map(\.model)
        return models.isEmpty ? nil : models.sorted().joined(separator: "+")
    }

    /// Parses a TRES string; `nil` if an item is not `name=value`.
    public static func parse(_ bytes: Bytes) -> TRESAllocation? {
        var result = TRESAllocation()
        guard !bytes.isEmpty else { return result }
        var itemStart = 0
        var index = 0
        while index <= bytes.count {
            if index == bytes.count || bytes[index] == UInt8(ascii: ",") {
                let item = bytes.slice(itemStart, index)
                if !item.isEmpty {
                    guard let eq = item.firstIndex(of: UInt8(ascii: "=")) else { return nil }
                    let name = item.slice(0, eq)
                    let value = item.slice(eq + 1, item.count)
                    guard result.absorb(name: name, value: value) else { return nil }
                }
                itemStart = index + 1
            }
            index += 1
        }
        return result
    }

    private mutating func absorb(name: Bytes, value: Bytes) -> Bool {
        func count() -> Int64? {
            if value.equals("NONE") { return nil }
            return SlurmValues.integer(value)
        }
        if name.equals("cpu") {
            guard let v = count() else { return value.equals("NONE") }
            cpu = v
        } else if name.equals("mem") {
            if value.equals("NONE") { return true }
            guard let v = SlurmValues.size(value, baseUnit: 1 << 20)?.value else { return false }
            memoryBytes = v.bytes
        } else if name.equals("node") {
            guard let v = count() else { return value.equals("NONE") }
            nodes = v
        } else if name.equals("billing") {
            guard let v = count() else { return value.equals("NONE") }
            billing = v
        } else if name.equals("energy") {
            guard let v = count() else { return value.equals("NONE") }
            energy = v
        } else if name.equals("gres/gpu") {
            guard let v = count() else { return value.equals("NONE") }
            gpus = v
        } else if name.count > 9, name.slice(0, 9).equals("gres/gpu:") {
            guard let v = count() else { return value.equals("NONE") }
            gpusByModel.append((name.slice(9, name.count).string, v))
        }
        return true
    }
}
