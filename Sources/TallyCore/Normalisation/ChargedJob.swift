/// A job together with the rate plan of its names: its usage in any window, normalised and
/// split exactly where rules change.
public struct ChargedJob: Sendable {
    public let facts: UsageFacts
    public let plan: RatePlan

    public init(facts: UsageFacts, plan: RatePlan) {
        self.facts = facts; self.plan = plan
    }

    /// Calls `body` once per plan piece with this job's amounts inside `window` (nothing when zero).
    public func forEachShare(in window: Range<Int64>, _ body: (_ piece: Int, _ amounts: UsageAmounts) throws -> Void) rethrows {
        guard let span = facts.touchSpan else { return }
        let low = max(window.lowerBound, span.lowerBound)
        let high = min(window.upperBound, span.upperBound)
        guard low < high else { return }
        if plan.pieces.count == 1 {
            let amounts = share(low..<high, piece: 0)
            if !amounts.isZero { try body(0, amounts) }
            return
        }
        var index = plan.pieceIndex(at: low)
        while index < plan.pieces.count {
            let range = plan.range(ofPiece: index)
            if range.lowerBound >= high { break }
            let amounts = share(max(low, range.lowerBound)..<min(high, range.upperBound), piece: index)
            if !amounts.isZero { try body(index, amounts) }
            index += 1
        }
    }

    /// Raw amounts in `range` (inside one piece) plus what the piece's rules make of them.
    private func share(_ range: Range<Int64>, piece index: Int) -> UsageAmounts {
        var amounts = facts.amounts(in: range)
        let factors = plan.pieces[index].factors
        let score = factors.scoreMilli
        if score > 0 {
            amounts.benchmarkMilli = amounts.coreSeconds * score
            amounts.coreSecondsBenchmarked = amounts.coreSeconds
        }
        amounts.gpuWeightedMilli = amounts.gpuSeconds * factors.gpuFactorMilli
        if factors.charged {
            amounts.chargeMilli = factors.charge(amounts)
            if amounts.jobs == 1, factors.minimumMilli > 0, facts.usageInterval != nil {
                // The minimum is per job: topped up where the job is counted.
                let minimum = factors.minimumMilli * 3600
                let total = totalCharge()
                if total < minimum { amounts.chargeMilli += minimum - total }
            }
        }
        return amounts
    }

    /// The job's whole charge before any minimum, over its whole usage interval.
    public func totalCharge() -> Int64 {
        guard let interval = facts.usageInterval else { return 0 }
        var total: Int64 = 0
        var index = plan.pieceIndex(at: interval.lowerBound)
        while index < plan.pieces.count {
            let range = plan.range(ofPiece: index)
            if range.lowerBound >= interval.upperBound { break }
            let factors = plan.pieces[index].factors
            if factors.charged {
                let part = facts.amounts(in: max(interval.lowerBound, range.lowerBound)..<min(interval.upperBound, range.upperBound))
                total += factors.charge(part)
            }
            index += 1
        }
        return total
    }
}
