/// FNV-1a, 64-bit: stable across processes and machines (Swift's `Hasher` is seeded per run),
/// so fingerprints stored in a database file stay comparable.
public struct StableHash: Sendable {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    public mutating func combine(_ text: String?) {
        guard let text else { combine(byte: 0xff); return }
        for byte in text.utf8 { combine(byte: byte) }
        combine(byte: 0)
    }

    public mutating func combine(_ number: Int64?) {
        guard var number else { combine(byte: 0xfe); return }
        for _ in 0..<8 {
            combine(byte: UInt8(truncatingIfNeeded: number))
            number >>= 8
        }
    }

    @inline(__always)
    public mutating func combine(byte: UInt8) {
        value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
    }
}
