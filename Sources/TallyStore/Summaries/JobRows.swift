import TallyCore

/// What both backends agree on about `job` rows: their columns, a record's fingerprint, and when
/// a stored row stays as it is.
enum JobRows {
    /// The columns a writer fills, in the order it binds or copies them.
    static let columns = [
        "natural_key", "fingerprint", "format", "site", "cluster", "account", "grp", "usr", "partition", "qos", "state",
        "gpu_model", "job_id", "local_job_id", "name", "raw_state", "submit", "eligible", "start", "end_time", "wall",
        "cores", "gpus", "nodes", "node_list", "mem_alloc", "mem_req", "mem_used", "cpu", "energy", "billing",
        "exit_code", "exit_signal", "source_id", "line", "t0", "t1", "milli_cores", "disk",
    ]
    static let columnList = columns.joined(separator: ", ")

    /// Everything stored about a record except where it was read: the same job read from another
    /// file or line is unchanged.
    static func fingerprint(_ record: UsageRecord) -> Int64 {
        var hash = StableHash()
        let texts: [String?] = [record.site, record.cluster, record.jobID, record.localJobID, record.name, record.user,
                                record.group, record.account, record.partition, record.qos, record.nodeList,
                                record.gpuModel, record.rawState, record.state.rawValue]
        for text in texts { hash.combine(text) }
        let numbers: [Int64?] = [record.submit, record.eligible, record.start, record.end, record.wallSeconds,
                                 Int64(record.cores), Int64(record.gpus), Int64(record.nodeCount), record.memoryAllocated,
                                 record.memoryRequested, record.memoryUsedPeak, record.cpuSeconds, record.energyJoules,
                                 record.billing, record.exitCode.map(Int64.init), record.exitSignal.map(Int64.init)]
        for number in numbers { hash.combine(number) }
        // Added later: only records that have them hash them, so older fingerprints stay valid.
        if record.milliCores != nil || record.diskAllocated != nil {
            hash.combine(record.milliCores); hash.combine(record.diskAllocated)
        }
        return Int64(bitPattern: hash.value)
    }

    /// Whether a stored version stays: the same content, or a newer line in a less final state (a
    /// stale "running" line read after the job completed never replaces the completed one).
    static func keepsStored(fingerprint stored: Int64, state storedState: JobState, over incoming: Int64,
                            _ incomingState: JobState) -> Bool {
        stored == incoming || incomingState.finality < storedState.finality
    }
}
