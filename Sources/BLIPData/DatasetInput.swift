import Foundation

/// Where a sample's image is.
public enum ImageSource: Sendable, Equatable {
    /// Bytes read from a WebDataset member, with the member's extension ("jpg", "png", "webp").
    case bytes(Data, ext: String)
    /// A file path (already joined with `--image-root`).
    case file(String)
    /// An http(s) URL, fetched only when remote images are allowed.
    case url(String)
    /// None could be found: why.
    case missing(String)
}

/// One sample of an input dataset: an image, its web caption, and the record it came from.
public struct DatasetSample: Sendable, Equatable {
    /// Unique within the run: the WebDataset key, or shard number + position for record files.
    public var key: String
    public var image: ImageSource
    /// The web caption; nil when the sample has none.
    public var caption: String?
    /// Why the caption is unusable (empty, not UTF-8, not a string), when it is.
    public var captionError: String?
    /// The original record (`KEY.json` or the JSON/CSV row), passed through to the output.
    public var record: [String: JSONValue]
    /// The record itself is unusable (malformed JSON line...): the sample is an error row.
    public var recordError: String?
}

/// Input file formats.
public enum RecordFormat: String, Sendable, Equatable {
    case json, jsonl, csv, tar

    /// By extension (`.json`, `.jsonl`/`.ndjson`, `.csv`, `.tar`).
    public init?(path: String) {
        switch (path as NSString).pathExtension.lowercased() {
        case "json": self = .json
        case "jsonl", "ndjson": self = .jsonl
        case "csv": self = .csv
        case "tar": self = .tar
        default: return nil
        }
    }
}

/// An input error that stops the run before it starts (no such file, unknown format...).
public struct DatasetInputError: Error, LocalizedError, Equatable, Sendable {
    public var message: String
    public var errorDescription: String? { message }
}

/// Reads the records of JSON, JSON Lines and CSV files: each record's fields as JSON values.
public enum RecordReader {
    /// Every record of `path`, in order; a malformed JSON line is a record error, not a failure.
    public static func records(path: String, format: RecordFormat) throws -> [Result<[String: JSONValue], DatasetInputError>] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe)
        } catch {
            throw DatasetInputError(message: "\(path): cannot read the file (\(error.localizedDescription))")
        }
        switch format {
        case .json:
            let value: JSONValue
            do { value = try JSONValue.parse(data) } catch {
                throw DatasetInputError(message: "\(path): not valid JSON: \(describeJSONError(error))")
            }
            guard case .array(let items) = value else {
                throw DatasetInputError(message: "\(path): expected a JSON list of records ([{\"image\": ..., \"caption\": ...}, ...])")
            }
            return items.enumerated().map { i, item in
                item.objectValue.map { .success($0) }
                    ?? .failure(DatasetInputError(message: "record \(i) is not a JSON object"))
            }
        case .jsonl:
            var out: [Result<[String: JSONValue], DatasetInputError>] = []
            for (n, line) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
                if line.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { continue }
                do {
                    guard let object = try JSONValue.parse(Data(line)).objectValue else {
                        out.append(.failure(DatasetInputError(message: "line \(n + 1) is not a JSON object")))
                        continue
                    }
                    out.append(.success(object))
                } catch {
                    out.append(.failure(DatasetInputError(message: "line \(n + 1): malformed JSON (\(describeJSONError(error)))")))
                }
            }
            return out
        case .csv:
            let rows = CSV.parse(data)
            guard let header = rows.first else { return [] }
            let names = header.map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespaces) }
            return rows.dropFirst().enumerated().compactMap { i, row in
                if row.count == 1 && row[0].isEmpty { return nil }  // blank line
                var object: [String: JSONValue] = [:]
                for (name, field) in zip(names, row) {
                    guard let text = String(validating: field, as: UTF8.self) else {
                        return .failure(DatasetInputError(message: "row \(i + 2): field \"\(name)\" is not UTF-8"))
                    }
                    object[name] = .string(text)
                }
                return .success(object)
            }
        case .tar:
            throw DatasetInputError(message: "\(path): a tar file holds samples, not records")
        }
    }

    /// The sample of one record: `image` (a path, relative to `imageRoot` unless absolute) or
    /// `url`, and `caption`.
    public static func sample(key: String, record: Result<[String: JSONValue], DatasetInputError>, imageRoot: String?) -> DatasetSample {
        let fields: [String: JSONValue]
        switch record {
        case .failure(let error):
            return DatasetSample(key: key, image: .missing(error.message), caption: nil, captionError: nil, record: [:],
                                 recordError: error.message)
        case .success(let f):
            fields = f
        }
        let image: ImageSource
        if let path = fields["image"]?.stringValue, !path.isEmpty {
            let joined = path.hasPrefix("/") || imageRoot == nil ? path : (imageRoot! as NSString).appendingPathComponent(path)
            image = .file(joined)
        } else if let url = fields["url"]?.stringValue, !url.isEmpty {
            image = .url(url)
        } else {
            image = .missing("the record has no \"image\" path or \"url\"")
        }
        var caption: String?
        var captionError: String?
        switch fields["caption"] {
        case .string(let s)?: caption = s
        case nil, .null?: captionError = "no caption"
        default: captionError = "the caption is not a string"
        }
        return DatasetSample(key: key, image: image, caption: caption, captionError: captionError, record: fields,
                             recordError: nil)
    }
}

