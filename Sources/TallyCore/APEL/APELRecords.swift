/// APEL's message records (apel/apel `apel/db/records/`), with exactly the fields and order its
/// unloader writes. See ../shared/reference/apel.md §2.
public enum APELKind: String, Sendable, CaseIterable {
    case job, summary, sync, gpu
}

/// One `Key: Value` record; `nil` values are left out, as APEL's unloader does.
public struct APELFields: Sendable, Hashable {
    public private(set) var fields: [(key: String, value: String)] = []

    public init() {}

    public mutating func add(_ key: String, _ value: String?) {
        guard let value, !value.isEmpty else { return }
        fields.append((key, value))
    }

    public mutating func add(_ key: String, _ value: Int64?) { add(key, value.map(String.init)) }

    public subscript(key: String) -> String? { fields.last { $0.key == key }?.value }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.fields.elementsEqual(rhs.fields) { $0 == $1 }
    }

    public func hash(into hasher: inout Hasher) {
        for field in fields { hasher.combine(field.key); hasher.combine(field.value) }
    }
}

/// `APEL-individual-job-message: v0.3`.
public struct APELJobRecord: Sendable, Hashable {
    public var site: String
    public var submitHost: String?
    public var machineName: String?
    public var queue: String?
    public var localJobID: String
    public var localUserID: String?
    public var globalUserName: String?
    public var fqan: String?
    public var vo: String?
    public var voGroup: String?
    public var voRole: String?
    public var wallDuration: Int64
    public var cpuDuration: Int64
    public var processors: Int64?
    public var nodeCount: Int64?
    public var startTime: Int64
    public var endTime: Int64
    public var infrastructureDescription: String?
    public var infrastructureType: String?
    public var memoryReal: Int64?
    public var memoryVirtual: Int64?
    public var serviceLevelType: String
    /// Per-core score, as APEL writes it (`12.5`).
    public var serviceLevel: String

    public init(site: String, localJobID: String, wallDuration: Int64, cpuDuration: Int64, startTime: Int64,
                endTime: Int64, serviceLevelType: String, serviceLevel: String) {
        self.site = site; self.localJobID = localJobID; self.wallDuration = wallDuration
        self.cpuDuration = cpuDuration; self.startTime = startTime; self.endTime = endTime
        self.serviceLevelType = serviceLevelType; self.serviceLevel = serviceLevel
    }

    public var fields: APELFields {
        var out = APELFields()
        out.add("Site", site); out.add("SubmitHost", submitHost); out.add("MachineName", machineName)
        out.add("Queue", queue); out.add("LocalJobId", localJobID); out.add("LocalUserId", localUserID)
        out.add("GlobalUserName", globalUserName); out.add("FQAN", fqan); out.add("VO", vo)
        out.add("VOGroup", voGroup); out.add("VORole", voRole); out.add("WallDuration", wallDuration)
        out.add("CpuDuration", cpuDuration); out.add("Processors", processors); out.add("NodeCount", nodeCount)
        out.add("StartTime", startTime); out.add("EndTime", endTime)
        out.add("InfrastructureDescription", infrastructureDescription)
        out.add("InfrastructureType", infrastructureType); out.add("MemoryReal", memoryReal)
        out.add("MemoryVirtual", memoryVirtual); out.add("ServiceLevelType", serviceLevelType)
        out.add("ServiceLevel", serviceLevel)
        return out
    }
}

/// `APEL-summary-job-message: v0.2`: one month of one (site, user, VO, submit host,
/// infrastructure, service level, node count, processors) combination.
public struct APELSummaryRecord: Sendable, Hashable {
    public struct Key: Sendable, Hashable, Comparable {
        public var site: String
        public var month: Int64
        public var year: Int64
        public var globalUserName: String?
        public var vo: String?
        public var voGroup: String?
        public var voRole: String?
        public var submitHost: String?
        public var infrastructureType: String?
        public var serviceLevelType: String
        public var serviceLevel: String
        public var nodeCount: Int64?
        public var processors: Int64?

        public init(site: String, month: Int64, year: Int64, serviceLevelType: String, serviceLevel: String) {
            self.site = site; self.month = month; self.year = year
            self.serviceLevelType = serviceLevelType; self.serviceLevel = serviceLevel
        }

