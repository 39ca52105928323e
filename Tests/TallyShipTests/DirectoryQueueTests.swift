import Foundation
import Testing
import TallyCore

/// The APEL outgoing queue, in python-dirq's QueueSimple layout, as `tally ship apel` reads it.
struct DirectoryQueueTests {
    func temporaryQueue() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tally-dirq-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func elementsComeOldestFirstAndOnlyWholeOnes() throws {
        let queue = try temporaryQueue()
        defer { try? FileManager.default.removeItem(atPath: queue) }
        var added: [String] = []
        for number in 0..<5 { added.append(try DirectoryQueue.add("message \(number)\n", to: queue)) }
        // What dirq and a crashed writer leave: an older bucket, a temporary file, a stranger.
        try FileManager.default.createDirectory(atPath: queue + "/00000000", withIntermediateDirectories: true)
        try "old\n".write(toFile: queue + "/00000000/0000000000000a", atomically: false, encoding: .utf8)
        try "half\n".write(toFile: queue + "/00000000/0000000000000b.tmp", atomically: false, encoding: .utf8)
        try "x".write(toFile: queue + "/README", atomically: false, encoding: .utf8)
        let elements = try DirectoryQueue.elements(in: queue)
        #expect(elements.map(\.path) == [queue + "/00000000/0000000000000a"] + added)
        #expect(elements.first?.id == "00000000/0000000000000a")
        #expect(try elements.map(DirectoryQueue.read) == ["old\n"] + (0..<5).map { "message \($0)\n" })
        #expect(try DirectoryQueue.elements(in: queue + "/missing").isEmpty)
    }

    @Test func aLockIsExclusiveUntilRemovedOrUnlocked() throws {
        let queue = try temporaryQueue()
        defer { try? FileManager.default.removeItem(atPath: queue) }
        try DirectoryQueue.add("a\n", to: queue)
        try DirectoryQueue.add("b\n", to: queue)
        let elements = try DirectoryQueue.elements(in: queue)
        #expect(DirectoryQueue.lock(elements[0]))
        #expect(!DirectoryQueue.lock(elements[0]), "a second sender must not take a locked message")
        // dirq's lock is a hard link beside the element: an ssmsend sees it.
        #expect(FileManager.default.fileExists(atPath: elements[0].path + ".lck"))
        DirectoryQueue.unlock(elements[0])
        #expect(DirectoryQueue.lock(elements[0]))
        try DirectoryQueue.remove(elements[0])
        #expect(!FileManager.default.fileExists(atPath: elements[0].path + ".lck"))
        #expect(try DirectoryQueue.elements(in: queue) == [elements[1]])
        #expect(!DirectoryQueue.lock(elements[0]), "a removed message cannot be locked")
    }

    @Test func purgeClearsStaleLocksAndEmptyBucketsOnly() throws {
        let queue = try temporaryQueue()
        defer { try? FileManager.default.removeItem(atPath: queue) }
        try DirectoryQueue.add("a\n", to: queue)
        let element = try #require(try DirectoryQueue.elements(in: queue).first)
        #expect(DirectoryQueue.lock(element))
        try FileManager.default.createDirectory(atPath: queue + "/00000001", withIntermediateDirectories: true)
        DirectoryQueue.purge(queue)
        #expect(FileManager.default.fileExists(atPath: element.path + ".lck"), "a fresh lock is another sender's")
        #expect(!FileManager.default.fileExists(atPath: queue + "/00000001"))
        DirectoryQueue.purge(queue, now: Date().addingTimeInterval(301))
        #expect(!FileManager.default.fileExists(atPath: element.path + ".lck"), "a lock older than 5 minutes is stale")
        #expect(try DirectoryQueue.elements(in: queue) == [element])
    }
}
