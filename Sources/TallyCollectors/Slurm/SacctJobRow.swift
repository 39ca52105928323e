import Foundation
import TallyCore

/// One parsed sacct job row, plus what its step rows add, until it becomes a `UsageRecord`.
struct SacctJobRow {
    let number: Int
    let rawID: String
    let displayID: String
    let name: String?
    let cluster: String
    let user: String?, group: String?, account: String?, partition: String?, qos: String?
    let submit: Int64?, eligible: Int64?, start: Int64?, end: Int64?
    let elapsedSeconds: Int64?
    let totalCPUMillis: Int64?
    let cpus: Int64?
    let nodes: Int64?
    let nodeList: String?
    let alloc: TRESAllocation
    let gpus: Int64
    let gpuModel: String?
    /// Kept, but worth an operator's look (a GPU column that cannot be read).
    private(set) var flags: [FieldError] = []
    let requestedMemory: Int64?
    let rowPeakMemory: Int64?
    let energy: Int64?
    let state: JobState
    let rawState: String
    let exit: ExitStatus?

    init(line: Bytes, number: Int, rawID: Bytes, displayID: Bytes, field: (SacctColumn) -> Bytes?,
         options: SacctCollector.Options, converter: inout LocalTimeConverter) throws(FieldError) {
        func text(_ column: SacctColumn) -> String? {
            guard let bytes = field(column), !bytes.isEmpty else { return nil }
            return bytes.string
        }
        /// The column's value, nil when the column is absent or holds a "not set" sentinel; a
        /// value that is not of the column's kind is an error naming the field.
        func parse<T>(_ column: SacctColumn, _ label: String, _ kind: String,
                      _ parser: (Bytes) -> SlurmValue<T>?) throws(FieldError) -> T? {
            guard let bytes = field(column) else { return nil }
            guard let value = parser(bytes) else {
                throw FieldError(field: label, reason: "not \(kind): '\(bytes.string)'")
            }
            return value.value
        }
        func time(_ column: SacctColumn, _ label: String) throws(FieldError) -> Int64? {
            try parse(column, label, "a timestamp") { SlurmValues.timestamp($0, converter: &converter) }
        }
        func integer(_ column: SacctColumn, _ label: String) throws(FieldError) -> Int64? {
            try parse(column, label, "an integer", SlurmValues.integerField)
        }
        func duration(_ column: SacctColumn, _ label: String) throws(FieldError) -> Int64? {
            try parse(column, label, "a duration", SlurmValues.durationMillis)
        }
        func tres(_ column: SacctColumn, _ label: String) throws(FieldError) -> TRESAllocation? {
            try parse(column, label, "a TRES list") { TRESAllocation.parse($0).map { .value($0) } }
        }
        func size(_ column: SacctColumn, _ label: String, base: Int64) throws(FieldError) -> SlurmSize? {
            try parse(column, label, "a size") { SlurmValues.size($0, baseUnit: base) }
        }

        self.number = number
        self.rawID = rawID.string
        self.displayID = displayID.string
        self.name = text(.jobName)
        self.cluster = text(.cluster) ?? options.cluster ?? "default"
        self.user = text(.user); self.group = text(.group); self.account = text(.account)
        self.partition = text(.partition); self.qos = text(.qos)
        self.submit = try time(.submit, "Submit")
        self.eligible = try time(.eligible, "Eligible")
        self.start = try time(.start, "Start")
        self.end = try time(.end, "End")
        let elapsedRaw = try integer(.elapsedRaw, "ElapsedRaw")
        let elapsed = try duration(.elapsed, "Elapsed").map { ($0 + 500) / 1000 }
        self.elapsedSeconds = elapsedRaw ?? elapsed
        self.totalCPUMillis = try duration(.totalCPU, "TotalCPU")
        let alloc = try tres(.allocTRES, "AllocTRES") ?? TRESAllocation()
        self.alloc = alloc
        var gpus = alloc.gpuCount, gpuModel = alloc.gpuModel
        if alloc.gpus == nil, alloc.gpusByModel.isEmpty {
            // No GPUs in TRES: read the legacy GRES columns, allocated first.
            for (column, label) in [(SacctColumn.allocGRES, "AllocGRES"), (.reqGRES, "ReqGRES")] {
                guard let bytes = field(column), !bytes.isEmpty, !SlurmValues.isSentinel(bytes) else { continue }
                if let legacy = LegacyGRES.parse(bytes.string) {
                    gpus = legacy.count; gpuModel = legacy.model
                } else {
                    flags.append(FieldError(field: label, reason: "cannot read a GPU count in '\(bytes.string)': "
                        + "no GPUs charged"))
                }
                break
            }
        }
        self.gpus = gpus; self.gpuModel = gpuModel
        let ncpus = try integer(.nCPUs, "NCPUS")
        let allocCPUs = try integer(.allocCPUs, "AllocCPUS")
        let reqCPUs = try integer(.reqCPUs, "ReqCPUS")
        self.cpus = alloc.cpu ?? ncpus ?? allocCPUs
        let nnodes = try integer(.nNodes, "NNodes")
        let allocNodes = try integer(.allocNodes, "AllocNodes")
        self.nodes = alloc.nodes ?? nnodes ?? allocNodes
        let list = field(.nodeList)
        self.nodeList = list.flatMap { SlurmValues.isSentinel($0) ? nil : $0.string }
        let requestTRES = try tres(.reqTRES, "ReqTRES")
        if let reqMem = try size(.reqMem, "ReqMem", base: 1 << 20) {
            switch reqMem.per {
            case .cpu: self.requestedMemory = reqMem.bytes * max(1, reqCPUs ?? cpus ?? 1)
            case .node: self.requestedMemory = reqMem.bytes * max(1, nnodes ?? nodes ?? 1)
            case nil: self.requestedMemory = reqMem.bytes
            }
        } else {
            self.requestedMemory = requestTRES?.memoryBytes
        }
        self.rowPeakMemory = try size(.maxRSS, "MaxRSS", base: 1)?.bytes
        self.energy = try integer(.consumedEnergyRaw, "ConsumedEnergyRaw")
        let stateText = text(.state) ?? ""
        self.rawState = stateText
        self.state = stateText.isEmpty ? .unknown : JobState(slurmName: stateText)
        self.exit = try parse(.exitCode, "ExitCode", "code:signal", SlurmValues.exitCode)
    }

