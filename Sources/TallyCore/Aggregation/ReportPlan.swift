/// Splits a report into what rollups can answer and what must be computed from raw records.
///
/// Rollups are per UTC month and per UTC day. Each period's ends are moved to the nearest UTC
/// month boundary (when less than a day away) or UTC day boundary; the aligned span is read from
/// monthly and daily rollups, and the slivers between the real and the aligned ends are computed
/// from raw records and added or subtracted. Every figure is additive over time (usage seconds,
/// the CPU split and the counted instant all partition exactly), so the result is exact. A month
/// in Berlin is then one monthly rollup read plus two one-hour raw slivers, not thirty days.
public struct ReportPlan: Sendable, Hashable {
    /// Whole rollup units `[first, end)` (days or months) that all belong to `period`.
    public struct Run: Sendable, Hashable {
        public var first: Int64
        public var end: Int64
        public var period: Int
    }

    /// A span of time whose raw usage is added to (`sign` 1) or taken from (`sign` −1) `period`.
    public struct RawSpan: Sendable, Hashable {
        public var range: Range<Int64>
        public var period: Int
        public var sign: Int64 = 1
    }

    public let periods: [Period]
    public private(set) var monthRuns: [Run] = []
    public private(set) var dayRuns: [Run] = []
    public private(set) var rawSpans: [RawSpan] = []

    public init(periods: [Period]) {
        self.periods = periods
        for (index, period) in periods.enumerated() where period.start < period.end {
            let start = Self.align(period.start)
            let end = Self.align(period.end)
            guard start < end else {
                rawSpans.append(RawSpan(range: period.range, period: index))
                continue
            }
            cover(start..<end, period: index)
            if start > period.start { rawSpans.append(RawSpan(range: period.start..<start, period: index)) }
            if start < period.start { rawSpans.append(RawSpan(range: start..<period.start, period: index, sign: -1)) }
            if end < period.end { rawSpans.append(RawSpan(range: end..<period.end, period: index)) }
            if end > period.end { rawSpans.append(RawSpan(range: period.end..<end, period: index, sign: -1)) }
        }
        monthRuns.sort { $0.first < $1.first }
        dayRuns.sort { $0.first < $1.first }
    }

    /// A plan that reads every period from raw records (for keys the rollups do not keep).
    public init(rawOnly periods: [Period]) {
        self.periods = periods
        for (index, period) in periods.enumerated() where period.start < period.end {
            rawSpans.append(RawSpan(range: period.range, period: index))
        }
    }

    /// The nearest UTC month boundary less than a day from `instant` (local month starts are at
    /// most 14 hours from UTC ones), else the nearest UTC midnight.
    static func align(_ instant: Int64) -> Int64 {
        let day = UTCDay.of(instant + UTCDay.seconds / 2)  // nearest midnight
        let month = UTCMonth.of(day: day)
        for candidate in [month, month + 1] {
            let boundary = UTCMonth.firstDay(candidate) * UTCDay.seconds
            if abs(boundary - instant) < UTCDay.seconds { return boundary }
        }
        return day * UTCDay.seconds
    }

    /// Covers an aligned span (UTC midnights at both ends) with whole months and whole days.
    private mutating func cover(_ span: Range<Int64>, period: Int) {
        var firstMonth = UTCMonth.of(day: UTCDay.of(span.lowerBound))
        if UTCMonth.firstDay(firstMonth) * UTCDay.seconds < span.lowerBound { firstMonth += 1 }
        var endMonth = firstMonth
        while UTCMonth.firstDay(endMonth + 1) * UTCDay.seconds <= span.upperBound { endMonth += 1 }
        if endMonth > firstMonth {
            monthRuns.append(Run(first: firstMonth, end: endMonth, period: period))
            coverWithDays(span.lowerBound..<(UTCMonth.firstDay(firstMonth) * UTCDay.seconds), period: period)
            coverWithDays((UTCMonth.firstDay(endMonth) * UTCDay.seconds)..<span.upperBound, period: period)
        } else {
            coverWithDays(span, period: period)
        }
    }

    private mutating func coverWithDays(_ segment: Range<Int64>, period: Int) {
        guard !segment.isEmpty else { return }
        let firstWhole = ceilDiv(segment.lowerBound, UTCDay.seconds)
        let endWhole = UTCDay.of(segment.upperBound)
        if firstWhole < endWhole {
            dayRuns.append(Run(first: firstWhole, end: endWhole, period: period))
            let head = segment.lowerBound..<(firstWhole * UTCDay.seconds)
            let tail = (endWhole * UTCDay.seconds)..<segment.upperBound
            if !head.isEmpty { rawSpans.append(RawSpan(range: head, period: period)) }
            if !tail.isEmpty { rawSpans.append(RawSpan(range: tail, period: period)) }
        } else {
            rawSpans.append(RawSpan(range: segment, period: period))
        }
    }

    /// Raw spans merged into contiguous or overlapping ranges, each with the spans it holds: one
    /// store query each.
    public var rawGroups: [(range: Range<Int64>, spans: [RawSpan])] {
        var groups: [(range: Range<Int64>, spans: [RawSpan])] = []
        for span in rawSpans.sorted(by: { $0.range.lowerBound < $1.range.lowerBound }) {
            if let last = groups.last, last.range.upperBound >= span.range.lowerBound {
                groups[groups.count - 1] = (last.range.lowerBound..<max(last.range.upperBound, span.range.upperBound),
                                            last.spans + [span])
            } else {
                groups.append((span.range, [span]))
            }
        }
        return groups
    }

    /// Which period a whole UTC day read from daily rollups belongs to, if any.
    public func period(ofDay day: Int64) -> Int? { Self.lookup(day, in: dayRuns) }

    /// Which period a whole UTC month read from monthly rollups belongs to, if any.
    public func period(ofMonth month: Int64) -> Int? { Self.lookup(month, in: monthRuns) }

    private static func lookup(_ unit: Int64, in runs: [Run]) -> Int? {
        // Runs are sorted by `first` and never overlap (aligned periods do not).
        var low = 0, high = runs.count - 1
        while low <= high {
            let mid = (low + high) / 2
            let run = runs[mid]
            if unit < run.first { high = mid - 1 } else if unit >= run.end { low = mid + 1 } else { return run.period }
        }
        return nil
    }
}

@inlinable
func ceilDiv(_ a: Int64, _ b: Int64) -> Int64 {
    let quotient = a / b
    return (a % b != 0 && a > 0) ? quotient + 1 : quotient
}
