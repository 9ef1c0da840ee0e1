import ArgumentParser
import BLIP
import BLIPEval
import BLIPHub
import Foundation

/// `blip eval`: BLIP's evaluation protocols, scoring predictions with metrics equal to the
/// tools the papers used (pycocoevalcap 1.2, the official VQA evaluation, `itm_eval`).
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Score captions (BLEU, ROUGE-L, CIDEr), VQA answers (VQA accuracy) and retrieval (Recall@K).",
        subcommands: [EvalCaptionCommand.self, EvalVQACommand.self, EvalRetrievalCommand.self])
}

/// Prints `rows` as an aligned two-column table, or one JSON object with `--json`.
func printScores(_ rows: [(String, Double)], json: Bool, extra: [String: Any] = [:], decimals: Int = 4) throws {
    if json {
        var object = extra
        for (k, v) in rows { object[k] = v }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        print(String(decoding: data, as: UTF8.self))
        return
    }
    let width = rows.map(\.0.count).max() ?? 0
    for (k, v) in rows { print(k.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + String(format: "%.\(decimals)f", v)) }
}

struct EvalVQACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vqa", abstract: "VQA accuracy of answers, as the official VQA evaluation computes it.",
        discussion: """
            Score existing answers: --annotations {"annotations": [...]} and --results [{"question_id", "answer"}]             (a JSON list or JSON Lines), in the VQAv2 formats; as the official tool, every annotated question needs             an answer and every answer an annotated question. Or answer and score: --model M --images DIR             --questions Q.json (images named by --image-pattern from their image_id), with the official rank mode             when --answers gives the answer list (k 128, as BLIP's VQA evaluation), else generation (beam 3, at             most 10 tokens, as LAVIS). Answers go to --output DIR (vqa_predictions.jsonl, one line per question as             it is answered; a re-run resumes). Accuracies are percentages rounded to 2 decimals.
            """)

    @Option(help: ArgumentHelp("VQAv2 annotations (e.g. v2_mscoco_val2014_annotations.json).", valueName: "file"))
    var annotations: String
    @Option(help: ArgumentHelp("VQAv2 questions (needed with --model; else checked against the annotations).", valueName: "file"))
    var questions: String?
    @Option(help: ArgumentHelp("Answers to score: [{\"question_id\", \"answer\"}, ...].", valueName: "file"))
    var results: String?
    @Option(help: "VQA model (directory or hub id): answer the questions, then score.")
    var model: String?
    @Option(help: ArgumentHelp("Folder of the images (with --model).", valueName: "dir"))
    var images: String?
    @Option(name: .customLong("image-pattern"), help: "File name of an image from its id (printf style).")
    var imagePattern = "COCO_val2014_%012d.jpg"
    @Option(help: ArgumentHelp("Answer list (JSON list of strings): rank mode.", valueName: "file"))
    var answers: String?
    @Option(name: .customLong("k-test"), parsing: .unconditional, help: "Rank mode: candidates re-scored by their whole likelihood.")
    var kTest = 128
    @Option(help: ArgumentHelp("Where predictions and scores go (with --model).", valueName: "dir"))
    var output = "blip-eval-vqa"
    @Option(help: "Precision of the model's Linear weights: fp32, bf16 or int8.")
    var precision: Precision = .fp32
    @OptionGroup var threadsOption: ThreadsOption
    @OptionGroup var imageOptions: ImageInputOptions
    @Flag(help: "One JSON object: overall, per answer type, per question type.")
    var json = false

    func validate() throws {
        if (results == nil) == (model == nil) { throw ValidationError("give --results (score a file) or --model with --images and --questions") }
        if model != nil && (images == nil || questions == nil) { throw ValidationError("--model needs --images DIR and --questions FILE") }
        try checkOption("--k-test", kTest, 1...100_000)
    }

    func run() throws {
        try reportingErrors {
            let gt = try EvalFiles.vqaGroundTruth(URL(fileURLWithPath: annotations))
            let annotated = Set(gt.map(\.questionId))
            if let questions, model == nil {
                let asked = try EvalFiles.vqaQuestionIds(URL(fileURLWithPath: questions))
                guard asked == annotated else {
                    throw EvalError.invalid("\(questions) and \(annotations) hold different questions (\(asked.subtracting(annotated).count) only in the questions, \(annotated.subtracting(asked).count) only in the annotations)")
                }
            }
            let resultsURL = try results.map { URL(fileURLWithPath: $0) } ?? answerQuestions(annotated: annotated).url
            let answers = try EvalFiles.vqaResults(resultsURL)
            let extra = Set(answers.keys).subtracting(annotated)
            if !extra.isEmpty {
                throw EvalError.invalid("\(resultsURL.path): \(extra.count) answers are for questions not in \(annotations) (e.g. question \(extra.sorted()[0]))")
            }
            let accuracy = try VQAEvaluation.evaluate(groundTruth: gt, results: answers)
            let details: [String: Any] = ["perAnswerType": accuracy.perAnswerType, "perQuestionType": accuracy.perQuestionType,
                                          "questions": gt.count]
            if model != nil {
                var object = details
                object["overall"] = accuracy.overall
                try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
                    .write(to: URL(fileURLWithPath: output).appendingPathComponent("vqa_scores.json"))
            }
            if json {
                try printScores([("overall", accuracy.overall)], json: true, extra: details)
            } else {
                var rows: [(String, Double)] = [("overall", accuracy.overall)]
                rows += accuracy.perAnswerType.sorted { $0.key < $1.key }.map { ("answer type: \($0.key)", $0.value) }
                try printScores(rows, json: false, decimals: 2)  // the official evaluation rounds to 2
                print("(\(gt.count) questions; per question type with --json)")
            }
        }
    }

    /// Answers every question of --questions not yet in the predictions file, image by image
    /// (each image is encoded once for all its questions).
    func answerQuestions(annotated: Set<Int>) throws -> PredictionLog {
        let all = try EvalFiles.vqaQuestions(URL(fileURLWithPath: questions!))
        let log = try PredictionLog(url: URL(fileURLWithPath: output).appendingPathComponent("vqa_predictions.jsonl"), idKey: "question_id")
        let todo = all.filter { !log.contains(String($0.id)) }
        printError("eval vqa: \(all.count - todo.count) of \(all.count) questions already answered in \(log.url.path)")
        if todo.isEmpty { return log }
        let candidates: [String]? = try answers.map { path in
            guard let list = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String], !list.isEmpty else {
                throw EvalError.invalid("\(path): expected a JSON list of answer strings")
            }
            return list
        }
        let vqa = try BlipQuestionAnswerer(modelDirectory: ModelResolver.resolve(model!), precision: precision, compute: threadsOption.compute)
        var generation = GenerationOptions()
        generation.numBeams = 3
        generation.maxNewTokens = 10
        generation.minNewTokens = 1
        var byImage: [Int: [(id: Int, question: String)]] = [:]
        var imageOrder: [Int] = []
        for q in todo {
            if byImage[q.image] == nil { imageOrder.append(q.image) }
            byImage[q.image, default: []].append((q.id, q.question))
        }
        let reporter = ProgressReporter(unit: "questions")
        var done = 0
        let root = URL(fileURLWithPath: images!), load = imageOptions.loader, pattern = imagePattern
        let order = imageOrder
        try forEachPrepared(order.count, prepare: { i in
            Result { try load(root.appendingPathComponent(String(format: pattern, order[i])).path) }
        }) { i, image in
            let questions = byImage[imageOrder[i]]!
            do {
                let encoding = try vqa.encode(image.get())
                if let candidates {
                    for q in questions {
                        let best = try vqa.rankAnswers(q.question, image: encoding, candidates: candidates, k: min(kTest, candidates.count))
                        try log.append(["question_id": q.id, "answer": best.first?.answer ?? ""])
                    }
                } else {
                    let answers = try vqa.answers(questions.map(\.question), image: encoding, options: generation)
                    for (q, a) in zip(questions, answers) { try log.append(["question_id": q.id, "answer": a.text]) }
                }
            } catch {
                // The official evaluation needs an answer for every question: an unreadable image
                // is an error, not a skip.
                throw EvalError.invalid("image \(imageOrder[i]) (\(questions.count) questions): \(describe(error))")
            }
            done += questions.count
            reporter.update(done: done, total: todo.count)
        }
        reporter.finish()
        return log
    }
}
