import Foundation

/// SSM's outgoing queue: python-dirq's `QueueSimple` layout, `DIR/<8 hex: minute>/<14 hex>`, each
/// element written to a temporary name, synced and renamed, so a sender never reads half a file.
/// Senders lock an element as dirq does (a hard link `NAME.lck`), so `ssmsend` and
/// `tally ship apel` may share a queue without sending a message twice at once.
public enum DirectoryQueue {
    /// One queued message; `id` (`bucket/name`) is what SSM sends as the message's `empa-id`.
    public struct Element: Sendable, Hashable {
        public var id: String
        public var path: String
    }

    static let lockSuffix = ".lck"
    static let temporarySuffix = ".tmp"

    @discardableResult
    public static func add(_ message: String, to directory: String) throws -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let seconds = Int(now.tv_sec), microseconds = Int(now.tv_nsec / 1000)
        let bucket = String(format: "%08x", seconds - seconds % 60)
        let folder = (directory as NSString).appendingPathComponent(bucket)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var name: String
        var path: String
        repeat {
            name = String(format: "%08x%05x%01x", seconds, microseconds, Int.random(in: 0..<16))
            path = (folder as NSString).appendingPathComponent(name)
        } while FileManager.default.fileExists(atPath: path)
        let temporary = path + temporarySuffix
        let data = Data(message.utf8)
        guard FileManager.default.createFile(atPath: temporary, contents: data) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: temporary])
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: temporary))
        try handle.synchronize()
        try handle.close()
        guard rename(temporary, path) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
        return path
    }

    /// Queued elements, oldest first (bucket, then name: both are hex times), locked or not.
    public static func elements(in directory: String) throws -> [Element] {
        guard FileManager.default.fileExists(atPath: directory) else { return [] }
        var found: [Element] = []
        for bucket in try FileManager.default.contentsOfDirectory(atPath: directory).filter({ isHex($0, count: 8) }).sorted() {
            let folder = directory + "/" + bucket
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            for name in names.filter({ isHex($0, count: 14) }).sorted() {
                found.append(Element(id: bucket + "/" + name, path: folder + "/" + name))
            }
        }
        return found
    }

    /// Takes the element for this process; false when another sender holds it or it is gone.
    public static func lock(_ element: Element) -> Bool {
        guard link(element.path, element.path + lockSuffix) == 0 else { return false }
        // A lock is stale by its age: touch the element, as dirq does.
        utimes(element.path, nil)
        return true
    }

    public static func unlock(_ element: Element) {
        unlink(element.path + lockSuffix)
    }

    /// Sent for good: the element and its lock go.
    public static func remove(_ element: Element) throws {
        guard unlink(element.path) == 0 || errno == ENOENT else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: element.path])
        }
        unlink(element.path + lockSuffix)
    }

    public static func read(_ element: Element) throws -> String {
        String(decoding: try Data(contentsOf: URL(fileURLWithPath: element.path)), as: UTF8.self)
    }

    /// What dirq's `purge()` does: locks and temporary files older than `maxAge` seconds (left by
    /// a sender that died) are removed, and so are empty buckets.
    public static func purge(_ directory: String, maxAge: TimeInterval = 300, now: Date = Date()) {
        guard let buckets = try? FileManager.default.contentsOfDirectory(atPath: directory).filter({ isHex($0, count: 8) }) else { return }
        for bucket in buckets {
            let folder = directory + "/" + bucket
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            for name in names where name.hasSuffix(lockSuffix) || name.hasSuffix(temporarySuffix) {
                let path = folder + "/" + name
                if let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date,
                   now.timeIntervalSince(modified) > maxAge {
                    unlink(path)
                }
            }
            rmdir(folder) // fails, harmlessly, unless empty
        }
    }

    static func isHex(_ name: String, count: Int) -> Bool {
        name.utf8.count == count && name.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}
