import Foundation
import Testing
@testable import TallyCore

@Suite struct UsageSplitTests {
    let utc = PeriodCalendar(timeZone: TimeZone(identifier: "UTC")!)

    func facts(start: String, end: String, cores: Int64, cpu: Int64 = 0, gpus: Int64 = 0) -> UsageFacts {
        let s = utc.parse(start)!, e = utc.parse(end)!
        return UsageFacts(start: s, wallSeconds: e - s, end: e, submit: s, state: .completed,
                          cores: cores, gpus: gpus, memoryMiB: 1024, cpuSeconds: cpu)
    }

    @Test func jobAcrossMonthEndSplitsToTheSecond() {
        let job = facts(start: "2024-01-31T23:00:00", end: "2024-02-01T01:00:00", cores: 1)
        let months = utc.periods(.month, covering: utc.parse("2024-01-01")!..<utc.parse("2024-03-01")!)
        let january = job.amounts(in: months[0].range)
        let february = job.amounts(in: months[1].range)
        #expect(january.wallSeconds == 3600)
        #expect(february.wallSeconds == 3600)
        // Counted once, in the month it ended.
        #expect(january.jobs == 0)
        #expect(february.jobs == 1)
    }

    @Test func sreportWorkedExample() {
        // formats-and-policies §1.9: 16 CPUs, 2024-01-31T23:30 → 2024-02-01T01:15:
        // January 480 CPU-minutes, February 1,200.
        let job = facts(start: "2024-01-31T23:30:00", end: "2024-02-01T01:15:00", cores: 16)
        let boundary = utc.parse("2024-02-01")!
        #expect(job.amounts(in: 0..<boundary).coreSeconds == 480 * 60)
        #expect(job.amounts(in: boundary..<(boundary + 86_400)).coreSeconds == 1_200 * 60)
    }

    @Test func cpuTimeSharesAlwaysAddUp() {
        // 7,777 CPU seconds over an awkward 3 days: any partition of time must sum exactly.
        let job = facts(start: "2024-05-01T07:13:11", end: "2024-05-04T02:01:59", cores: 3, cpu: 7_777, gpus: 2)
        for step: Int64 in [3600, 86_400, 7 * 3_601, 12_345] {
            var total = UsageAmounts()
            var cursor = utc.parse("2024-04-30")!
            while cursor < utc.parse("2024-05-06")! {
                total += job.amounts(in: cursor..<(cursor + step))
                cursor += step
            }
            #expect(total.cpuSeconds == 7_777)
            #expect(total.wallSeconds == job.wallSeconds)
            #expect(total.coreSeconds == 3 * job.wallSeconds)
            #expect(total.gpuSeconds == 2 * job.wallSeconds)
            #expect(total.jobs == 1)
            #expect(total.coreSecondsWithCPU == total.coreSeconds)
        }
    }

    @Test func unknownCPUTimeIsNotZeroEfficiency() {
        var job = facts(start: "2024-05-01T00:00:00", end: "2024-05-01T10:00:00", cores: 2)
        job.cpuSeconds = nil
        let amounts = job.amounts(in: 0..<Int64.max)
        #expect(amounts.coreSeconds == 72_000)
        #expect(amounts.coreSecondsWithCPU == 0)
        #expect(Metric.efficiency.value(amounts, unit: .hours) == nil)
        #expect(Metric.cpuHours.value(amounts, unit: .hours) == nil)
        var known = amounts
        known += facts(start: "2024-05-02T00:00:00", end: "2024-05-02T01:00:00", cores: 1, cpu: 1800).amounts(in: 0..<Int64.max)
        // 50 % over the one job that reported CPU time, not 1800 / 75,600.
        #expect(Metric.efficiency.value(known, unit: .hours) == 50)
    }

