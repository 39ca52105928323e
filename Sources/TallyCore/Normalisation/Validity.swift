/// When a dated configuration rule applies: `[from, until)`, either end open.
public struct Validity: Sendable, Hashable, CustomStringConvertible {
    public var from: Int64?
    public var until: Int64?

    public static let always = Validity(from: nil, until: nil)

    public init(from: Int64? = nil, until: Int64? = nil) {
        self.from = from; self.until = until
    }

    public var isEmpty: Bool {
        if let from, let until { return until <= from }
        return false
    }

    public func contains(_ instant: Int64) -> Bool {
        if let from, instant < from { return false }
        if let until, instant >= until { return false }
        return true
    }

    public func overlaps(_ other: Validity) -> Bool {
        let low = max(from ?? .min, other.from ?? .min)
        let high = min(until ?? .max, other.until ?? .max)
        return low < high
    }

    /// The instants where this validity starts or stops applying.
    public var boundaries: [Int64] { [from, until].compactMap { $0 } }

    public var description: String {
        let calendar = PeriodCalendar(timeZone: .gmt)
        let low = from.map { calendar.formatDateTime($0) } ?? "always"
        let high = until.map { calendar.formatDateTime($0) } ?? "on"
        return "\(low) .. \(high)"
    }
}
