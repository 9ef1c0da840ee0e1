import ArgumentParser
import BLIP
import BLIPEval
import BLIPHub
import Foundation

struct EvalCaptionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "caption", abstract: "BLEU-1..4, ROUGE-L and CIDEr of captions, equal to pycocoevalcap 1.2.",
        discussion: """
            Score existing captions: --annotations (COCO format {"annotations": [{"image_id", "caption"}]}, e.g. \
            coco_karpathy_test_gt.json) and --results (a list or JSON Lines of {"image_id", "caption"}, or `blip caption \
            --json` lines {"image": path, ...}: the id is then the number ending the file name, as LAVIS derives COCO \
            ids). Or caption and score: --model M --images DIR with the images of --split (a Karpathy split such as \
            coco_karpathy_test.json, paths relative to DIR) or, without --split, the "images" list of --annotations \
            ("id", "file_name"); decoding as LAVIS's COCO caption evaluation (beam 3, max_length 20 and min_length 5 \
            counted with the prompt "a picture of ", which is removed). Predictions go to --output DIR \
            (caption_predictions.jsonl, one line per image as it is captioned; a re-run resumes) with the scores \
            (caption_scores.json). Captions go through the Swift port of pycocoevalcap's PTB tokenisation first; \
            the images that have a result are scored. METEOR and SPICE are not computed.
            """)

    @Option(help: ArgumentHelp("COCO-format reference captions.", valueName: "file"))
    var annotations: String
    @Option(help: ArgumentHelp("Generated captions to score.", valueName: "file"))
    var results: String?
    @Option(help: "Captioning model (directory or hub id): caption the images, then score.")
    var model: String?
    @Option(help: ArgumentHelp("Folder the images are in (with --model).", valueName: "dir"))
    var images: String?
    @Option(help: ArgumentHelp("Karpathy split listing the images (with --model).", valueName: "file"))
    var split: String?
    @Option(help: ArgumentHelp("Where predictions and scores go (with --model).", valueName: "dir"))
    var output = "blip-eval-caption"
    @Option(name: .customLong("batch-size"), parsing: .unconditional, help: "Images per model call.")
    var batchSize = 8
    @Option(help: "Precision of the model's Linear weights: fp32, bf16 or int8.")
    var precision: Precision = .fp32
    @Option(name: .customLong("num-beams"), parsing: .unconditional, help: "Beams (official evaluation: 3).")
    var numBeams = 3
    @Option(name: .customLong("max-length"), parsing: .unconditional, help: "Total length with the prompt (official: 20).")
    var maxLength = 20
    @Option(name: .customLong("min-length"), parsing: .unconditional, help: "Least total length with the prompt (official: 5).")
    var minLength = 5
    @Option(help: "Prompt, removed from the captions (official: \"a picture of \"; empty: none).")
    var prompt = "a picture of "
    @OptionGroup var threadsOption: ThreadsOption
    @OptionGroup var imageOptions: ImageInputOptions
    @Flag(help: "One JSON object: Bleu_1..4, ROUGE_L, CIDEr, images.")
    var json = false

    func validate() throws {
        if (results == nil) == (model == nil) { throw ValidationError("give --results (score a file) or --model with --images (caption, then score)") }
        if model != nil && images == nil { throw ValidationError("--model needs --images DIR") }
        try checkOption("--batch-size", batchSize, 1...BlipCaptioner.maxBatchSize)
    }

    func run() throws {
        try reportingErrors {
            let annotationsURL = URL(fileURLWithPath: annotations)
            let (references, _) = try EvalFiles.captionReferences(annotationsURL)
            let captions: [String: String], order: [String], skipped: Int, resultsName: String
            if let results {
                (captions, order, skipped) = try EvalFiles.captionResults(URL(fileURLWithPath: results))
                resultsName = results
            } else {
                let log = try captionImages(annotationsURL)
                (captions, order, skipped) = try EvalFiles.captionResults(log.url)
                resultsName = log.url.path
            }
            if let unknown = order.first(where: { references[$0] == nil }) {
                throw EvalError.invalid("\(resultsName): image \(unknown) is not in \(annotations) (\(order.filter { references[$0] == nil }.count) such results)")
            }
            guard !order.isEmpty else { throw EvalError.invalid("\(resultsName): no captions to score") }
            let tokenizedRefs = Dictionary(uniqueKeysWithValues: order.map { ($0, references[$0]!.map(PTBTokenizer.tokenize)) })
            let scores = try CaptionMetrics.score(references: tokenizedRefs, candidates: captions.mapValues(PTBTokenizer.tokenize), ids: order)
            let unscored = references.count - order.count
            let extra: [String: Any] = ["images": order.count, "annotated_images_without_result": unscored, "skipped_error_records": skipped]
            if model != nil {
                var object = extra
                for (k, v) in scores.named { object[k] = v }
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
                try data.write(to: URL(fileURLWithPath: output).appendingPathComponent("caption_scores.json"))
            }
            try printScores(scores.named, json: json, extra: extra)
            if !json {
                var note = "(\(order.count) images"
                if unscored > 0 { note += "; \(unscored) annotated images have no result and are not scored" }
                if skipped > 0 { note += "; \(skipped) images could not be read or captioned" }
                print(note + ")")
            }
        }
    }

    /// The images to caption: (COCO id, file) from the split or the annotations' image list.
    func imageList(_ annotationsURL: URL) throws -> [(id: String, path: String)] {
        let root = URL(fileURLWithPath: images!)
        if let split {
            return try EvalFiles.retrievalSplit(URL(fileURLWithPath: split)).images.map {
                (EvalFiles.imageId(fromPath: $0), root.appendingPathComponent($0).path)
            }
        }
        return try EvalFiles.captionImages(annotationsURL).map { ($0.id, root.appendingPathComponent($0.file).path) }
    }

    /// Captions every listed image not yet in the predictions file, appending as it goes.
    func captionImages(_ annotationsURL: URL) throws -> PredictionLog {
        let list = try imageList(annotationsURL)
        let log = try PredictionLog(url: URL(fileURLWithPath: output).appendingPathComponent("caption_predictions.jsonl"), idKey: "image_id")
        var seen = Set<String>()
        let todo = list.filter { !log.contains($0.id) && seen.insert($0.id).inserted }
        printError("eval caption: \(list.count - todo.count) of \(list.count) images already captioned in \(log.url.path)")
        if todo.isEmpty { return log }
        let captioner = try BlipCaptioner(modelDirectory: ModelResolver.resolve(model!), precision: precision, compute: threadsOption.compute)
        var options = CaptionOptions(prompt: prompt.isEmpty ? nil : prompt, stripPrompt: true, generation: GenerationOptions())
        options.generation.numBeams = numBeams
        options.generation.maxLength = maxLength
        options.generation.minLength = minLength
        try options.generation.validate()
        let reporter = ProgressReporter(unit: "images")
        var done = 0
        let load = imageOptions.loader
        try captioner.captionBatches(todo, batchSize: batchSize, options: options, load: { try load($0.path) }) { batch in
            for r in batch {
                switch r.captions {
                case .success(let c): try log.append(["image_id": Int(r.source.id) ?? r.source.id as Any, "caption": c.first?.text ?? ""])
                case .failure(let e):
                    printError("error: \(describe(e))")
                    try log.append(["image_id": Int(r.source.id) ?? r.source.id as Any, "image": r.source.path, "error": describe(e)])
                }
            }
            done += batch.count
            reporter.update(done: done, total: todo.count)
        }
        reporter.finish()
        return log
    }
}
