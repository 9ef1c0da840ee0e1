import ArgumentParser
import BLIP
import BLIPHub
import Foundation

/// `blip vqa`: answers questions about images (generated, or ranked from a candidate list).
struct VQACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vqa", abstract: "Answer questions about images (BlipForQuestionAnswering).",
        discussion: "blip vqa IMAGE... --question Q [--question Q2 ...] asks every question about every image; "
            + "blip vqa IMAGE Q [Q2 ...] asks about one image (an argument that names an existing file is refused "
            + "as a question). Default model: \(ModelResolver.defaultVQAModel).")

    @OptionGroup var modelOption: ModelOption<VQAModel>

    @Option(parsing: .unconditional, help: "Beam search width (1: greedy).")
    var beams: Int?

    @Option(name: .customLong("max-new-tokens"), parsing: .unconditional, help: "Answer tokens at most (default 20, or generation_config.json).")
    var maxNewTokens: Int?

    @Option(name: .customLong("min-new-tokens"), parsing: .unconditional, help: "Answer tokens before the answer may end.")
    var minNewTokens: Int?

    @Option(help: "Rank mode: candidate answers, one per line or a JSON array of strings (official BLIP rank_answer).")
    var answers: String?

    @Option(name: .customLong("top-k"), parsing: .unconditional, help: "Rank mode: candidates re-ranked by full likelihood (default 128).")
    var topK: Int?

    @Flag(help: "One JSON object per question: {\"image\", \"question\", \"answer\", \"token_ids\"} (rank mode adds \"answers\": [{\"answer\", \"index\", \"probability\", \"score\"}]).")
    var json = false

    @Option(parsing: .unconditional, help: "Frames sampled from a video (.mp4, .mov, …): asked about all of them at once.")
    var frames = 8

    @OptionGroup var imageOptions: ImageInputOptions

    @Option(name: .customLong("question"), help: "A question (repeatable): asked about every image given.")
    var questionOptions: [String] = []

    @Argument(help: "Image files (JPEG, PNG, WebP), folders or - (standard input); without --question, one image followed by its questions.")
    var inputs: [String] = []

    /// The images and the questions, from `--question` or from the arguments after one image.
    var imagesAndQuestions: (images: [String], questions: [String]) {
        if !questionOptions.isEmpty { return (ImageInputOptions.expand(inputs), questionOptions) }
        return (Array(inputs.prefix(1)), Array(inputs.dropFirst()))
    }

    func validate() throws {
        let (images, questions) = imagesAndQuestions
        if images.isEmpty { throw ValidationError("give an image (and questions with --question, or after the image)") }
        if questions.isEmpty { throw ValidationError("give at least one question: --question TEXT, or after the image") }
        if questionOptions.isEmpty, let file = questions.first(where: { FileManager.default.fileExists(atPath: $0) }) {
            throw ValidationError("\"\(file)\" is a file, not a question: to ask about several images, list them "
                + "and give the questions with --question")
        }
        if let empty = questions.firstIndex(where: { $0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }) {
            throw ValidationError("question \(empty + 1) is empty: ask something about the image")
        }
        try checkGenerationFlags(beams: beams, maxNewTokens: maxNewTokens, minNewTokens: minNewTokens)
        try checkOption("--frames", frames, 1...64)
        if let topK, topK < 1 { throw ValidationError("--top-k must be at least 1") }
        if topK != nil && answers == nil { throw ValidationError("--top-k needs --answers") }
        if answers != nil && (beams != nil || maxNewTokens != nil || minNewTokens != nil) {
            throw ValidationError("--beams, --max-new-tokens and --min-new-tokens do not apply with --answers (rank mode)")
        }
    }

    func run() throws {
        try reportingErrors {
            let directory = try modelOption.url
            if Blip2Config.isBlip2(directory: directory) { return try runBlip2(directory) }
            let answerer = try BlipQuestionAnswerer(modelDirectory: directory, precision: modelOption.precision, compute: modelOption.compute)
            let candidates = try answers.map(Self.loadCandidates)
            let (images, questions) = imagesAndQuestions
            let output = ResultPrinter(json: json, prefixWithImage: images.count > 1)
            var options = answerer.defaultGeneration
            if let beams { options.numBeams = beams }
            if let maxNewTokens { options.maxNewTokens = maxNewTokens }
            if let minNewTokens { options.minNewTokens = minNewTokens }
            var failures = 0
            for image in images {
                let encoding: VQAImageEncoding
                do {
                    let url = URL(fileURLWithPath: image)
                    encoding = VideoFrames.isVideo(url)  // a video: all its sampled frames' states
                        ? try answerer.encodeVideo(VideoFrames.load(url, frames: frames, maxPixels: imageOptions.maxPixels))
                        : try answerer.encode(imageOptions.load(image))
                } catch {
                    try output.failure(image: image, error)
                    failures += 1
                    continue
                }
                if let candidates {
                    for question in questions {
                        let ranked = try answerer.rankAnswers(question, image: encoding, candidates: candidates, k: topK ?? 128)
                        let best = ranked[0]
                        try output.result(image: image, text: images.count > 1 ? "\(question)\t\(best.answer)" : best.answer, fields: [
                            "question": question, "answer": best.answer, "token_ids": best.tokenIds,
                            "answers": ranked.map {
                                ["answer": $0.answer, "index": $0.candidateIndex,
                                 "probability": Double($0.probability), "score": Double($0.score)]
                            },
                        ])
                    }
                    continue
                }
                let results = try answerer.answers(questions, image: encoding, options: options)
                for (question, answer) in zip(questions, results) {
                    try output.result(image: image, text: images.count > 1 ? "\(question)\t\(answer.text)" : answer.text,
                                      fields: ["question": question, "answer": answer.text, "token_ids": answer.tokenIds])
                }
            }
            if failures > 0 { throw ExitCode(1) }
        }
    }

    /// Candidate answers from a file: a JSON array of strings, or one answer per line (blank
    /// lines skipped).
    static func loadCandidates(_ path: String) throws -> [String] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ValidationError("cannot read answers file \(path)")
        }
        let text = String(decoding: data, as: UTF8.self)
        let candidates: [String]
        if text.trimmingCharacters(in: .whitespacesAndNewlines).hasPrefix("[") {
            guard let array = try? JSONSerialization.jsonObject(with: data) as? [Any],
                  let strings = array as? [String] else {
                throw ValidationError("answers file \(path) starts with [ but is not a JSON array of strings")
            }
            candidates = strings
        } else {
            candidates = text.split(whereSeparator: \.isNewline)
                .map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }
        }
        if candidates.isEmpty { throw ValidationError("answers file \(path) has no answers") }
        return candidates
    }

    /// BLIP-2 OPT models: each question as the prompt "Question: Q Answer:" (the BLIP-2 paper's
    /// VQA format); the answer is the generated text after the prompt.
    func runBlip2(_ directory: URL) throws {
        if answers != nil { throw ValidationError("--answers (rank mode) applies to BLIP models, not BLIP-2") }
        let captioner = try Blip2Captioner(modelDirectory: directory, precision: modelOption.precision, compute: modelOption.compute)
        let (images, questions) = imagesAndQuestions
        let output = ResultPrinter(json: json, prefixWithImage: images.count > 1)
        var options = captioner.defaultGeneration
        if let beams { options.numBeams = beams }
        if let maxNewTokens { options.maxNewTokens = maxNewTokens }
        if let minNewTokens { options.minNewTokens = minNewTokens }
        try options.validate()
        var failures = 0
        for image in images {
            do {
                let loaded = try imageOptions.load(image)
                for question in questions {
                    let answer = try captioner.answers([loaded], question: question, options: options)[0].first ?? ""
                    try output.result(image: image, text: images.count > 1 ? "\(question)\t\(answer)" : answer,
                                      fields: ["question": question, "answer": answer])
                }
            } catch {
                try output.failure(image: image, error)
                failures += 1
            }
        }
        if failures > 0 { throw ExitCode(1) }
    }
}
