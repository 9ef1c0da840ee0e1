import ArgumentParser
import BLIP
import BLIPEval
import BLIPHub
import Foundation

struct EvalRetrievalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retrieval", abstract: "Recall@1/5/10 of image-text retrieval, as the official itm_eval computes it.",
        discussion: """
            --annotations is a Karpathy split as LAVIS ships it ([{"image", "caption": [...]}]; texts numbered image \
            by image). Score existing scores: --scores S.npy [images × texts] (and --scores-t2i [texts × images] when \
            the directions differ, as after ITM re-ranking), or --image-embeddings / --text-embeddings .npy (unit \
            ITC vectors). Or run the official evaluation: --model M --images DIR — ITC over all pairs, then the best \
            --k-test candidates of each image and of each text re-scored as ITM logit ([ENC] first) + ITC (other \
            pairs -100), texts cleaned as pre_caption (30 words). --k-test 0 ranks by ITC alone. Embeddings, the ITM \
            log (one line per image: a re-run resumes) and both score matrices go to --output DIR. Percentages.
            """)

    @Option(help: ArgumentHelp("Karpathy split (e.g. coco_karpathy_test.json).", valueName: "file"))
    var annotations: String
    @Option(help: ArgumentHelp("Image-to-text scores [images × texts], .npy.", valueName: "file"))
    var scores: String?
    @Option(name: .customLong("scores-t2i"), help: ArgumentHelp("Text-to-image scores [texts × images], .npy.", valueName: "file"))
    var scoresT2I: String?
    @Option(name: .customLong("image-embeddings"), help: ArgumentHelp("Image embeddings [images × d], .npy.", valueName: "file"))
    var imageEmbeddings: String?
    @Option(name: .customLong("text-embeddings"), help: ArgumentHelp("Text embeddings [texts × d], .npy.", valueName: "file"))
    var textEmbeddings: String?
    @Option(help: "Image-text retrieval model (directory or hub id): run the official evaluation.")
    var model: String?
    @Option(help: ArgumentHelp("Folder the split's image paths are relative to (with --model).", valueName: "dir"))
    var images: String?
    @Option(name: .customLong("k-test"), parsing: .unconditional, help: "Candidates re-ranked with ITM per image and per text (official: 256 COCO, 128 Flickr).")
    var kTest = 256
    @Option(help: ArgumentHelp("Where embeddings, the ITM log and score matrices go (with --model).", valueName: "dir"))
    var output = "blip-eval-retrieval"
    @Option(name: .customLong("batch-size"), parsing: .unconditional, help: "Images per vision-encoder call.")
    var batchSize = 8
    @Option(help: "Precision of the model's Linear weights: fp32, bf16 or int8.")
    var precision: Precision = .fp32
    @Flag(name: .customLong("keep-raw-text"), help: "Use the texts as they are (default: cleaned as pre_caption).")
    var keepRawText = false
    @OptionGroup var threadsOption: ThreadsOption
    @OptionGroup var imageOptions: ImageInputOptions
    @Flag(help: "One JSON object with the official itm_eval keys.")
    var json = false

    func validate() throws {
        let sources = [scores != nil, imageEmbeddings != nil && textEmbeddings != nil, model != nil].filter { $0 }.count
        if sources != 1 { throw ValidationError("give one of --scores, --image-embeddings with --text-embeddings, or --model with --images") }
        if model != nil && images == nil { throw ValidationError("--model needs --images DIR") }
        try checkOption("--k-test", kTest, 0...100_000)
        try checkOption("--batch-size", batchSize, 1...1024)
    }

    func run() throws {
        try reportingErrors {
            let split = try EvalFiles.retrievalSplit(URL(fileURLWithPath: annotations))
            var i2t: [[Float]], t2i: [[Float]]? = nil
            if let scores {
                i2t = try NumpyReader.matrix(contentsOf: URL(fileURLWithPath: scores))
                t2i = try scoresT2I.map { try NumpyReader.matrix(contentsOf: URL(fileURLWithPath: $0)) }
            } else if model != nil {
                (i2t, t2i) = try runModel(split)
            } else {
                let imageVectors = try NumpyReader.matrix(contentsOf: URL(fileURLWithPath: imageEmbeddings!))
                let textVectors = try NumpyReader.matrix(contentsOf: URL(fileURLWithPath: textEmbeddings!))
                i2t = try similarityMatrix(queries: imageVectors, gallery: textVectors)
            }
            guard i2t.count == split.images.count, i2t.allSatisfy({ $0.count == split.texts.count }) else {
                throw EvalError.invalid("the scores are \(i2t.count) × \(i2t.first?.count ?? 0), but \(annotations) has \(split.images.count) images and \(split.texts.count) texts")
            }
            let recall = try RetrievalRecall(imageToText: i2t, textToImage: t2i, imageOfText: split.imageOfText)
            let rows = recall.itmEvalReport
            if model != nil {
                let object = Dictionary(uniqueKeysWithValues: rows)
                try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
                    .write(to: URL(fileURLWithPath: output).appendingPathComponent("retrieval_scores.json"))
            }
            try printScores(rows, json: json)
        }
    }

    /// Embeds every image and text (reusing embeddings an earlier run saved), then ITM re-ranking.
    func runModel(_ split: (images: [String], texts: [String], imageOfText: [Int])) throws -> ([[Float]], [[Float]]?) {
        let folder = URL(fileURLWithPath: output)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let matcher = try BlipImageTextMatcher(modelDirectory: ModelResolver.resolve(model!), precision: precision, compute: threadsOption.compute)
        let root = URL(fileURLWithPath: images!), load = imageOptions.loader
        let paths = split.images.map { root.appendingPathComponent($0).path }
        let texts = keepRawText ? split.texts : split.texts.map { preCaption($0, maxWords: 30) }
        func saved(_ name: String, rows: Int) -> [[Float]]? {
            (try? NumpyReader.matrix(contentsOf: folder.appendingPathComponent(name))).flatMap { $0.count == rows ? $0 : nil }
        }
        let imageVectors = try saved("retrieval_image_embeddings.npy", rows: paths.count) ?? {
            var vectors: [[Float]] = []
            let reporter = ProgressReporter(unit: "images embedded")
            let batches = stride(from: 0, to: paths.count, by: batchSize).map { $0..<min($0 + batchSize, paths.count) }
            try forEachPrepared(batches.count, prepare: { b in Result { try paths[batches[b]].map(load) } }) { _, batch in
                vectors += try matcher.imageEmbeddings(batch.get())
                reporter.update(done: vectors.count, total: paths.count)
            }
            reporter.finish()
            try NumpyWriter.writeFloat32(vectors.flatMap { $0 }, shape: [vectors.count, matcher.embeddingSize],
                                         to: folder.appendingPathComponent("retrieval_image_embeddings.npy"))
            return vectors
        }()
        let textVectors = try saved("retrieval_text_embeddings.npy", rows: texts.count) ?? {
            let vectors = try matcher.textEmbeddings(texts)
            try NumpyWriter.writeFloat32(vectors.flatMap { $0 }, shape: [vectors.count, matcher.embeddingSize],
                                         to: folder.appendingPathComponent("retrieval_text_embeddings.npy"))
            return vectors
        }()
        let similarity = try similarityMatrix(queries: imageVectors, gallery: textVectors)
        guard kTest > 0 else { return (similarity, nil) }
        let log = try PredictionLog(url: folder.appendingPathComponent("retrieval_itm.jsonl"), idKey: "image_index")
        let reporter = ProgressReporter(unit: "images re-ranked")
        var done = 0
        let scores = try RetrievalEvaluation(matcher: matcher, kTest: min(kTest, max(paths.count, texts.count))).rerank(
            similarity: similarity, texts: texts, loadImage: { try load(paths[$0]) },
            known: { i in
                guard let logits = log.records[String(i)]?["itm_logits"] as? [String: Double] else { return nil }
                return Dictionary(uniqueKeysWithValues: logits.compactMap { k, v in Int(k).map { ($0, Float(v)) } })
            },
            done: { i, logits in
                try log.append(["image_index": i, "itm_logits": Dictionary(uniqueKeysWithValues: logits.map { (String($0.key), Double($0.value)) })])
                done += 1
                reporter.update(done: done, total: paths.count)
            })
        reporter.finish()
        try NumpyWriter.writeFloat32(scores.imageToText.flatMap { $0 }, shape: [paths.count, texts.count],
                                     to: folder.appendingPathComponent("retrieval_i2t.npy"))
        try NumpyWriter.writeFloat32(scores.textToImage.flatMap { $0 }, shape: [texts.count, paths.count],
                                     to: folder.appendingPathComponent("retrieval_t2i.npy"))
        return (scores.imageToText, scores.textToImage)
    }
}
