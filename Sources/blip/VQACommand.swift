import ArgumentParser
import BLIP
import BLIPHub
import Foundation

/// `blip vqa`: answers questions about one image (generated, or ranked from a candidate list).
struct VQACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vqa", abstract: "Answer questions about an image (BlipForQuestionAnswering).")

    @OptionGroup var modelOption: ModelOption

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

    @OptionGroup var imageOptions: ImageInputOptions

    @Argument(help: "Image file (JPEG, PNG, WebP).")
    var image: String

    @Argument(help: "Questions about the image.")
    var questions: [String] = []

    func validate() throws {
        if questions.isEmpty { throw ValidationError("give at least one question after the image") }
        if let empty = questions.firstIndex(where: { $0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }) {
            throw ValidationError("question \(empty + 1) is empty: ask something about the image")
        }
        try checkGenerationFlags(beams: beams, maxNewTokens: maxNewTokens, minNewTokens: minNewTokens)
        if let topK, topK < 1 { throw ValidationError("--top-k must be at least 1") }
        if topK != nil && answers == nil { throw ValidationError("--top-k needs --answers") }
        if answers != nil && (beams != nil || maxNewTokens != nil || minNewTokens != nil) {
            throw ValidationError("--beams, --max-new-tokens and --min-new-tokens do not apply with --answers (rank mode)")
        }
    }

    func run() throws {
        try reportingErrors {
            let answerer = try BlipQuestionAnswerer(modelDirectory: modelOption.url(default: ModelResolver.defaultVQAModel))
            let candidates = try answers.map(Self.loadCandidates)
            let rgb = try imageOptions.load(image)
            let encoding = try answerer.encode(rgb)
            if let candidates {
                for question in questions {
                    let ranked = try answerer.rankAnswers(question, image: encoding, candidates: candidates, k: topK ?? 128)
                    let best = ranked[0]
                    if json {
                        try printJSONLine([
                            "image": image, "question": question, "answer": best.answer, "token_ids": best.tokenIds,
                            "answers": ranked.map {
                                ["answer": $0.answer, "index": $0.candidateIndex,
                                 "probability": Double($0.probability), "score": Double($0.score)]
                            },
                        ])
                    } else {
                        print(best.answer)
                    }
                }
                return
            }
            var options = answerer.defaultGeneration
            if let beams { options.numBeams = beams }
            if let maxNewTokens { options.maxNewTokens = maxNewTokens }
            if let minNewTokens { options.minNewTokens = minNewTokens }
            let results = try answerer.answers(questions, image: encoding, options: options)
            for (question, answer) in zip(questions, results) {
                if json {
                    try printJSONLine(["image": image, "question": question, "answer": answer.text,
                                       "token_ids": answer.tokenIds])
                } else {
                    print(answer.text)
                }
            }
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
}
