import ArgumentParser
import BLIP
import BLIPHub
import BLIPIndex
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `blip index`: a persistent image gallery (one SQLite file) searched by text or image.
struct IndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Index images and search them by text (BLIP ITC embeddings, optional ITM re-ranking).",
        subcommands: [IndexAddCommand.self, IndexSearchCommand.self, IndexInfoCommand.self, IndexPruneCommand.self])
}

/// Which first token the ITM head sees when re-ranking (see `ITMInputMode` in BLIP).
enum IndexITMMode: String, ExpressibleByArgument, CaseIterable {
    /// The tokenizer's [CLS], as transformers runs the ITM head.
    case transformers
    /// [ENC] in place of [CLS], as BLIP's official retrieval evaluation does.
    case official

    var inputMode: ITMInputMode { self == .official ? .official : .transformers }
}

/// The model behind `blip index`: a BLIP image-text retrieval checkpoint.
func makeIndexModel(modelDirectory: URL, itmMode: IndexITMMode, precision: Precision = .fp32,
                    compute: ComputeSettings = .automatic) throws -> any ImageTextRetrievalModel {
    try BlipIndexModel(modelDirectory: modelDirectory, mode: itmMode.inputMode, precision: precision, compute: compute)
}

/// Options shared by the `index` subcommands.
struct IndexFileOption: ParsableArguments {
    @Option(name: .long, help: "Index file (SQLite). `add` creates it.")
    var index: String
}

/// `blip index add`: embeds new or changed images and stores them.
struct IndexAddCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add image files and folders (.jpg .jpeg .png .webp, recursively) to an index.",
        discussion: """
            Unchanged files (same size and modification time, or same SHA-256) are skipped; changed files are \
            re-embedded; a file with the content of an indexed one reuses its embedding. Each batch is committed \
            in its own transaction: an interrupted run loses at most the batch in flight, and running the same \
            command again finishes the job. Unreadable images are listed on stderr and skipped.
            """)

    @OptionGroup var modelOption: ModelOption<RetrievalModel>
    @OptionGroup var indexOption: IndexFileOption

    @Option(name: .customLong("batch-size"), parsing: .unconditional, help: "Images embedded and committed together.")
    var batchSize = 8

    @Flag(help: "Hash every file, even when its size and modification time are unchanged.")
    var rehash = false

    @OptionGroup var imageOptions: ImageInputOptions

    @Flag(help: "Print the summary as one JSON object.")
    var json = false

    @Argument(help: "Image files or folders.")
    var paths: [String]

    func validate() throws {
        if paths.isEmpty { throw ValidationError("give at least one image file or folder") }
        try checkOption("--batch-size", batchSize, 1...OptionLimits.maxBatchSize)
    }

    func run() throws {
        try reportingErrors {
            let model = try makeIndexModel(modelDirectory: modelOption.url, itmMode: .transformers, precision: modelOption.precision, compute: modelOption.compute)
            let index = try ImageIndex(path: indexOption.index)
            let reporter = ProgressReporter(unit: "files")
            var options = ImageIndex.AddOptions(batchSize: batchSize, maxPixels: imageOptions.maxPixels, rehash: rehash)
            options.applyExifOrientation = !imageOptions.ignoreExif
            let start = Date()
            let summary = try index.add(paths: paths, embedder: model, options: options, progress: { p in
                reporter.update(done: p.processed, total: p.total, detail: "\(p.embedded) embedded")
            })
            reporter.finish()
            let seconds = Date().timeIntervalSince(start)
            for failure in summary.failures { printError("skipped \(failure)") }
            if !summary.vanished.isEmpty {
                let shown = summary.vanished.prefix(5).joined(separator: ", ")
                printError("\(summary.vanished.count) indexed file(s) under these paths no longer exist: \(shown)"
                    + "\(summary.vanished.count > 5 ? ", ..." : ""); remove them with `blip index prune --index \(index.path)`")
            }
            let rate = seconds > 0 ? Double(summary.embedded) / seconds : 0
            let total = try index.info().imageCount
            if json {
                try printJSONLine([
                    "index": index.path, "added": summary.added, "updated": summary.updated,
                    "unchanged": summary.unchanged, "reused": summary.reused, "embedded": summary.embedded,
                    "removed": summary.removed, "failed": summary.failed, "images": total,
                    "vanished": summary.vanished, "missing": summary.missingPaths,
                    "seconds": shortDouble(seconds), "images_per_second": shortDouble(rate),
                ])
            } else {
                print("added \(summary.added), updated \(summary.updated), unchanged \(summary.unchanged), "
                    + "reused \(summary.reused), removed \(summary.removed), failed \(summary.failed); "
                    + "\(total) images in \(index.path)")
                print(String(format: "embedded %d images in %.1f s (%.2f images/s)", summary.embedded, seconds, rate))
            }
            if !summary.missingPaths.isEmpty { throw ExitCode(1) }  // a named path does not exist
        }
    }
}

