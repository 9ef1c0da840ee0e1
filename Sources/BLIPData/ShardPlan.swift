import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One unit of resumable work: a WebDataset tar, or a slice of a record file.
public struct Shard: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        case tar(path: String)
        case records(path: String, format: RecordFormat, range: Range<Int>)
    }

    /// Position in the plan (0-based); names the outputs (`00042.tar`, `00042_stats.json`).
    public var index: Int
    public var source: Source
    /// Digits of a record's position in the keys of a record shard (`00042` + `0007`).
    public var keyWidth = 4

    public var name: String { String(format: "%05d", index) }

    /// The input it reads, for messages and stats.
    public var description: String {
        switch source {
        case .tar(let path): return path
        case .records(let path, _, let range): return "\(path) records \(range.lowerBound)..<\(range.upperBound)"
        }
    }
}

/// The shards of a run, in a fixed order, and which of them one process of N takes.
public struct ShardPlan: Sendable, Equatable {
    public var shards: [Shard]

    /// Expands `inputs` (paths, globs such as `data/*.tar`, brace ranges such as
    /// `data/{00000..00099}.tar` or lists `{a,b}`) and cuts record files into shards of
    /// `shardSize` records. Tar files are one shard each. Throws when an input names nothing.
    public init(inputs: [String], shardSize: Int) throws {
        guard shardSize >= 1 else { throw DatasetInputError(message: "the shard size must be at least 1, got \(shardSize)") }
        var shards: [Shard] = []
        for input in inputs {
            let paths = try Self.expand(input)
            for path in paths {
                guard let format = RecordFormat(path: path) else {
                    throw DatasetInputError(message: "\(path): unknown input format (expected .tar, .json, .jsonl or .csv)")
                }
                if format == .tar {
                    shards.append(Shard(index: shards.count, source: .tar(path: path)))
                    continue
                }
                let count = try Self.recordCount(path: path, format: format)
                var start = 0
                while start < count {
                    let end = min(start + shardSize, count)
                    shards.append(Shard(index: shards.count, source: .records(path: path, format: format, range: start..<end),
                                        keyWidth: max(4, String(shardSize - 1).count)))
                    start = end
                }
            }
        }
        self.shards = shards
    }

    /// The shards process `index` of `count` runs: every `count`-th, starting at `index`.
    public func assigned(index: Int, count: Int) -> [Shard] {
        shards.filter { $0.index % count == index }
    }

    /// Slurm job-array position from the environment (`SLURM_ARRAY_TASK_ID`, and
    /// `SLURM_ARRAY_TASK_COUNT`, or min/max), when present.
    public static func slurmAssignment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> (index: Int, count: Int)? {
        guard let id = environment["SLURM_ARRAY_TASK_ID"].flatMap(Int.init) else { return nil }
        let minID = environment["SLURM_ARRAY_TASK_MIN"].flatMap(Int.init) ?? 0
        if let count = environment["SLURM_ARRAY_TASK_COUNT"].flatMap(Int.init), count > 0 {
            return (id - minID, count)
        }
        if let maxID = environment["SLURM_ARRAY_TASK_MAX"].flatMap(Int.init) { return (id - minID, maxID - minID + 1) }
        return nil
    }

    /// Records in a file (a malformed line counts: it becomes an error row).
    static func recordCount(path: String, format: RecordFormat) throws -> Int {
        if format == .jsonl {
            guard let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe) else {
                throw DatasetInputError(message: "\(path): cannot read the file")
            }
            return data.split(separator: UInt8(ascii: "\n")).filter { !$0.allSatisfy { $0 == 32 || $0 == 9 || $0 == 13 } }.count
        }
        return try RecordCache.shared.records(path: path, format: format).count
    }

    /// Brace expansion, then globbing; a path without wildcards must exist.
    static func expand(_ input: String) throws -> [String] {
        var out: [String] = []
        for pattern in braceExpand(input) {
            if pattern.contains(where: { "*?[".contains($0) }) {
                let matches = glob(pattern)
                if matches.isEmpty { throw DatasetInputError(message: "\(pattern): no file matches") }
                out += matches
            } else {
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: pattern, isDirectory: &isDirectory) else {
                    throw DatasetInputError(message: "\(pattern): no such file")
                }
                if isDirectory.boolValue { throw DatasetInputError(message: "\(pattern): is a directory (give its files, e.g. \(pattern)/*.tar)") }
                out.append(pattern)
            }
        }
        return out
    }

    /// `a{1..3}b` → a1b a2b a3b (zero padding kept: `{000..002}`); `{x,y}` → x y; nested left to right.
    static func braceExpand(_ s: String) -> [String] {
        guard let open = s.firstIndex(of: "{"), let close = s[open...].firstIndex(of: "}") else { return [s] }
        let head = String(s[..<open]), body = String(s[s.index(after: open)..<close]), tail = String(s[s.index(after: close)...])
        var items: [String]
        let range = body.components(separatedBy: "..")
        if range.count == 2, let a = Int(range[0]), let b = Int(range[1]), a <= b, b - a < 1_000_000 {
            let width = range[0].count
            items = (a...b).map { n in
                let digits = String(n)
                return range[0].hasPrefix("0") ? String(repeating: "0", count: max(0, width - digits.count)) + digits : digits
            }
        } else if body.contains(",") {
            items = body.components(separatedBy: ",")
        } else {
            return braceExpand(head + "\u{1}" + body + "\u{2}" + tail).map {
                $0.replacingOccurrences(of: "\u{1}", with: "{").replacingOccurrences(of: "\u{2}", with: "}")
            }
        }
        return items.flatMap { braceExpand(head + $0 + tail) }
    }

    static func glob(_ pattern: String) -> [String] {
        var g = glob_t()
        defer { globfree(&g) }
        guard Glibc.glob(pattern, 0, nil, &g) == 0 else { return [] }
        return (0..<Int(g.gl_pathc)).compactMap { g.gl_pathv[$0].map { String(cString: $0) } }.sorted()
    }
}

/// Parsed record files, read once per process (every shard of a JSON or CSV file reads a slice).
final class RecordCache: @unchecked Sendable {
    static let shared = RecordCache()
    private let lock = NSLock()
    private var cache: [String: [Result<[String: JSONValue], DatasetInputError>]] = [:]

    func records(path: String, format: RecordFormat) throws -> [Result<[String: JSONValue], DatasetInputError>] {
        if let hit = lock.withLock({ cache[path] }) { return hit }
        let records = try RecordReader.records(path: path, format: format)
        lock.withLock { cache[path] = records }
        return records
    }
}