        public static func < (lhs: Key, rhs: Key) -> Bool {
            func text(_ key: Key) -> [String] {
                [key.site, String(key.year), String(format2(key.month)), key.globalUserName ?? "", key.vo ?? "",
                 key.voGroup ?? "", key.voRole ?? "", key.submitHost ?? "", key.infrastructureType ?? "",
                 key.serviceLevelType, key.serviceLevel, String(key.nodeCount ?? 0), String(key.processors ?? 0)]
            }
            return text(lhs).lexicographicallyPrecedes(text(rhs))
        }
    }

    public var key: Key
    public var earliestEndTime: Int64
    public var latestEndTime: Int64
    public var wallDuration: Int64
    public var cpuDuration: Int64
    public var numberOfJobs: Int64

    public init(key: Key, earliestEndTime: Int64, latestEndTime: Int64, wallDuration: Int64, cpuDuration: Int64,
                numberOfJobs: Int64) {
        self.key = key; self.earliestEndTime = earliestEndTime; self.latestEndTime = latestEndTime
        self.wallDuration = wallDuration; self.cpuDuration = cpuDuration; self.numberOfJobs = numberOfJobs
    }

    /// Adds one job ending in the month.
    public mutating func add(endTime: Int64, wall: Int64, cpu: Int64) {
        earliestEndTime = min(earliestEndTime, endTime)
        latestEndTime = max(latestEndTime, endTime)
        wallDuration += wall; cpuDuration += cpu; numberOfJobs += 1
    }

    public var fields: APELFields {
        var out = APELFields()
        out.add("Site", key.site); out.add("Month", key.month); out.add("Year", key.year)
        out.add("GlobalUserName", key.globalUserName); out.add("VO", key.vo); out.add("VOGroup", key.voGroup)
        out.add("VORole", key.voRole); out.add("SubmitHost", key.submitHost)
        out.add("InfrastructureType", key.infrastructureType); out.add("ServiceLevelType", key.serviceLevelType)
        out.add("ServiceLevel", key.serviceLevel); out.add("NodeCount", key.nodeCount)
        out.add("Processors", key.processors); out.add("EarliestEndTime", earliestEndTime)
        out.add("LatestEndTime", latestEndTime); out.add("WallDuration", wallDuration)
        out.add("CpuDuration", cpuDuration); out.add("NumberOfJobs", numberOfJobs)
        return out
    }
}

private func format2(_ month: Int64) -> String { month < 10 ? "0\(month)" : "\(month)" }

/// `APEL-sync-message: v0.1`: how many jobs a site holds for a month.
public struct APELSyncRecord: Sendable, Hashable {
    public var site: String
    public var submitHost: String?
    public var numberOfJobs: Int64
    public var month: Int64
    public var year: Int64

    public init(site: String, submitHost: String?, numberOfJobs: Int64, month: Int64, year: Int64) {
        self.site = site; self.submitHost = submitHost; self.numberOfJobs = numberOfJobs; self.month = month
        self.year = year
    }

    public var fields: APELFields {
        var out = APELFields()
        out.add("Site", site); out.add("SubmitHost", submitHost); out.add("NumberOfJobs", numberOfJobs)
        out.add("Month", month); out.add("Year", year)
        return out
    }
}

/// `APEL-accelerator-message` v0.1 (JSON; apel#459, EGI's "GPU Record"): GPUs a job held in a month.
public struct APELAcceleratorRecord: Sendable, Hashable {
    public var measurementMonth: Int64
    public var measurementYear: Int64
    public var associatedRecord: String
    public var globalUserName: String?
    public var fqan: String?
    public var siteName: String
    public var count: Int64
    /// Seconds the GPUs were held: count × wall time.
    public var availableDuration: Int64
    public var model: String
    /// Accelerator cores in all `count` GPUs, when the GPU class says how many each has.
    public var cores: Int64?
    /// Seconds the GPUs were busy; APEL's documented default is AvailableDuration.
    public var activeDuration: Int64?
    public var benchmarkType: String?
    public var benchmarkMilli: Int64?

    public init(measurementMonth: Int64, measurementYear: Int64, associatedRecord: String, siteName: String,
                count: Int64, availableDuration: Int64, model: String) {
        self.measurementMonth = measurementMonth; self.measurementYear = measurementYear
        self.associatedRecord = associatedRecord; self.siteName = siteName; self.count = count
        self.availableDuration = availableDuration; self.model = model
    }
}
