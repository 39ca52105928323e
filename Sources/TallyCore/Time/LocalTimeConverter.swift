import Foundation

/// Turns wall-clock times printed without a zone ("2024-03-01T10:00:00" in the scheduler host's
/// zone) into UTC epoch seconds. Offsets are cached per local hour, so a log of millions of lines
/// asks Foundation once per hour it covers.
///
/// Ambiguous local times (the repeated hour when DST ends) resolve to the later occurrence;
/// times inside a DST gap are shifted forward by the gap. Sources that can print epochs
/// (`SLURM_TIME_FORMAT=%s`) avoid both.
public struct LocalTimeConverter: Sendable {
    public let timeZone: TimeZone
    private let isUTC: Bool
    private var offsetByLocalHour: [Int64: Int64] = [:]

    public init(timeZone: TimeZone) {
        self.timeZone = timeZone
        self.isUTC = timeZone.secondsFromGMT() == 0 && timeZone.nextDaylightSavingTimeTransition == nil
            && (timeZone.identifier == "UTC" || timeZone.identifier == "GMT" || timeZone.identifier == "Etc/UTC")
    }

    /// `localSeconds` counts seconds since 1970-01-01T00:00:00 *on the local wall clock*.
    public mutating func utc(fromLocal localSeconds: Int64) -> Int64 {
        if isUTC { return localSeconds }
        let localHour = localSeconds >= 0 ? localSeconds / 3600 : -((-localSeconds + 3599) / 3600)
        if let offset = offsetByLocalHour[localHour] { return localSeconds - offset }
        let offset = offsetFor(local: localSeconds)
        let hourStart = localHour * 3600
        if offsetFor(local: hourStart) == offset, offsetFor(local: hourStart + 3599) == offset {
            offsetByLocalHour[localHour] = offset
        }
        return localSeconds - offset
    }

    private func offsetFor(local: Int64) -> Int64 {
        let guess = local - Int64(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(local))))
        return Int64(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(guess))))
    }
}
