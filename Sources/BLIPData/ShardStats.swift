import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Counts of one finished shard (`NNNNN_stats.json`, written last: the shard's done-marker).
public struct ShardStats: Codable, Sendable, Equatable {
    public var shard: String
    public var source: String
    /// Input samples (records or tar samples), failed ones included.
    public var samples = 0
    /// Samples whose image could not be read or decoded, or whose record was malformed.
    public var failed = 0
    /// Failures by status ("failed_to_read", "failed_to_decode", "bad_record").
    public var failures: [String: Int] = [:]
    /// Samples whose web caption was missing, empty or not UTF-8 (their image is still captioned).
    public var captionErrors = 0
    public var webTotal = 0
    public var webKept = 0
    public var syntheticTotal = 0
    public var syntheticKept = 0
    /// Samples written to the output tar (those with at least one kept text).
    public var written = 0
    public var seconds = 0.0
    /// The input archive could not be read to its end (the samples before are processed).
    public var inputError: String?

    public init(shard: String, source: String) {
        self.shard = shard
        self.source = source
    }

    enum CodingKeys: String, CodingKey {
        case shard, source, samples, failed, failures, seconds, written
        case captionErrors = "caption_errors", webTotal = "web_total", webKept = "web_kept"
        case syntheticTotal = "synthetic_total", syntheticKept = "synthetic_kept", inputError = "input_error"
    }

    /// Adds another shard's counts (for the run summary).
    public mutating func add(_ o: ShardStats) {
        samples += o.samples
        failed += o.failed
        for (k, v) in o.failures { failures[k, default: 0] += v }
        captionErrors += o.captionErrors
        webTotal += o.webTotal
        webKept += o.webKept
        syntheticTotal += o.syntheticTotal
        syntheticKept += o.syntheticKept
        written += o.written
        seconds += o.seconds
    }

    func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return (try? encoder.encode(self)) ?? Data()
    }
}

/// A file written under a temporary name in its folder and renamed into place when complete: a
/// reader never sees half of it, and a killed run leaves only a `.tmp` file that the next run
/// overwrites.
final class AtomicFile {
    let url: URL
    let temporary: URL
    private let handle: FileHandle

    init(_ url: URL) throws {
        self.url = url
        temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
        // open(2), not FileManager.createFile: that writes through a `.dat.nosync…` file of its
        // own, which a run killed at that moment leaves behind.
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw DatasetInputError(message: "\(temporary.path): cannot write (errno \(errno))") }
        handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    }

    func write(_ data: Data) throws { try handle.write(contentsOf: data) }

    /// Flushes to disk and renames into place.
    func commit() throws {
        try handle.synchronize()
        try handle.close()
        guard rename(temporary.path, url.path) == 0 else {  // atomic, replacing an older file
            throw DatasetInputError(message: "\(url.path): cannot rename into place (errno \(errno))")
        }
    }

    /// Drops the temporary file.
    func discard() {
        try? handle.close()
        try? FileManager.default.removeItem(at: temporary)
    }

    /// Writes `data` to `url` atomically.
    static func write(_ data: Data, to url: URL) throws {
        let file = try AtomicFile(url)
        try file.write(data)
        try file.commit()
    }
}
