import TallyCore

/// Where an allocation stands, in one word a person sees at a glance (the raw value is its CSS class).
enum AllocationStatus: String, CaseIterable, Hashable, Sendable {
    case exhausted
    /// Projected to run out before it ends, at the current burn rate.
    case atRisk = "at-risk"
    case onTrack = "on-track"
    case ended

    init(_ burn: BurnDown, at now: Int64) {
        if burn.remaining <= 0 {
            self = .exhausted
        } else if now >= burn.allocation.end {
            self = .ended
        } else if burn.projectedExhaustion != nil {
            self = .atRisk
        } else {
            self = .onTrack
        }
    }

    var label: String {
        switch self {
        case .exhausted: "exhausted"
        case .atRisk: "runs out early"
        case .onTrack: "on track"
        case .ended: "ended"
        }
    }
}