    func record(site: String, file: String) throws(FieldError) -> UsageRecord {
        // Whether a job ran is decided by its start time, not its state name (§1.7).
        let started = start != nil
        var wall: Int64 = 0
        if let start {
            if let elapsedSeconds {
                wall = elapsedSeconds
            } else if let end {
                wall = end - start
            }
        }
        if let start, let end, end < start {
            throw FieldError(field: "End", reason: RecordError.endBeforeStart(start: start, end: end).description)
        }
        let jobEnergy = (energy ?? 0) > 0 ? energy : alloc.energy
        let key = "\(site)/slurm/\(cluster)/\(rawID)/\(submit.map(String.init) ?? "-")"
        do {
            return try UsageRecord(
                site: site, cluster: cluster, source: .slurm, jobID: displayID, localJobID: rawID,
                naturalKey: key, name: name, user: user, group: group, account: account,
                partition: partition, qos: qos, nodeCount: Int(nodes ?? 0), nodeList: nodeList,
                submit: submit, eligible: eligible, start: start, end: end,
                wallSeconds: started ? wall : 0,
                cores: Int(cpus ?? 0), gpus: Int(gpus), gpuModel: gpuModel,
                memoryAllocated: alloc.memoryBytes, memoryRequested: requestedMemory, memoryUsedPeak: rowPeakMemory,
                cpuSeconds: totalCPUMillis.map { ($0 + 500) / 1000 }, energyJoules: jobEnergy,
                billing: alloc.billing, state: state, rawState: rawState,
                exitCode: exit?.code, exitSignal: exit?.signal,
                origin: SourcePosition(file: file, line: number))
        } catch {
            throw FieldError(field: error.field, reason: error.description)
        }
    }
}

extension RecordError {
    /// The sacct column a record error points at, for the rejection message.
    var field: String? {
        switch self {
        case .endBeforeStart: "End"
        case let .negative(what), let .implausible(what, _):
            switch what {
            case "cores": "NCPUS"
            case "wall seconds": "ElapsedRaw"
            case "GPUs": "AllocTRES"
            default: nil
            }
        case .usageWithoutStart: "Start"
        case .missingIdentity: "JobID"
        }
    }
}
