import Foundation
import Testing
@testable import TallyCollectors
@testable import TallyCore

/// Slurm before TRES accounting (≤ 17.02), and sites that never added `gres/gpu` to
/// `AccountingStorageTRES`, print GPUs only in `AllocGRES` / `ReqGRES` (`gpu:v100:2`,
/// `gpu:2(IDX:0-1)`). Built from sacct's documented column formats.
@Suite struct SacctLegacyGRESTests {
    static let header = "JobID|JobIDRaw|User|Account|Partition|Cluster|Submit|Start|End|ElapsedRaw|AllocCPUS|AllocGRES|ReqGRES|AllocTRES|State|ExitCode"
    static func line(_ id: Int, alloc: String, req: String = "", tres: String = "cpu=8,mem=32G,node=1") -> String {
        "\(id)|\(id)|alice|proj|gpu|c1|2018-03-01T09:00:00|2018-03-01T10:00:00|2018-03-01T11:00:00|3600|8|\(alloc)|\(req)|\(tres)|COMPLETED|0:0"
    }

    @Test func gpusComeFromLegacyColumnsWhenTRESHasNone() async throws {
        let text = [
            Self.header,
            Self.line(1, alloc: "gpu:v100:2", req: "gpu:v100:2"),
            Self.line(2, alloc: "gpu:2(IDX:0-1)"),
            Self.line(3, alloc: "", req: "gpu:k80:1"),                        // not started yet or alloc not kept
            Self.line(4, alloc: "gpu:tesla:1,gpu:k80:2,mps:100"),
            Self.line(5, alloc: "gpu:v100:2", tres: "cpu=8,gres/gpu=4,mem=32G,node=1"),  // TRES wins
            Self.line(6, alloc: "craynetwork:1"),
            Self.line(7, alloc: "gpu:v100:two"),
            Self.line(8, alloc: "gpu"),
        ].joined(separator: "\n") + "\n"
        let result = try await collectSacct(text: text)
        #expect(result.rejections.isEmpty)
        let gpus = Dictionary(uniqueKeysWithValues: result.records.map { ($0.jobID, $0.gpus) })
        #expect(gpus == ["1": 2, "2": 2, "3": 1, "4": 3, "5": 4, "6": 0, "7": 0, "8": 1])
        #expect(result.record("1")?.gpuModel == "v100")
        #expect(result.record("2")?.gpuModel == nil)
        #expect(result.record("4")?.gpuModel == "k80+tesla")
        #expect(result.record("1").map { Int64($0.gpus) * $0.wallSeconds } == 7200)
        // A GPU column that cannot be read is said, not passed over: the job is kept and flagged.
        #expect(result.flags.map(\.position.line) == [8])
        #expect(result.flags.first?.field == "AllocGRES")
        #expect(result.flags.first?.reason.contains("gpu:v100:two") == true)
    }

    @Test func legacyGRESValues() {
        #expect(LegacyGRES.parse("gpu:v100:2") == LegacyGRES(count: 2, model: "v100"))
        #expect(LegacyGRES.parse("gpu:2") == LegacyGRES(count: 2, model: nil))
        #expect(LegacyGRES.parse("gpu:a100:4(IDX:0-3)") == LegacyGRES(count: 4, model: "a100"))
        #expect(LegacyGRES.parse("gpu:v100") == LegacyGRES(count: 1, model: "v100"))
        #expect(LegacyGRES.parse("gpu:0") == LegacyGRES(count: 0, model: nil))
        #expect(LegacyGRES.parse("mps:100") == LegacyGRES(count: 0, model: nil))
        #expect(LegacyGRES.parse("gpu:v100:x") == nil)
    }
}
