import ArgumentParser
import BLIP
import BLIPData
import BLIPHub
import Foundation

/// `blip capfilt`: BLIP's CapFilt over a dataset — synthetic captions from a captioner, every
/// text filtered by an ITM model — as resumable, sharded work.
struct CapFiltCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capfilt",
        abstract: "Bootstrap a noisy image-text dataset: synthetic captions (captioner) + ITM filter (BLIP's CapFilt).",
        discussion: """
            INPUT: WebDataset tar shards as img2dataset writes them (KEY.jpg|png|webp + KEY.txt + KEY.json; paths, \
            globs or brace ranges such as 'data/{00000..00099}.tar'), or JSON lists, JSON Lines or CSV files of \
            records with "image" (a path, relative to --image-root) or "url", and "caption". Each tar is one \
            shard; record files are cut into shards of --shard-size records. Finished shards (their \
            NNNNN_stats.json exists) are skipped, so a killed run resumes by running it again. \
            --shard-index/--shard-count (or a Slurm job array's SLURM_ARRAY_TASK_ID) split the shards \
            between processes sharing --output. Default models: \(defaultCaptioner) and \(defaultFilter).
            """)

    static let defaultCaptioner = "Salesforce/blip-image-captioning-large"
    static let defaultFilter = "Salesforce/blip-itm-large-coco"

    @Option(help: "Captioning model (directory or hub id) that writes the synthetic captions.")
    var captioner: String = defaultCaptioner

    @Option(help: "Image-text retrieval model (directory or hub id) whose ITM head filters the texts.")
    var filter: String = defaultFilter

    @Option(help: ArgumentHelp("Output folder (shards, training rows, stats).", valueName: "dir"))
    var output: String

    @Option(parsing: .unconditional, help: "Keep a text when its ITM match probability is at least this.")
    var threshold = 0.5

    @Option(name: .customLong("num-captions"), parsing: .unconditional, help: "Synthetic captions per image (0: filter the web captions only).")
    var numCaptions = 1

    @Option(name: .customLong("keep-top"), parsing: .unconditional, help: "Keep at most the N best texts per image (after the threshold).")
    var keepTop: Int?

    @Option(name: .customLong("rank-by"), help: "What --keep-top and the output caption rank by: itm or itc.")
    var rankBy: String = "itm"

    @Option(parsing: .unconditional, help: "Seed of the synthetic captions (a sample's captions depend on it and its key only).")
    var seed: UInt64 = 0

    @Option(name: .customLong("batch-size"), parsing: .unconditional, help: "Images per model call.")
    var batchSize = 8

    @Option(help: "Precision of both models' Linear weights: fp32 (exact, default), bf16 or int8.")
    var precision: Precision = .fp32

    @Option(name: .customLong("shard-index"), parsing: .unconditional, help: "This process's share of the shards: every --shard-count-th from this one.")
    var shardIndex: Int?

    @Option(name: .customLong("shard-count"), parsing: .unconditional, help: "Processes splitting the shards.")
    var shardCount: Int?

    @Option(name: .customLong("shard-size"), parsing: .unconditional, help: "Records per shard of a JSON, JSON Lines or CSV input.")
    var shardSize = 10_000

    @Option(name: .customLong("image-root"), help: "Folder that relative \"image\" paths of records are under.")
    var imageRoot: String?

    @Flag(name: .customLong("allow-remote-images"), help: "Fetch \"url\" records over http(s) (otherwise they are error rows).")
    var allowRemoteImages = false

    @Option(name: .customLong("remote-timeout"), parsing: .unconditional, help: "Seconds a remote image may take in all.")
    var remoteTimeout = 10.0

    @Option(name: .customLong("max-remote-bytes"), parsing: .unconditional, help: "Largest remote image, in bytes.")
    var maxRemoteBytes = 16 << 20

    @Flag(name: .customLong("keep-raw-text"), help: "Score the texts as they are (default: cleaned as BLIP's pre_caption).")
    var keepRawText = false

    @Option(name: .customLong("max-words"), parsing: .unconditional, help: "pre_caption's word limit.")
    var maxWords = 30

    @Flag(name: .customLong("list-shards"), help: "Print the shard plan (one JSON object per shard: index, name, source, done) and exit.")
    var listShards = false

    @OptionGroup var threadsOption: ThreadsOption
    @OptionGroup var imageOptions: ImageInputOptions

    @Argument(help: "Input shards and record files.")
    var inputs: [String]

    func validate() throws {
        if inputs.isEmpty { throw ValidationError("give at least one INPUT (tar shards or record files)") }
        guard CapFiltOptions.RankBy(rawValue: rankBy) != nil else { throw ValidationError("--rank-by must be itm or itc, got \(rankBy)") }
        switch (shardIndex, shardCount) {
        case (nil, nil): break
        case let (i?, n?):
            guard n >= 1, (0..<n).contains(i) else { throw ValidationError("--shard-index must be in 0..<--shard-count (got \(i) of \(n))") }
        default: throw ValidationError("give --shard-index and --shard-count together")
        }
        try checkOption("--shard-size", shardSize, 1...100_000_000)
        guard remoteTimeout.isFinite, remoteTimeout > 0 else { throw ValidationError("--remote-timeout must be a positive number of seconds") }
        try checkOption("--max-remote-bytes", maxRemoteBytes, 1...(1 << 30))
    }

    var options: CapFiltOptions {
        var o = CapFiltOptions()
        o.threshold = threshold
        o.numCaptions = numCaptions
        o.keepTop = keepTop
        o.rankBy = CapFiltOptions.RankBy(rawValue: rankBy) ?? .itm
        o.seed = seed
        o.batchSize = batchSize
        o.cleanText = !keepRawText
        o.maxWords = maxWords
        return o
    }

    func run() throws {
        try reportingErrors { try execute() }
    }

    func execute() throws {
        do {
            let options = self.options
            try options.validate()
            let plan = try ShardPlan(inputs: inputs, shardSize: shardSize)
            let (index, count) = assignment()
            let statsFolder = URL(fileURLWithPath: self.output)
            if listShards {
                for shard in plan.shards {
                    let done = FileManager.default.fileExists(atPath: statsFolder.appendingPathComponent("\(shard.name)_stats.json").path)
                    let line: [String: Any] = ["index": shard.index, "name": shard.name, "source": shard.description, "done": done]
                    print(String(decoding: try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys, .withoutEscapingSlashes]),
                                 as: UTF8.self))
                }
                return
            }
            let mine = plan.assigned(index: index, count: count)
            let compute = threadsOption.compute
            let models = CapFiltModels(
                captioner: try BlipCaptioner(modelDirectory: try ModelResolver.resolve(captioner), precision: precision, compute: compute),
                filter: try BlipImageTextMatcher(modelDirectory: try ModelResolver.resolve(filter), precision: precision, compute: compute))
            let (timeout, maxBytes) = (remoteTimeout, maxRemoteBytes)
            var fetch: (@Sendable (String) throws -> Data)?
            if allowRemoteImages {
                fetch = { (url: String) throws -> Data in try RemoteFile.fetch(url, maxBytes: maxBytes, timeout: timeout) }
            }
            let loading = ImageLoading(maxPixels: imageOptions.maxPixels, applyExifOrientation: !imageOptions.ignoreExif,
                                       fetch: fetch)
            let output = URL(fileURLWithPath: self.output)
            let runner = CapFiltRunner(models: models, options: options, output: output, loading: loading, imageRoot: imageRoot)
            let todo = mine.filter { runner.finishedStats($0) == nil }
            printError("capfilt: \(plan.shards.count) shards in all, \(mine.count) for this process (\(index) of \(count)), "
                       + "\(mine.count - todo.count) already done")
            let reporter = ProgressReporter(unit: "shards")
            let started = Date()
            var shardsDone = mine.count - todo.count
            var lastShard = ""
            let total = mine.count
            let progress: (CapFiltProgress) -> Void = { (p: CapFiltProgress) in
                if p.shard != lastShard, !lastShard.isEmpty { shardsDone += 1 }
                lastShard = p.shard
                let rate = Double(p.samples) / max(Date().timeIntervalSince(started), 1e-3)
                let kept: Double = p.scoredTexts == 0 ? 0 : 100 * Double(p.keptTexts) / Double(p.scoredTexts)
                let detail = String(format: "%d images, %.2f img/s, %.0f%% of texts kept", p.samples, rate, kept)
                reporter.update(done: shardsDone, total: total, detail: detail)
            }
            let stats = try runner.run(mine, progress: progress)
            reporter.update(done: mine.count, total: mine.count)
            reporter.finish()
            var sum = ShardStats(shard: "all", source: "")
            for s in stats { sum.add(s) }
            let summary = CapFiltSummary(stats: sum, shards: stats.count, wall: Date().timeIntervalSince(started))
            print(summary.line)
            if let merged = try CapFiltSummary.mergeIfComplete(plan: plan, runner: runner) {
                printError("capfilt: every shard is done: \(merged.path) and summary.json written")
            }
        }
    }

    /// `--shard-index/--shard-count`, else the Slurm job array's, else the whole plan.
    func assignment() -> (Int, Int) {
        if let shardIndex, let shardCount { return (shardIndex, shardCount) }
        if let slurm = ShardPlan.slurmAssignment() { return slurm }
        return (0, 1)
    }
}
