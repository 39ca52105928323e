/// Splits a report into what rollups can answer and what must be computed from raw records.
///
/// Rollups are per UTC month and per UTC day. A whole UTC month inside one period is read from
/// monthly rollups, a whole UTC day from daily ones; the parts of periods that cut a UTC day (a
/// window that starts mid-day, or periods in a zone other than UTC) are computed from the raw
/// records overlapping them, to the second.
public struct ReportPlan: Sendable, Hashable {
    /// Whole rollup units `[first, end)` (days or months) that all belong to `period`.
    public struct Run: Sendable, Hashable {
        public var first: Int64
        public var end: Int64
        public var period: Int
    }

    /// A span of time inside `period` that must be computed from raw records.
    public struct RawSpan: Sendable, Hashable {
        public var range: Range<Int64>
        public var period: Int
    }

    public let periods: [Period]
    public private(set) var monthRuns: [Run] = []
    public private(set) var dayRuns: [Run] = []
    public private(set) var rawSpans: [RawSpan] = []

    public init(periods: [Period]) {
        self.periods = periods
        for (index, period) in periods.enumerated() where period.start < period.end {
            var firstMonth = UTCMonth.of(day: UTCDay.of(period.start))
            if UTCMonth.firstDay(firstMonth) * UTCDay.seconds < period.start { firstMonth += 1 }
            var endMonth = firstMonth
            while UTCMonth.firstDay(endMonth + 1) * UTCDay.seconds <= period.end { endMonth += 1 }
            if endMonth > firstMonth {
                monthRuns.append(Run(first: firstMonth, end: endMonth, period: index))
                coverWithDays(period.start..<(UTCMonth.firstDay(firstMonth) * UTCDay.seconds), period: index)
                coverWithDays((UTCMonth.firstDay(endMonth) * UTCDay.seconds)..<period.end, period: index)
            } else {
                coverWithDays(period.range, period: index)
            }
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

    /// Raw spans merged into contiguous ranges, each with the spans it holds: one store query each.
    public var rawGroups: [(range: Range<Int64>, spans: [RawSpan])] {
        var groups: [(range: Range<Int64>, spans: [RawSpan])] = []
        for span in rawSpans.sorted(by: { $0.range.lowerBound < $1.range.lowerBound }) {
            if let last = groups.last, last.range.upperBound == span.range.lowerBound {
                groups[groups.count - 1] = (last.range.lowerBound..<span.range.upperBound, last.spans + [span])
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
        // Runs are built in period order, and periods do not overlap: sorted by `first`.
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
