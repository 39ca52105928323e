import ArgumentParser
import NIOCore
import TallyCore
import TallyShip

/// What both senders (`ship records`, `ship apel`) take: connect timeout, attempts and waits,
/// and the daemon interval.
struct SendingOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Seconds to wait for a connection.", valueName: "seconds"))
    var connectTimeout = 10.0

    @Option(help: "Attempts in a row without an acknowledgement before giving up (what is not acknowledged stays queued).")
    var attempts = 8

    @Option(help: ArgumentHelp("Longest wait between attempts, in seconds.", valueName: "seconds"))
    var retryCap = 60.0

    @Option(help: ArgumentHelp("Run as a daemon: send, then wait this long (e.g. 30s, 10m, 1h), again and again.", valueName: "interval"))
    var every: String?

    func validate() throws {
        if let every, Self.seconds(every) == nil { throw ValidationError("--every takes a duration such as 30s, 10m or 1h") }
        guard attempts > 0 else { throw ValidationError("--attempts takes 1 or more") }
        guard connectTimeout > 0 else { throw ValidationError("--connect-timeout takes a number of seconds above 0") }
    }

    var retry: RetryPolicy { RetryPolicy(attempts: attempts, base: min(0.5, retryCap), cap: retryCap) }
    var connectTimeoutAmount: TimeAmount { .milliseconds(Int64(connectTimeout * 1000)) }
    /// Seconds between runs with --every; nil for one run.
    var interval: Double? { every.flatMap(Self.seconds) }

    static func seconds(_ text: String) -> Double? {
        DurationText.seconds(text).flatMap { $0 > 0 ? $0 : nil }
    }
}
