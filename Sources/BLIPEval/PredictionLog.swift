import Foundation

/// Predictions written one JSON line at a time as a model produces them (`--output DIR`), so a
/// run that stops can be resumed — the ids already there are skipped — and re-scored later
/// from the file alone.
public final class PredictionLog {
    public let url: URL
    /// The records already in the file, by id (last one wins).
    public private(set) var records: [String: [String: Any]] = [:]
    private let handle: FileHandle
    private let idKey: String

    /// Opens (creating) `url`; `idKey` names each record's id field ("image_id", "question_id").
    /// A last line cut short by a crash is dropped.
    public init(url: URL, idKey: String) throws {
        self.url = url
        self.idKey = idKey
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        if let data = try? Data(contentsOf: url) {
            var keep = 0
            for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                      let id = EvalFiles.id(object[idKey]) else { break }
                records[id] = object
                keep += line.count + 1
            }
            if keep < data.count { try Data(data.prefix(keep)).write(to: url) }  // a torn last line
        } else {
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                throw EvalError.invalid("\(url.path): cannot create the predictions file")
            }
        }
        guard let handle = FileHandle(forWritingAtPath: url.path) else { throw EvalError.invalid("\(url.path): cannot write") }
        try handle.seekToEnd()
        self.handle = handle
    }

    deinit { try? handle.close() }

    public func contains(_ id: String) -> Bool { records[id] != nil }

    /// Appends one record and flushes it to disk.
    public func append(_ record: [String: Any]) throws {
        let data = try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys, .withoutEscapingSlashes])
        try handle.write(contentsOf: data + Data("\n".utf8))
        try handle.synchronize()
        if let id = EvalFiles.id(record[idKey]) { records[id] = record }
    }
}
