import Foundation

/// How a sender waits after a failed attempt: exponential backoff with jitter, capped, and a
/// bound on attempts in a row without progress. `tally ship` and `tally ship apel` share it.
public struct RetryPolicy: Sendable {
    /// Attempts in a row before giving up (what was not acknowledged stays queued).
    public var attempts = 8
    public var base = 0.5
    public var cap = 60.0

    public init(attempts: Int = 8, base: Double = 0.5, cap: Double = 60.0) {
        self.attempts = attempts; self.base = base; self.cap = cap
    }

    /// Seconds to wait after failed attempt number `attempt` (1-based): a random point in the
    /// upper half of the capped exponential step, so senders restarted together spread out.
    public func delay(afterAttempt attempt: Int) -> Double {
        let ceiling = min(cap, base * pow(2, Double(attempt - 1)))
        return Double.random(in: (ceiling / 2)...ceiling)
    }

    public func sleep(afterAttempt attempt: Int) async throws {
        try await Task.sleep(for: .milliseconds(Int(delay(afterAttempt: attempt) * 1000)))
    }
}
