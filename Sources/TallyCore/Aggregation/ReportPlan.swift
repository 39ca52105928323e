/// Splits a report into what daily rollups can answer and what must be computed from raw records.
///
/// Rollups are per UTC day. A UTC day that lies wholly inside one period is read from rollups;
/// the parts of periods that cut a UTC day (a window that starts mid-day, or periods in a zone
/// other than UTC) are computed from the raw records overlapping them, to the second.
public struct ReportPlan: Sendable, Hashable {
    /// Whole UTC days `[firstDay, endDay)` that all belong to `period`.
    public struct DayRun: Sendable, Hashable {
        public var firstDay: Int64
        public var endDay: Int64
        public var period: Int
    }

    /// A span of time inside `period` that must be computed from raw records.
    public struct RawSpan: Sendable, Hashable {
        public var range: Range<Int64>
        public var period: Int
    }

    public let periods: [Period]
    public let dayRuns: [DayRun]
    public let rawSpans: [RawSpan]

    public init(periods: [Period]) {
        self.periods = periods
        var runs: [DayRun] = []
        var spans: [RawSpan] = []
        for (index, period) in periods.enumerated() {
            let firstWhole = ceilDiv(period.start, UTCDay.seconds)
            let endWhole = UTCDay.of(period.end)
            if firstWhole < endWhole {
                runs.append(DayRun(firstDay: firstWhole, endDay: endWhole, period: index))
                let head = period.start..<(firstWhole * UTCDay.seconds)
                let tail = (endWhole * UTCDay.seconds)..<period.end
                if !head.isEmpty { spans.append(RawSpan(range: head, period: index)) }
                if !tail.isEmpty { spans.append(RawSpan(range: tail, period: index)) }
            } else if period.start < period.end {
                spans.append(RawSpan(range: period.range, period: index))
            }
        }
        self.dayRuns = runs
        self.rawSpans = spans
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

    /// Which period a whole UTC day belongs to, if any.
    public func period(ofDay day: Int64) -> Int? {
        var low = 0, high = dayRuns.count - 1
        while low <= high {
            let mid = (low + high) / 2
            let run = dayRuns[mid]
            if day < run.firstDay { high = mid - 1 } else if day >= run.endDay { low = mid + 1 } else { return run.period }
        }
        return nil
    }
}

@inlinable
func ceilDiv(_ a: Int64, _ b: Int64) -> Int64 {
    let quotient = a / b
    return (a % b != 0 && a > 0) ? quotient + 1 : quotient
}
