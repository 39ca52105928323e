import Foundation

/// Report granularity.
public enum PeriodKind: String, Sendable, Hashable, CaseIterable, Codable {
    case day, week, month, quarter, year, total
}

/// A half-open span of time `[start, end)` with the label reports print for it.
public struct Period: Sendable, Hashable, Codable {
    public var start: Int64
    public var end: Int64
    public var label: String

    public init(start: Int64, end: Int64, label: String) {
        self.start = start; self.end = end; self.label = label
    }

    public var range: Range<Int64> { start..<end }
}

/// Cuts a window into calendar periods in a given time zone (ISO weeks start on Monday).
public struct PeriodCalendar: Sendable {
    public let timeZone: TimeZone
    private let calendar: Calendar

    public init(timeZone: TimeZone) {
        self.timeZone = timeZone
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = timeZone
        calendar.firstWeekday = 2
        calendar.minimumDaysInFirstWeek = 4
        self.calendar = calendar
    }

    /// The periods of `kind` that cover `window`, the first and last clipped to it.
    public func periods(_ kind: PeriodKind, covering window: Range<Int64>) -> [Period] {
        guard !window.isEmpty else { return [] }
        if kind == .total {
            return [Period(start: window.lowerBound, end: window.upperBound,
                           label: "\(format(window.lowerBound))..\(format(window.upperBound))")]
        }
        var result: [Period] = []
        var cursor = periodStart(kind, containing: window.lowerBound)
        while cursor < window.upperBound {
            let next = advance(kind, from: cursor)
            result.append(Period(start: max(cursor, window.lowerBound), end: min(next, window.upperBound),
                                 label: label(kind, start: cursor)))
            cursor = next
        }
        return result
    }

    public func periodStart(_ kind: PeriodKind, containing instant: Int64) -> Int64 {
        let date = Date(timeIntervalSince1970: Double(instant))
        let parts = calendar.dateComponents([.year, .month, .day, .yearForWeekOfYear, .weekOfYear], from: date)
        var start = DateComponents()
        switch kind {
        case .day, .total:
            start.year = parts.year; start.month = parts.month; start.day = parts.day
        case .week:
            start.yearForWeekOfYear = parts.yearForWeekOfYear; start.weekOfYear = parts.weekOfYear
            start.weekday = 2
        case .month:
            start.year = parts.year; start.month = parts.month; start.day = 1
        case .quarter:
            start.year = parts.year; start.month = ((parts.month! - 1) / 3) * 3 + 1; start.day = 1
        case .year:
            start.year = parts.year; start.month = 1; start.day = 1
        }
        return Int64(calendar.date(from: start)!.timeIntervalSince1970)
    }

    /// The end (exclusive) of the period of `kind` that contains `instant`.
    public func periodEnd(_ kind: PeriodKind, containing instant: Int64) -> Int64 {
        advance(kind, from: periodStart(kind, containing: instant))
    }

    private func advance(_ kind: PeriodKind, from start: Int64) -> Int64 {
        let date = Date(timeIntervalSince1970: Double(start))
        let step: DateComponents = switch kind {
        case .day, .total: DateComponents(day: 1)
        case .week: DateComponents(day: 7)
        case .month: DateComponents(month: 1)
        case .quarter: DateComponents(month: 3)
        case .year: DateComponents(year: 1)
        }
        return Int64(calendar.date(byAdding: step, to: date)!.timeIntervalSince1970)
    }

    public func label(_ kind: PeriodKind, start: Int64) -> String {
        let parts = calendar.dateComponents([.year, .month, .day, .yearForWeekOfYear, .weekOfYear],
                                            from: Date(timeIntervalSince1970: Double(start)))
        let year = parts.year!, month = parts.month!, day = parts.day!
        switch kind {
        case .day, .total: return String(format: "%04d-%02d-%02d", year, month, day)
        case .week: return String(format: "%04d-W%02d", parts.yearForWeekOfYear!, parts.weekOfYear!)
        case .month: return String(format: "%04d-%02d", year, month)
        case .quarter: return "\(year)-Q\((month - 1) / 3 + 1)"
        case .year: return String(year)
        }
    }

    /// The zone's name as people write it (`UTC`, not Foundation's `GMT`).
    public var zoneName: String {
        timeZone.identifier == "GMT" ? "UTC" : timeZone.identifier
    }

    /// `2024-03-01` at midnight, else `2024-03-01T10:00:00`, in this calendar's zone.
    public func format(_ instant: Int64) -> String {
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second],
                                            from: Date(timeIntervalSince1970: Double(instant)))
        let date = String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
        if parts.hour == 0, parts.minute == 0, parts.second == 0 { return date }
        return date + String(format: "T%02d:%02d:%02d", parts.hour!, parts.minute!, parts.second!)
    }

    /// `2024-03-01T10:00:00` in this calendar's zone, always with the time. Offset plus civil
    /// arithmetic: listings format millions of these.
    public func formatDateTime(_ instant: Int64) -> String {
        let local = instant + Int64(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(instant))))
        let day = UTCDay.of(local)
        let (year, month, dayOfMonth) = UTCDay.toCivil(day)
        let seconds = local - day * UTCDay.seconds
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(year)-\(two(month))-\(two(dayOfMonth))T\(two(seconds / 3600)):\(two(seconds / 60 % 60)):\(two(seconds % 60))"
    }

    /// Parses `2024-03`, `2024-03-01`, `2024-03-01T10:00[:00]` (or with a space) in this zone.
    public func parse(_ text: String) -> Int64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let epoch = Int64(trimmed), trimmed.count > 8 { return epoch }
        let pieces = trimmed.split(whereSeparator: { $0 == "T" || $0 == " " })
        guard let datePart = pieces.first, pieces.count <= 2 else { return nil }
        let dateFields = datePart.split(separator: "-").map { Int($0) }
        guard (1...3).contains(dateFields.count), dateFields.allSatisfy({ $0 != nil }) else { return nil }
        var components = DateComponents()
        components.year = dateFields[0]
        components.month = dateFields.count > 1 ? dateFields[1] : 1
        components.day = dateFields.count > 2 ? dateFields[2] : 1
        if pieces.count == 2 {
            let timeFields = pieces[1].split(separator: ":").map { Int($0) }
            guard (2...3).contains(timeFields.count), timeFields.allSatisfy({ $0 != nil }) else { return nil }
            components.hour = timeFields[0]; components.minute = timeFields[1]
            components.second = timeFields.count > 2 ? timeFields[2] : 0
        }
        guard let month = components.month, (1...12).contains(month),
              let day = components.day, (1...31).contains(day),
              let date = calendar.date(from: components) else { return nil }
        return Int64(date.timeIntervalSince1970)
    }

    /// The instant just after the period named by `text` ends: `2024-03` → 2024-04-01.
    /// Used for inclusive `--to` dates.
    public func parseEnd(_ text: String) -> Int64? {
        guard let start = parse(text) else { return nil }
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.contains("T") || trimmed.contains(" ") || (Int64(trimmed) != nil && trimmed.count > 8) { return start }
        switch trimmed.split(separator: "-").count {
        case 1: return advance(.year, from: start)
        case 2: return advance(.month, from: start)
        default: return advance(.day, from: start)
        }
    }
}