    @Test func neverStartedJobCountsButUsesNothing() {
        let end = utc.parse("2024-05-01T10:00:00")!
        let job = UsageFacts(start: nil, wallSeconds: 0, end: end, submit: end - 60, state: .cancelled,
                             cores: 4, gpus: 0, memoryMiB: 0, cpuSeconds: 0)
        let amounts = job.amounts(in: (end - 3600)..<(end + 3600))
        #expect(amounts.jobs == 1)
        #expect(amounts.coreSeconds == 0)
        #expect(job.usageInterval == nil)
        let pending = UsageFacts(start: nil, wallSeconds: 0, end: nil, submit: end, state: .pending,
                                 cores: 4, gpus: 0, memoryMiB: 0, cpuSeconds: 0)
        #expect(pending.countInstant == nil)
        #expect(pending.touchedDays == nil)
    }

    @Test func runningJobIsChargedUpToWhenItWasLastSeen() {
        let start = utc.parse("2024-05-01T10:00:00")!
        let job = UsageFacts(start: start, wallSeconds: 5400, end: nil, submit: start, state: .running,
                             cores: 2, gpus: 0, memoryMiB: 0, cpuSeconds: 0)
        #expect(job.usageInterval == start..<(start + 5400))
        #expect(job.amounts(in: start..<(start + 86_400)).coreSeconds == 10_800)
    }
}

@Suite struct ReportPlanTests {
    @Test func utcMonthsComeWhollyFromRollups() {
        let utc = PeriodCalendar(timeZone: TimeZone(identifier: "UTC")!)
        let plan = ReportPlan(periods: utc.periods(.month, covering: utc.parse("2024-01-01")!..<utc.parse("2024-04-01")!))
        #expect(plan.rawSpans.isEmpty)
        #expect(plan.dayRuns.isEmpty)
        #expect(plan.monthRuns.count == 3)
        #expect(plan.period(ofMonth: UTCMonth.of(day: UTCDay.of(utc.parse("2024-02-29")!))) == 1)
        #expect(plan.period(ofMonth: UTCMonth.of(day: UTCDay.of(utc.parse("2024-04-01")!))) == nil)
        // Mid-month window edges: whole days at the edges, whole months between.
        let partial = ReportPlan(periods: utc.periods(.total, covering: utc.parse("2024-01-20")!..<utc.parse("2024-04-03T06:00")!))
        #expect(partial.monthRuns.map { $0.end - $0.first } == [2])
        #expect(partial.dayRuns.map { $0.end - $0.first } == [12, 2])
        #expect(partial.rawSpans.map(\.range.count) == [6 * 3600])
    }

    @Test func periodsThatCutUTCDaysAreComputedFromRawRecords() {
        let kolkata = PeriodCalendar(timeZone: TimeZone(identifier: "Asia/Kolkata")!)
        let plan = ReportPlan(periods: kolkata.periods(.month, covering: kolkata.parse("2024-01-01")!..<kolkata.parse("2024-03-01")!))
        // Each month starts and ends at 18:30 UTC: read as the UTC month, plus the 5½ hours
        // before it, minus the 5½ hours before the next.
        #expect(plan.monthRuns.count == 2)
        #expect(plan.dayRuns.isEmpty)
        #expect(plan.rawSpans.count == 4)
        #expect(plan.rawSpans.map(\.sign).sorted() == [-1, -1, 1, 1])
        #expect(plan.rawSpans.allSatisfy { $0.range.count < 86_400 })
        #expect(plan.rawGroups.count == 3)
        let midDay = PeriodCalendar(timeZone: TimeZone(identifier: "UTC")!)
        let window = midDay.parse("2024-01-01T12:00")!..<midDay.parse("2024-01-03")!
        let dayPlan = ReportPlan(periods: midDay.periods(.day, covering: window))
        // The first day starts at noon, half a day from a month start: read as the whole UTC day
        // minus the morning.
        #expect(dayPlan.rawSpans.map(\.range) == [midDay.parse("2024-01-01")!..<window.lowerBound])
        #expect(dayPlan.rawSpans.map(\.sign) == [-1])
        #expect(dayPlan.dayRuns.count == 2)
    }
}
