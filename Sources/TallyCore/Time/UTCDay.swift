/// Day numbers since 1970-01-01 in UTC, and civil-date arithmetic without Foundation.
public enum UTCDay {
    public static let seconds: Int64 = 86_400

    /// The UTC day containing `instant` (floor division, correct before 1970 too).
    @inlinable
    public static func of(_ instant: Int64) -> Int64 {
        instant >= 0 ? instant / seconds : -((-instant + seconds - 1) / seconds)
    }

    @inlinable
    public static func start(_ day: Int64) -> Int64 { day * seconds }

    /// Days since the epoch of a proleptic Gregorian date (Howard Hinnant's algorithm).
    @inlinable
    public static func fromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The civil date of a day number.
    public static func toCivil(_ dayNumber: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = dayNumber + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

/// Calendar months in UTC numbered `year × 12 + month − 1`, the key of monthly rollups.
public enum UTCMonth {
    public static func of(day: Int64) -> Int64 {
        let civil = UTCDay.toCivil(day)
        return civil.year * 12 + civil.month - 1
    }

    /// The UTC day number on which `month` starts.
    public static func firstDay(_ month: Int64) -> Int64 {
        let year = month >= 0 ? month / 12 : -((-month + 11) / 12)
        return UTCDay.fromCivil(year: year, month: month - year * 12 + 1, day: 1)
    }
}
