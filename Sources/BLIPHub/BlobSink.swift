import Foundation

/// Appends a response body to the `.incomplete` file, hashing and drawing progress as it goes.
final class BlobSink: HTTPBodySink, @unchecked Sendable {
    private let path: URL
    private let handle: FileHandle
    private let hashing: Bool
    private var hasher: SHA256?
    private let progress: ProgressBar
    /// Bytes already on disk when the transfer started (sent as the range start).
    let resumeOffset: Int64
    /// Bytes of the file on disk now.
    private(set) var total: Int64
    /// Body bytes received by this transfer.
    private(set) var received: Int64 = 0
    private let onProgress: ((Int64) -> Void)?
    private var reported: Int64 = -1

    init(path: URL, expectedSize: Int64?, hashing: Bool, label: String, progress: Bool,
         onProgress: ((Int64) -> Void)? = nil) throws {
        self.path = path
        self.onProgress = onProgress
        self.hashing = hashing
        let manager = FileManager.default
        try? manager.createDirectory(at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
        var existing = (try? manager.attributesOfItem(atPath: path.path)[.size] as? NSNumber)?.int64Value ?? 0
        if let expectedSize, existing > expectedSize {
            try? manager.removeItem(at: path)
            existing = 0
        }
        if !manager.fileExists(atPath: path.path) { _ = manager.createFile(atPath: path.path, contents: nil) }
        guard let handle = FileHandle(forUpdatingAtPath: path.path) else {
            throw HubError.cache(path: path.path, message: "cannot open for writing")
        }
        self.handle = handle
        resumeOffset = existing
        total = existing
        self.progress = ProgressBar(label: label, total: expectedSize ?? 0, already: existing, enabled: progress)
        if hashing {
            var h = SHA256()
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { h.update(chunk) }
            hasher = h
        }
        try handle.seek(toOffset: UInt64(existing))
    }

    func begin(_ response: HTTPResponse) throws {
        if response.status == 206 {
            // "bytes START-END/TOTAL": the server must continue where our partial file ends.
            let range = response[header: "content-range"] ?? ""
            let start = range.split(separator: " ").last?.split(separator: "-").first.flatMap { Int64($0) }
            guard start == resumeOffset else {
                throw HubError.badResponse(url: response.url.absoluteString,
                                           message: "range \(range) does not start at \(resumeOffset)")
            }
        } else if resumeOffset > 0 {
            // The server ignored our range: start over.
            try handle.truncate(atOffset: 0)
            total = 0
            if hashing { hasher = SHA256() }
        }
    }

    func write(_ data: Data) throws {
        try handle.write(contentsOf: data)
        hasher?.update(data)
        total += Int64(data.count)
        received += Int64(data.count)
        progress.update(total)
        if let onProgress, total - reported >= 1 << 20 {
            reported = total
            onProgress(total)
        }
    }

    /// Flushes and closes the file.
    func close() {
        try? handle.synchronize()
        try? handle.close()
        progress.finish(total)
        if let onProgress, total != reported {
            reported = total
            onProgress(total)
        }
    }

    /// The sha256 of the whole file (when hashing).
    func digest() -> String? {
        guard var h = hasher else { return nil }
        return h.finalize()
    }
}
