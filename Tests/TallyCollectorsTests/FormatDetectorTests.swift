import Foundation
import Testing
@testable import TallyCollectors
@testable import TallyCore

@Suite struct FormatDetectorTests {
    @Test(arguments: [
        ("fixtures/slurm-sandbox/sacct-fields.txt", SourceFormat.slurm),
        ("fixtures/slurm/slurmsim-ccr-sacct-all-2101.log", .slurm),
        ("fixtures/pbs/apel-test-torque-accounting.log", .pbs),
        ("fixtures/pbs/xdmod-shredder-torque-accounting-logs.log", .pbs),
        ("fixtures/sge/garvan-br70-sge-accounting.part1.log", .sge),
        ("fixtures/sge/xdmod-shredder-uge-accounting.log", .sge),
        ("traces/LLNL-Atlas-2006-2.1-cln.swf.gz", .swf),
        ("traces/wagap-2013.swf.gz", .swf),
        ("fixtures/htcondor/gratia-chtc-history/history.377265.0", .htcondor),
    ])
    func detectsRealInputs(relative: String, format: SourceFormat) throws {
        let path = Fixtures.shared.appendingPathComponent("data").appendingPathComponent(relative).path
        #expect(try FormatDetector.detect(path: path)?.format == format)
    }

    @Test func unknownTextIsNotGuessed() throws {
        let path = try temporaryFile(Array("hello world\nthis is not accounting\n".utf8), suffix: ".txt")
        #expect(try FormatDetector.detect(path: path) == nil)
        let empty = try temporaryFile([], suffix: ".txt")
        #expect(try FormatDetector.detect(path: empty) == nil)
    }
}

/// Every collector on an empty file and on a file of blank lines: no records, no error.
@Suite struct EmptyInputTests {
    @Test func everyCollectorAcceptsAnEmptyFile() async throws {
        for bytes in [[UInt8](), Array("\n\n  \n".utf8)] {
            let path = try temporaryFile(bytes, suffix: ".txt")
            let utc = TimeZone(identifier: "UTC")!
            #expect(try await collect(path: path, SacctCollector(file: path, options: .init(timeZone: utc))).records.isEmpty)
            #expect(try await collect(path: path, PBSCollector(file: path, options: .init(timeZone: utc))).records.isEmpty)
            #expect(try await collect(path: path, SGECollector(file: path, options: .init())).records.isEmpty)
            #expect(try await collect(path: path, HTCondorCollector(file: path, options: .init())).records.isEmpty)
            #expect(try await collect(path: path, SWFCollector(file: path, options: .init())).records.isEmpty)
            let snapshot = SnapshotCollector(file: path, options: .init(platform: .kubernetes, takenAt: 0))
            #expect(try await collect(path: path, snapshot).records.isEmpty)
        }
    }
}