/// `blip index search`: text -> images, image -> images, or image -> texts.
struct IndexSearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Search an index by text (or by image), or rank a list of texts for an image.",
        discussion: """
            ITC: cosine of BLIP's contrastive embeddings, brute force over every indexed image (fine for tens \
            of thousands). --rerank K re-scores the best K candidates with the ITM head and orders them by \
            itm + itc, as BLIP's retrieval evaluation does (itm is the match probability here). \
            With --image IMAGE --texts FILE (one text per line) the texts are ranked for the image; no index \
            is needed.
            """)

    @OptionGroup var modelOption: ModelOption<RetrievalModel>

    @OptionGroup var imageOptions: ImageInputOptions

    @Option(name: .long, help: "Index file (SQLite); not needed with --texts.")
    var index: String?

    @Option(name: .customLong("top-k"), help: "Hits to print.")
    var topK = 10

    @Option(help: "Re-rank the best K ITC candidates with ITM (0: off).")
    var rerank = 0

    @Option(name: .customLong("itm-mode"), help: "ITM first token: transformers ([CLS]) or official ([ENC]).")
    var itmMode: IndexITMMode = .transformers

    @Option(help: "Search with this image instead of a text query.")
    var image: String?

    @Option(help: "With --image: rank the lines of this file (one text per line) instead of indexed images.")
    var texts: String?

    @Flag(help: "One JSON object per hit: {\"rank\", \"image\", \"itc\", \"itm\"} (\"text\" and \"index\" with --texts).")
    var json = false

    @Argument(help: "Text query.")
    var query: String?

    func validate() throws {
        if topK < 1 { throw ValidationError("--top-k must be at least 1") }
        if rerank < 0 { throw ValidationError("--rerank must be 0 or more") }
        switch (query, image) {
        case (nil, nil): throw ValidationError("give a text query, or --image IMAGE")
        case (.some, .some): throw ValidationError("give either a text query or --image, not both")
        default: break
        }
        if texts != nil && image == nil { throw ValidationError("--texts needs --image") }
        if texts == nil && index == nil { throw ValidationError("--index is required") }
        if image != nil && texts == nil && rerank > 0 {
            throw ValidationError("--rerank needs a text: use a text query, or --image with --texts")
        }
    }

    func run() throws {
        try reportingErrors {
            if let image, let texts {
                try rankTexts(imagePath: image, textsPath: texts)
                return
            }
            // Open the index before loading the model: a wrong path fails fast.
            let gallery = try ImageIndex(path: index!, create: false)
            let model = try makeIndexModel(modelDirectory: modelOption.url, itmMode: itmMode, precision: modelOption.precision, compute: modelOption.compute)
            let hits: [ImageHit]
            if let image {
                let picture = try imageOptions.load(image)
                hits = try gallery.search(image: picture, embedder: model, topK: topK)
            } else {
                // Re-ranking encodes K images again: show how far it is.
                let progress = rerank > 0 ? ProgressReporter(unit: "re-ranked images") : nil
                let results = try gallery.search(text: query!, embedder: model, topK: topK, rerank: rerank,
                                                 reranker: rerank > 0 ? model : nil,
                                                 progress: progress.map { p in { done, total in p.update(done: done, total: total) } })
                progress?.finish()
                for failure in results.failures { printError("warning: not re-ranked: \(failure)") }
                hits = results.hits
            }
            for hit in hits {
                if json {
                    try printJSONLine(["rank": hit.rank, "image": hit.path, "itc": shortDouble(hit.itc),
                                       "itm": hit.itm.map { shortDouble($0) as Any } ?? NSNull()])
                } else {
                    print(line(rank: hit.rank, itc: hit.itc, itm: hit.itm, label: hit.path))
                }
            }
        }
    }

    private func rankTexts(imagePath: String, textsPath: String) throws {
        let content = try String(contentsOf: URL(fileURLWithPath: textsPath), encoding: .utf8)
        let list = content.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !list.isEmpty else { throw ValidationError("\(textsPath): no texts (one per line)") }
        let picture = try imageOptions.load(imagePath)
        let model = try makeIndexModel(modelDirectory: modelOption.url, itmMode: itmMode, precision: modelOption.precision, compute: modelOption.compute)
        let hits = try ImageIndex.rankTexts(list, image: picture, embedder: model, topK: topK, rerank: rerank,
                                            reranker: rerank > 0 ? model : nil)
        for hit in hits {
            if json {
                try printJSONLine(["rank": hit.rank, "index": hit.index, "text": hit.text, "itc": shortDouble(hit.itc),
                                   "itm": hit.itm.map { shortDouble($0) as Any } ?? NSNull()])
            } else {
                print(line(rank: hit.rank, itc: hit.itc, itm: hit.itm, label: hit.text))
            }
        }
    }

    private func line(rank: Int, itc: Float, itm: Float?, label: String) -> String {
        var s = String(format: "%3d  itc %.4f", rank, itc)
        if let itm { s += String(format: "  itm %.4f  score %.4f", itm, itm + itc) }
        return s + "  " + label
    }
}

