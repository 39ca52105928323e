import CZlib
#if canImport(Glibc)
import Glibc
#endif

/// Inflates a gzip stream read from a file descriptor, chunk by chunk, so `.gz` logs and traces
/// are read in bounded memory. Concatenated gzip members (what `cat a.gz b.gz` or log rotation
/// produce) are read one after another; a stream cut off before its end is an error, not a
/// silently short file.
final class GzipDecoder {
    private var stream = z_stream()
    private let fd: Int32
    private let input: UnsafeMutablePointer<UInt8>
    private let inputSize: Int
    private var inputEnded = false
    private var memberOpen = false
    private var finished = false
    /// Reported on the call after the one that returned the last good bytes.
    private var pendingError: InputError?

    init(fd: Int32, chunkSize: Int = 1 << 18) throws(InputError) {
        self.fd = fd
        inputSize = chunkSize
        input = .allocate(capacity: chunkSize)
        // 15 window bits + 32: accept a gzip or zlib header.
        guard inflateInit2_(&stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            input.deallocate()
            throw .readFailed(reason: "cannot start gzip decoding")
        }
    }

    deinit {
        inflateEnd(&stream)
        input.deallocate()
    }

    /// Fills up to `count` bytes at `destination`; 0 at the end of the stream.
    func read(into destination: UnsafeMutableRawPointer, count: Int) throws(InputError) -> Int {
        if let pendingError {
            self.pendingError = nil
            finished = true
            throw pendingError
        }
        guard !finished, count > 0 else { return 0 }
        stream.next_out = destination.assumingMemoryBound(to: Bytef.self)
        stream.avail_out = uInt(min(count, Int(UInt32.max)))
        while stream.avail_out > 0 {
            if stream.avail_in == 0, !inputEnded {
                let got = Glibc.read(fd, input, inputSize)
                if got < 0 {
                    if errno == EINTR { continue }
                    throw .readFailed(reason: String(cString: strerror(errno)))
                }
                if got == 0 { inputEnded = true }
                stream.next_in = input
                stream.avail_in = uInt(max(got, 0))
            }
            if stream.avail_in == 0, inputEnded {
                if memberOpen {
                    let truncated = InputError.readFailed(reason: "gzip stream is truncated")
                    if Int(stream.avail_out) == count { throw truncated }
                    pendingError = truncated  // hand out what was decoded first
                } else {
                    finished = true
                }
                break
            }
            memberOpen = true
            let code = inflate(&stream, Z_NO_FLUSH)
            if code == Z_STREAM_END {
                memberOpen = false
                inflateReset(&stream)  // another member may follow
                continue
            }
            guard code == Z_OK || code == Z_BUF_ERROR else {
                let message = stream.msg.map { String(cString: $0) } ?? "code \(code)"
                throw .readFailed(reason: "corrupt gzip data: \(message)")
            }
        }
        return count - Int(stream.avail_out)
    }
}