/// RFC 4180 CSV: fields separated by commas, quoted fields may hold commas, newlines and doubled
/// quotes. Fields are bytes (decoded by the caller, so one bad field is one bad row).
enum CSV {
    static func parse(_ data: Data) -> [[[UInt8]]] {
        var rows: [[[UInt8]]] = []
        var row: [[UInt8]] = []
        var field: [UInt8] = []
        var quoted = false
        let bytes = [UInt8](data)
        var k = 0
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { k = 3 }  // BOM
        while k < bytes.count {
            let b = bytes[k]
            if quoted {
                if b == UInt8(ascii: "\"") {
                    if k + 1 < bytes.count && bytes[k + 1] == UInt8(ascii: "\"") { field.append(b); k += 1 } else { quoted = false }
                } else {
                    field.append(b)
                }
            } else {
                switch b {
                case UInt8(ascii: "\""): quoted = true
                case UInt8(ascii: ","): row.append(field); field = []
                case UInt8(ascii: "\n"):
                    row.append(field); field = []
                    rows.append(row); row = []
                case UInt8(ascii: "\r"): break
                default: field.append(b)
                }
            }
            k += 1
        }
        if !field.isEmpty || !row.isEmpty { row.append(field); rows.append(row) }
        return rows
    }
}

/// Groups the members of a WebDataset tar into samples, as `webdataset` does: a member's key is
/// its path up to the first dot of its file name, its extension the rest; consecutive members
/// with one key are one sample.
public final class WebDatasetReader {
    private let tar: TarReader
    private var pending: (key: String, ext: String, data: Data)?
    public let path: String

    public init(path: String) throws {
        self.path = path
        tar = try TarReader(path: path)
    }

    static func split(_ name: String) -> (key: String, ext: String) {
        let slash = name.lastIndex(of: "/").map { name.index(after: $0) } ?? name.startIndex
        guard let dot = name[slash...].firstIndex(of: ".") else { return (name, "") }
        return (String(name[..<dot]), String(name[name.index(after: dot)...]).lowercased())
    }

    /// The next sample's members (extension → bytes), or nil at the end.
    public func nextMembers() throws -> (key: String, members: [String: Data])? {
        var key: String?
        var members: [String: Data] = [:]
        while true {
            let member: (key: String, ext: String, data: Data)
            if let p = pending {
                member = p
                pending = nil
            } else if let m = try tar.next() {
                let (k, e) = Self.split(m.name)
                member = (k, e, m.data)
            } else {
                return key.map { ($0, members) }
            }
            if let key, member.key != key {
                pending = member
                return (key, members)
            }
            key = member.key
            members[member.ext] = member.data
        }
    }

    /// The next sample: the first of jpg/jpeg/png/webp as the image, `txt` as the caption,
    /// `json` as the record.
    public func next() throws -> DatasetSample? {
        guard let (key, members) = try nextMembers() else { return nil }
        let imageExt = ["jpg", "jpeg", "png", "webp"].first { members[$0] != nil }
        let image: ImageSource = imageExt.map { .bytes(members[$0]!, ext: $0) } ?? .missing("the sample has no jpg, png or webp member")
        var caption: String?
        var captionError: String?
        if let txt = members["txt"] {
            if let s = String(validating: txt, as: UTF8.self) { caption = s } else { captionError = "the caption (txt) is not UTF-8" }
        } else {
            captionError = "no caption (txt member)"
        }
        var record: [String: JSONValue] = [:]
        var recordNote: String?
        if let json = members["json"] {
            if let object = (try? JSONValue.parse(json))?.objectValue { record = object } else { recordNote = "the json member is not a JSON object" }
        }
        if let recordNote { record["json_error"] = .string(recordNote) }
        return DatasetSample(key: key, image: image, caption: caption, captionError: captionError, record: record, recordError: nil)
    }
}