/// `blip index info`: what an index holds (no model needed).
struct IndexInfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "Print an index's model, embedding size and image count.")

    @OptionGroup var indexOption: IndexFileOption

    @Flag(name: .customLong("check"), help: "Also run SQLite's integrity check.")
    var check = false

    func run() throws {
        try reportingErrors {
            let index = try ImageIndex(path: indexOption.index, create: false)
            let info = try index.info()
            print("index: \(index.path)")
            print("model: \(info.modelIdentifier ?? "(none yet)")")
            print("dimension: \(info.dimension.map(String.init) ?? "-")")
            print("images: \(info.imageCount) (\(info.distinctContents) distinct contents)")
            if check { print("integrity: \(try index.integrityCheck())") }
        }
    }
}

/// A float printed with its shortest exact decimal form in JSON (not Double's 17 digits).
private func shortDouble(_ x: Float) -> Double { Double(shortest: x) }
private func shortDouble(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }

/// `blip index prune`: removes the rows of files that are gone (or changed) under the given paths.
struct IndexPruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Remove indexed files that no longer exist, or changed since they were indexed.",
        discussion: "Without paths, the whole index is checked. A changed file (other size or modification time) "
            + "is removed so that the next `blip index add` embeds it again.")

    @OptionGroup var indexOption: IndexFileOption

    @Flag(name: .customLong("gone-only"), help: "Remove only files that no longer exist (keep changed ones).")
    var goneOnly = false

    @Flag(help: "Print one JSON object: {\"removed\": [{\"path\", \"reason\"}], \"images\"}.")
    var json = false

    @Argument(help: "Only under these files or folders (default: everything indexed).")
    var paths: [String] = []

    func run() throws {
        try reportingErrors {
            let index = try ImageIndex(path: indexOption.index, create: false)
            let removed = try index.prune(under: paths.isEmpty ? nil : paths, changed: !goneOnly)
            let total = try index.info().imageCount
            if json {
                try printJSONLine(["removed": removed.map { ["path": $0.path, "reason": $0.reason.rawValue] },
                                   "images": total])
            } else {
                for r in removed { print("\(r.reason.rawValue)\t\(r.path)") }
                printError("removed \(removed.count); \(total) images in \(index.path)")
            }
        }
    }
}
