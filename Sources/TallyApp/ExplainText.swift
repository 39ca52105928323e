import TallyCore

/// `tally jobs --explain`: for one job, which rules applied and how each figure was computed.
public enum ExplainText {
    public static func render(_ record: UsageRecord, configuration: TallyConfiguration, calendar: PeriodCalendar) -> String {
        let subject = record.subject
        let plan = Normaliser(configuration).plan(for: subject)
        let job = ChargedJob(facts: record.usage, plan: plan)
        var out = "job \(record.jobID) on \(record.cluster) (site \(record.site)), from \(record.origin)\n"
        out += "  user \(subject.user.orDash), group \(subject.group.orDash), account \(subject.account.orDash), "
            + "partition \(subject.partition.orDash), qos \(subject.qos.orDash), first host \(subject.host.orDash)\n"
        let facts = record.usage
        if let interval = facts.usageInterval {
            out += "  ran \(calendar.formatDateTime(interval.lowerBound)) .. \(calendar.formatDateTime(interval.upperBound)) "
                + "(\(calendar.zoneName)): \(facts.wallSeconds) s × \(facts.cores) cores = \(facts.wallSeconds * facts.cores) core-seconds"
            if facts.gpus > 0 { out += ", × \(facts.gpus) GPUs (\(subject.gpuModel.orDash)) = \(facts.wallSeconds * facts.gpus) GPU-seconds" }
            out += "\n"
        } else {
            out += "  did not run (no usage)\n"
        }
        out += "  job size \(JobBuckets.sizeLabel(JobBuckets.sizeIndex(cores: facts.cores))), "
            + "wall bucket \(JobBuckets.wallLabel(JobBuckets.wallIndex(seconds: facts.wallSeconds)))"
        if let wait = facts.waitSeconds { out += ", waited \(wait) s (from \(record.eligible != nil ? "eligible" : "submit"))" }
        out += "\n"
        if configuration == .empty || (configuration.benchmarks.isEmpty && configuration.gpuClasses.isEmpty
            && configuration.chargeRates.isEmpty && configuration.aliases.isEmpty && configuration.users.isEmpty) {
            out += "  no configuration applies (no --config, $TALLY_CONFIG or stored configuration)\n"
        }
        guard let span = facts.touchSpan else { return out }
        var total = UsageAmounts()
        job.forEachShare(in: span) { index, amounts in
            total += amounts
            let piece = plan.pieces[index]
            let range = plan.range(ofPiece: index)
            let from = range.lowerBound == .min ? "always" : calendar.formatDateTime(range.lowerBound)
            let until = range.upperBound == .max ? "on" : calendar.formatDateTime(range.upperBound)
            out += "  rules in force \(from) .. \(until):\n"
            out += "    names in reports: user \(piece.keys.user.orDash), group \(piece.keys.group.orDash), "
                + "account \(piece.keys.account.orDash), organisation \(piece.keys.organisation.orDash)\n"
            for alias in piece.aliases {
                out += "    alias (line \(alias.line)): \(alias.kind.rawValue) \(alias.from) → \(alias.to)\n"
            }
            let hours = hoursText(amounts.coreSeconds)
            if let benchmark = piece.benchmark {
                out += "    benchmark (line \(benchmark.line), \(benchmark.match)): \(milli(benchmark.scoreMilli)) "
                    + "\(configuration.benchmarkKind)/core × \(hours) core-hours = \(milliHours(amounts.benchmarkMilli)) "
                    + "\(configuration.benchmarkKind)-hours\n"
            } else if !configuration.benchmarks.isEmpty {
                out += "    benchmark: no rule matches: 0 \(configuration.benchmarkKind)-hours for \(hours) core-hours\n"
            }
            if facts.gpus > 0 {
                if let gpuClass = piece.gpuClass {
                    out += "    GPU class (line \(gpuClass.line)): \(subject.gpuModel) → \(gpuClass.className), factor "
                        + "\(milli(gpuClass.factorMilli)) × \(hoursText(amounts.gpuSeconds)) GPU-hours = "
                        + "\(milliHours(amounts.gpuWeightedMilli)) normalised GPU-hours\n"
                } else {
                    out += "    GPU class: \(piece.keys.gpuClass) (no [[gpu_class]] rule names '\(subject.gpuModel)'), factor 1\n"
                }
            }
            if let rate = piece.chargeRate {
                let gpuRate = rate.perGPUHourMilli(forClass: piece.keys.gpuClass)
                var parts = ["\(milli(rate.perCoreHourMilli)) SU/core-hour × \(hours)"]
                if amounts.gpuSeconds > 0 { parts.append("\(milli(gpuRate)) SU/GPU-hour × \(hoursText(amounts.gpuSeconds))") }
                if rate.perMemoryGiBHourMilli > 0 {
                    parts.append("\(milli(rate.perMemoryGiBHourMilli)) SU/GiB-hour × "
                                 + fixedPoint(Double(amounts.memoryMiBSeconds) / 1024 / 3600, places: 3))
                }
                out += "    charge rate (line \(rate.line)\(rate.name.isEmpty ? "" : ", \(rate.name)"), \(rate.match)): "
                    + parts.joined(separator: " + ") + " = \(milliHours(amounts.chargeMilli)) SU"
                if rate.minimumMilli > 0 { out += " (minimum \(milli(rate.minimumMilli)) SU per job)" }
                out += "\n"
            } else if !configuration.chargeRates.isEmpty {
                out += "    charge rate: no rule matches: 0 SU\n"
            }
        }
        out += "  total: \(hoursText(total.coreSeconds)) core-hours"
        if !configuration.benchmarks.isEmpty { out += ", \(milliHours(total.benchmarkMilli)) \(configuration.benchmarkKind)-hours" }
        if facts.gpus > 0 { out += ", \(hoursText(total.gpuSeconds)) GPU-hours (\(milliHours(total.gpuWeightedMilli)) normalised)" }
        if !configuration.chargeRates.isEmpty { out += ", \(milliHours(total.chargeMilli)) SU" }
        return out + "\n"
    }

    private static func milli(_ value: Int64) -> String { fixedPoint(Double(value) / 1000, places: 3) }
    private static func hoursText(_ seconds: Int64) -> String { fixedPoint(Double(seconds) / 3600, places: 4) }
    private static func milliHours(_ value: Int64) -> String { fixedPoint(Double(value) / 1000 / 3600, places: 3) }
}

private extension String {
    var orDash: String { isEmpty ? "-" : self }
}
