import BLIP
import Foundation

/// Progress of a CapFilt run, after each batch.
public struct CapFiltProgress: Sendable {
    public var shard: String
    /// Samples done in this run (all shards so far), and texts kept / scored.
    public var samples: Int
    public var keptTexts: Int
    public var scoredTexts: Int
}

/// How a sample's image bytes are obtained (files, and URLs when remote images are allowed).
public struct ImageLoading: Sendable {
    public var maxPixels = RGBImage.defaultMaxPixels
    public var applyExifOrientation = true
    /// Fetches a URL; nil: remote images are refused (`--allow-remote-images`).
    public var fetch: (@Sendable (String) throws -> Data)?

    public init(maxPixels: Int = RGBImage.defaultMaxPixels, applyExifOrientation: Bool = true,
                fetch: (@Sendable (String) throws -> Data)? = nil) {
        self.maxPixels = maxPixels
        self.applyExifOrientation = applyExifOrientation
        self.fetch = fetch
    }
}

/// Runs CapFilt over shards into an output folder, resumably: a shard's outputs are written under
/// temporary names and renamed when complete, its stats file last (the done-marker); a shard
/// with a stats file is skipped. Per shard: `NNNNN.tar` (WebDataset: the image bytes untouched,
/// `KEY.txt` the best kept text, `KEY.json` the record with every text's scores), `NNNNN.jsonl`
/// (BLIP's training format, one row per kept text), `NNNNN_meta.jsonl` (one row per input
/// sample, failures included, with `status` and `error`) and `NNNNN_stats.json`.
public struct CapFiltRunner: Sendable {
    public let models: CapFiltModels
    public let options: CapFiltOptions
    public let output: URL
    public let loading: ImageLoading
    public let imageRoot: String?

    public init(models: CapFiltModels, options: CapFiltOptions, output: URL, loading: ImageLoading = ImageLoading(),
                imageRoot: String? = nil) {
        self.models = models
        self.options = options
        self.output = output
        self.loading = loading
        self.imageRoot = imageRoot
    }

    public func statsURL(_ shard: Shard) -> URL { output.appendingPathComponent("\(shard.name)_stats.json") }

    /// Whether `shard` was finished by an earlier run (its stats file is there and readable).
    public func finishedStats(_ shard: Shard) -> ShardStats? {
        guard let data = try? Data(contentsOf: statsURL(shard)) else { return nil }
        return try? JSONDecoder().decode(ShardStats.self, from: data)
    }

    /// Runs every shard of `shards` not finished yet; returns the stats of all of them (earlier
    /// runs' included). `progress` is called after every batch.
    public func run(_ shards: [Shard], progress: ((CapFiltProgress) -> Void)? = nil) throws -> [ShardStats] {
        try options.validate()
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        var all: [ShardStats] = []
        var running = CapFiltProgress(shard: "", samples: 0, keptTexts: 0, scoredTexts: 0)
        for shard in shards {
            if let done = finishedStats(shard) {
                all.append(done)
                continue
            }
            running.shard = shard.name
            all.append(try runShard(shard) { batch in
                running.samples += batch.samples
                running.keptTexts += batch.kept
                running.scoredTexts += batch.scored
                progress?(running)
            })
        }
        return all
    }

    /// Processes one shard from scratch and commits its outputs.
    func runShard(_ shard: Shard, onBatch: ((samples: Int, kept: Int, scored: Int)) -> Void) throws -> ShardStats {
        let started = Date()
        removeLeftovers(of: shard)
        var stats = ShardStats(shard: shard.name, source: shard.description)
        let tar = try AtomicFile(output.appendingPathComponent("\(shard.name).tar"))
        let rows = try AtomicFile(output.appendingPathComponent("\(shard.name).jsonl"))
        let meta = try AtomicFile(output.appendingPathComponent("\(shard.name)_meta.jsonl"))
        var committed = false
        defer { if !committed { tar.discard(); rows.discard(); meta.discard() } }

        let source = try SampleSource(shard: shard, imageRoot: imageRoot)
        let loader = BatchLoader(source: source, models: models, loading: loading, batchSize: options.batchSize)
        var writer = TarWriter()
        try forEachPrefetched(next: { loader.next() }, consume: { (batch: LoadedBatch) in
            let scored = try batch.pixels.map { pixels in
                try models.score(pixels.get(), keys: batch.ready.map { batch.samples[$0].sample.key },
                                 webTexts: batch.ready.map { webText(batch.samples[$0].sample) }, options: options)
            } ?? []
            var next = scored.makeIterator()
            var kept = 0, total = 0
            for loaded in batch.samples {
                let result = ShardSampleResult(loaded: loaded, texts: loaded.failure == nil ? (next.next() ?? []) : [],
                                               options: options, shardName: shard.name)
                result.count(into: &stats)
                kept += result.texts.filter(\.kept).count
                total += result.texts.count
                try meta.write(result.metaLine())
                if let members = result.tarMembers() {
                    for (name, data) in members { writer.add(name: name, data: data) }
                    try tar.write(writer.drain())
                    try rows.write(result.trainingLines())
                    stats.written += 1
                }
            }
            onBatch((batch.samples.count, kept, total))
        })
        stats.inputError = loader.inputError
        try tar.write(TarWriter.endOfArchive)
        stats.seconds = (Date().timeIntervalSince(started) * 1000).rounded() / 1000
        try tar.commit()
        try rows.commit()
        try meta.commit()
        committed = true
        try AtomicFile.write(stats.encoded(), to: statsURL(shard))
        return stats
    }

    /// Deletes the temporary files a killed run left for `shard` (this run writes it anew).
    func removeLeftovers(of shard: Shard) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: output.path)) ?? []
        for name in names where name.hasPrefix(".\(shard.name)") && name.hasSuffix(".tmp") {
            try? FileManager.default.removeItem(at: output.appendingPathComponent(name))
        }
    }

    /// The web caption as the filter sees it (cleaned), or nil when it is unusable.
    func webText(_ sample: DatasetSample) -> String? {
        guard let caption = sample.caption else { return nil }
        let text = options.cleanText ? preCaption(caption, maxWords: options.maxWords) : caption
        return text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? nil : text
    }
}
