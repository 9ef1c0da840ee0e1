import Foundation

/// The totals of a run, and the files written once every shard of the plan is done.
public struct CapFiltSummary: Sendable {
    public var stats: ShardStats
    public var shards: Int
    /// Wall-clock seconds of this process's run.
    public var wall: Double

    public init(stats: ShardStats, shards: Int, wall: Double) {
        self.stats = stats
        self.shards = shards
        self.wall = wall
    }

    static func percent(_ a: Int, _ b: Int) -> String { b == 0 ? "-" : String(format: "%.1f%%", 100 * Double(a) / Double(b)) }

    /// One line: samples, failures, kept web and synthetic texts, images per second of model work.
    public var line: String {
        let s = stats
        let rate = s.seconds > 0 ? Double(s.samples - s.failed) / s.seconds : 0
        return "capfilt: \(shards) shards, \(s.samples) samples (\(s.failed) failed, \(s.captionErrors) without a usable caption); "
            + "web captions kept \(s.webKept)/\(s.webTotal) (\(Self.percent(s.webKept, s.webTotal))), "
            + "synthetic kept \(s.syntheticKept)/\(s.syntheticTotal) (\(Self.percent(s.syntheticKept, s.syntheticTotal))); "
            + "\(s.written) images written; " + String(format: "%.2f images/s", rate)
    }

    /// When every shard of `plan` has its stats file: `capfilt.jsonl` (every shard's training
    /// rows, in shard order), `capfilt.json` (the same rows as one JSON list, as BLIP's
    /// `pretrain_dataset` loads it) and `summary.json`. Written atomically, so several processes
    /// finishing together write the same files. Returns the JSON Lines file, or nil when shards
    /// are still missing.
    public static func mergeIfComplete(plan: ShardPlan, runner: CapFiltRunner) throws -> URL? {
        var total = ShardStats(shard: "all", source: "")
        for shard in plan.shards {
            guard let s = runner.finishedStats(shard) else { return nil }
            total.add(s)
        }
        let lines = runner.output.appendingPathComponent("capfilt.jsonl")
        let list = runner.output.appendingPathComponent("capfilt.json")
        let jsonl = try AtomicFile(lines)
        let json = try AtomicFile(list)
        try json.write(Data("[".utf8))
        var first = true
        for shard in plan.shards {
            let rows = try Data(contentsOf: runner.output.appendingPathComponent("\(shard.name).jsonl"))
            try jsonl.write(rows)
            for line in rows.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
                try json.write(Data((first ? "\n" : ",\n").utf8) + line)
                first = false
            }
        }
        try json.write(Data("\n]\n".utf8))
        try jsonl.commit()
        try json.commit()
        var summary = total
        summary.source = plan.shards.map(\.description).joined(separator: "; ")
        try AtomicFile.write(summary.encoded(), to: runner.output.appendingPathComponent("summary.json"))
        return lines
    }
}
