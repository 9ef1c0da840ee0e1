import ArgumentParser
import BLIPEval
import Foundation

/// `blip eval`: BLIP's evaluation protocols, scoring predictions with metrics equal to the
/// tools the papers used (pycocoevalcap 1.2, the official VQA evaluation, `itm_eval`).
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Score captions (BLEU, ROUGE-L, CIDEr), VQA answers (VQA accuracy) and retrieval (Recall@K).",
        subcommands: [EvalVQACommand.self, EvalRetrievalCommand.self])
}

/// Prints `rows` as an aligned two-column table, or one JSON object with `--json`.
func printScores(_ rows: [(String, Double)], json: Bool, extra: [String: Any] = [:]) throws {
    if json {
        var object = extra
        for (k, v) in rows { object[k] = v }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        print(String(decoding: data, as: UTF8.self))
        return
    }
    let width = rows.map(\.0.count).max() ?? 0
    for (k, v) in rows { print(k.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + String(format: "%.4f", v)) }
}

struct EvalVQACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vqa", abstract: "VQA accuracy of answers, as the official VQA evaluation computes it.",
        discussion: "Files in the VQAv2 formats: --annotations {\"annotations\": [...]}, --results [{\"question_id\", \"answer\"}] "
            + "(a JSON list or JSON Lines). As the official tool, every annotated question needs an answer and every answer "
            + "an annotated question. Accuracies are percentages rounded to 2 decimals.")

    @Option(help: ArgumentHelp("VQAv2 annotations (e.g. v2_mscoco_val2014_annotations.json).", valueName: "file"))
    var annotations: String
    @Option(help: ArgumentHelp("VQAv2 questions file, checked against the annotations (optional).", valueName: "file"))
    var questions: String?
    @Option(help: ArgumentHelp("Answers: [{\"question_id\", \"answer\"}, ...].", valueName: "file"))
    var results: String
    @Flag(help: "One JSON object: overall, per answer type, per question type.")
    var json = false

    func run() throws {
        try reportingErrors {
            let gt = try EvalFiles.vqaGroundTruth(URL(fileURLWithPath: annotations))
            let answers = try EvalFiles.vqaResults(URL(fileURLWithPath: results))
            let annotated = Set(gt.map(\.questionId))
            if let questions {
                let asked = try EvalFiles.vqaQuestionIds(URL(fileURLWithPath: questions))
                guard asked == annotated else {
                    throw EvalError.invalid("\(questions) and \(annotations) hold different questions (\(asked.subtracting(annotated).count) only in the questions, \(annotated.subtracting(asked).count) only in the annotations)")
                }
            }
            let extra = Set(answers.keys).subtracting(annotated)
            if !extra.isEmpty {
                throw EvalError.invalid("\(results): \(extra.count) answers are for questions not in \(annotations) (e.g. question \(extra.sorted()[0]))")
            }
            let accuracy = try VQAEvaluation.evaluate(groundTruth: gt, results: answers)
            var rows: [(String, Double)] = [("overall", accuracy.overall)]
            rows += accuracy.perAnswerType.sorted { $0.key < $1.key }.map { ("answer type: \($0.key)", $0.value) }
            if json {
                try printScores([("overall", accuracy.overall)], json: true, extra: [
                    "perAnswerType": accuracy.perAnswerType, "perQuestionType": accuracy.perQuestionType, "questions": gt.count,
                ])
            } else {
                try printScores(rows, json: false)
                print("(\(gt.count) questions; per question type with --json)")
            }
        }
    }
}

struct EvalRetrievalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retrieval", abstract: "Recall@1/5/10 of image-text retrieval, as the official itm_eval computes it.",
        discussion: "--annotations is a Karpathy split as LAVIS ships it ([{\"image\", \"caption\": [...]}]; texts numbered "
            + "image by image). Scores: --scores S.npy [images × texts] (and --scores-t2i [texts × images] when the "
            + "directions differ, as after ITM re-ranking), or --image-embeddings / --text-embeddings .npy (unit ITC "
            + "vectors: scores are their dot products). Prints percentages.")

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
    @Flag(help: "One JSON object with the official itm_eval keys.")
    var json = false

    func validate() throws {
        if (scores == nil) == (imageEmbeddings == nil || textEmbeddings == nil) {
            throw ValidationError("give --scores, or both --image-embeddings and --text-embeddings")
        }
    }

    func run() throws {
        try reportingErrors {
            let split = try EvalFiles.retrievalSplit(URL(fileURLWithPath: annotations))
            let i2t: [[Float]]
            if let scores {
                i2t = try NumpyReader.matrix(contentsOf: URL(fileURLWithPath: scores))
            } else {
                let images = try NumpyReader.matrix(contentsOf: URL(fileURLWithPath: imageEmbeddings!))
                let texts = try NumpyReader.matrix(contentsOf: URL(fileURLWithPath: textEmbeddings!))
                i2t = try similarityMatrix(queries: images, gallery: texts)
            }
            guard i2t.count == split.images.count, i2t.allSatisfy({ $0.count == split.texts.count }) else {
                throw EvalError.invalid("the scores are \(i2t.count) × \(i2t.first?.count ?? 0), but \(annotations) has \(split.images.count) images and \(split.texts.count) texts")
            }
            let t2i = try scoresT2I.map { try NumpyReader.matrix(contentsOf: URL(fileURLWithPath: $0)) }
            let recall = try RetrievalRecall(imageToText: i2t, textToImage: t2i, imageOfText: split.imageOfText)
            let rows: [(String, Double)] = [
                ("txt_r1", 100 * recall.imageToText[1]!), ("txt_r5", 100 * recall.imageToText[5]!), ("txt_r10", 100 * recall.imageToText[10]!),
                ("txt_r_mean", 100 * [1, 5, 10].map { recall.imageToText[$0]! }.reduce(0, +) / 3),
                ("img_r1", 100 * recall.textToImage[1]!), ("img_r5", 100 * recall.textToImage[5]!), ("img_r10", 100 * recall.textToImage[10]!),
                ("img_r_mean", 100 * [1, 5, 10].map { recall.textToImage[$0]! }.reduce(0, +) / 3),
                ("r_mean", 100 * recall.meanRecall),
            ]
            try printScores(rows, json: json)
        }
    }
}
