import TallyCore

/// An input the collector cannot read at all (as opposed to a bad line, which is rejected).
public struct UnusableInput: Error, Sendable, CustomStringConvertible {
    public var position: SourcePosition
    public var reason: String

    public init(position: SourcePosition, reason: String) {
        self.position = position; self.reason = reason
    }

    public var description: String { "\(position): \(reason)" }
}

/// A streaming parser for one line-oriented source format.
public protocol LineCollector: Sendable {
    var format: SourceFormat { get }
    mutating func consume(_ line: UnsafeBufferPointer<UInt8>, number: Int, into batch: inout CollectedBatch) throws(UnusableInput)
    mutating func finish(into batch: inout CollectedBatch) throws(UnusableInput)
    /// What the collector learnt from a file's header (sacct's column names, SWF's start time),
    /// saved with a checkpoint so a later read can resume mid-file.
    var resumeState: [UInt8] { get }
    /// Restores `resumeState` before reading on from a checkpoint.
    mutating func restore(_ state: [UInt8]) throws(UnusableInput)
}

extension LineCollector {
    public var resumeState: [UInt8] { [] }
    public mutating func restore(_ state: [UInt8]) throws(UnusableInput) {}
}

extension UnsafeBufferPointer<UInt8> {
    /// Lenient UTF-8 (invalid bytes become U+FFFD), at most `limit` bytes.
    public func excerpt(limit: Int = 240) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: self[0..<Swift.min(count, limit)]), as: UTF8.self)
    }
}
