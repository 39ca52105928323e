import Foundation
import Testing
@testable import TallyCollectors
@testable import TallyCore

private func withBytes<T>(_ text: String, _ body: (Bytes) -> T) -> T {
    var copy = text
    return copy.withUTF8 { body($0) }
}

@Suite struct SlurmValueTests {
    @Test(arguments: [
        ("00:01:30", 90_000), ("1-02:03:04", 93_784_000), ("05:12.345", 312_345), ("00:01.500", 1_500),
        ("2-10:12:01", 209_521_000), ("17:02:12", 61_332_000), ("00:00.002", 2), ("120-00:14:40", 10_368_880_000),
        ("3-00", 259_200_000), ("45", 2_700_000),
    ] as [(String, Int64)])
    func durations(text: String, millis: Int64) {
        #expect(withBytes(text) { SlurmValues.durationMillis($0) } == .value(millis))
    }

    @Test(arguments: ["INVALID", "UNLIMITED", "Partition_limit", "", "Unknown"])
    func durationSentinels(text: String) {
        #expect(withBytes(text) { SlurmValues.durationMillis($0) } == .absent)
    }

    @Test(arguments: ["1:2:3:4", "ab:cd", "1-2-3", ":30"])
    func malformedDurations(text: String) {
        #expect(withBytes(text) { SlurmValues.durationMillis($0) } == nil)
    }

    @Test func sizes() {
        let mib: Int64 = 1 << 20
        #expect(withBytes("1520M") { SlurmValues.size($0, baseUnit: 1)?.value?.bytes } == 1520 * mib)
        #expect(withBytes("1593835520") { SlurmValues.size($0, baseUnit: 1)?.value?.bytes } == 1_593_835_520)
        #expect(withBytes("2.50G") { SlurmValues.size($0, baseUnit: mib)?.value?.bytes } == 2560 * mib)
        #expect(withBytes("32768M") { SlurmValues.size($0, baseUnit: mib)?.value?.bytes } == 32 << 30)
        #expect(withBytes("4000") { SlurmValues.size($0, baseUnit: mib)?.value?.bytes } == 4000 * mib)
        #expect(withBytes("3104K") { SlurmValues.size($0, baseUnit: 1)?.value?.bytes } == Int64(3104 * 1024))
        #expect(withBytes("4000Mc") { SlurmValues.size($0, baseUnit: mib)?.value } == SlurmSize(bytes: 4000 * mib, per: .cpu))
        #expect(withBytes("32Gn") { SlurmValues.size($0, baseUnit: mib)?.value } == SlurmSize(bytes: 32 << 30, per: .node))
        #expect(withBytes("1.024t") { SlurmValues.size($0, baseUnit: 1)?.value?.bytes } == Int64(1.024 * Double(1 << 40)))
        #expect(withBytes("12X") { SlurmValues.size($0, baseUnit: 1) } == nil)
        #expect(withBytes("") { SlurmValues.size($0, baseUnit: 1) } == .absent)
    }

    @Test func timestamps() {
        var converter = LocalTimeConverter(timeZone: TimeZone(identifier: "UTC")!)
        #expect(withBytes("2024-03-01T10:00:00") { SlurmValues.timestamp($0, converter: &converter) } == .value(1_709_287_200))
        #expect(withBytes("2024-03-01 10:00:00") { SlurmValues.timestamp($0, converter: &converter) } == .value(1_709_287_200))
        #expect(withBytes("1709287200") { SlurmValues.timestamp($0, converter: &converter) } == .value(1_709_287_200))
        #expect(withBytes("Unknown") { SlurmValues.timestamp($0, converter: &converter) } == .absent)
        #expect(withBytes("None") { SlurmValues.timestamp($0, converter: &converter) } == .absent)
        #expect(withBytes("2024-02-30T10:00:00") { SlurmValues.timestamp($0, converter: &converter) } == nil)
        #expect(withBytes("2024-03-01T25:00:00") { SlurmValues.timestamp($0, converter: &converter) } == nil)
        #expect(withBytes("#####") { SlurmValues.timestamp($0, converter: &converter) } == nil)
        var newYork = LocalTimeConverter(timeZone: TimeZone(identifier: "America/New_York")!)
        #expect(withBytes("2024-07-01T08:00:00") { SlurmValues.timestamp($0, converter: &newYork) } == .value(1_719_835_200))
    }

    @Test func tresStrings() throws {
        let alloc = try #require(withBytes("billing=12,cpu=8,gres/gpu:a100=2,gres/gpu=2,mem=32G,node=1") { TRESAllocation.parse($0) })
        #expect(alloc.cpu == 8)
        #expect(alloc.billing == 12)
        #expect(alloc.nodes == 1)
        #expect(alloc.memoryBytes == 32 << 30)
        // Typed and untyped describe the same GPUs: count 2, not 4.
        #expect(alloc.gpuCount == 2)
        #expect(alloc.gpuModel == "a100")
        let typedOnly = try #require(withBytes("cpu=4,gres/gpu:v100=1,gres/gpu:a100=2") { TRESAllocation.parse($0) })
        #expect(typedOnly.gpuCount == 3)
        #expect(typedOnly.gpuModel == "a100+v100")
        let plain = try #require(withBytes("cpu=1,energy=512,mem=256M,node=1,license/matlab=1,fs/disk=12") { TRESAllocation.parse($0) })
        #expect(plain.energy == 512)
        #expect(plain.gpuCount == 0)
        #expect(plain.gpuModel == nil)
        #expect(withBytes("cpu8,mem=1G") { TRESAllocation.parse($0) } == nil)
        #expect(withBytes("") { TRESAllocation.parse($0) } == TRESAllocation())
    }

    @Test func exitCodes() {
        #expect(withBytes("0:15") { SlurmValues.exitCode($0) } == .value(ExitStatus(code: 0, signal: 15)))
        #expect(withBytes("1:0") { SlurmValues.exitCode($0) } == .value(ExitStatus(code: 1, signal: 0)))
        #expect(withBytes("x") { SlurmValues.exitCode($0) } == nil)
    }
}
