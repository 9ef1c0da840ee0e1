import ArgumentParser
import BLIP
import Foundation

/// `blip nlvr2`: does a sentence describe a pair of images (BLIP's NLVR2 model)?
struct NLVRCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nlvr2",
        abstract: "Natural-language visual reasoning (NLVR2): is a sentence true of a pair of images?",
        discussion: """
            Takes an official BLIP NLVR2 checkpoint (model_base_nlvr.pth), read without executing it. \
            Prints "true" or "false" and the probability of true (tab-separated), or with --json \
            {"left", "right", "sentence", "answer", "probability_true", "logits"}.
            """)

    @OptionGroup var checkpoint: CheckpointFileOptions


    @OptionGroup var imageOptions: ImageInputOptions

    @Flag(help: "One JSON object.")
    var json = false

    @Argument(help: "The left image.")
    var left: String

    @Argument(help: "The right image.")
    var right: String

    @Argument(help: "The sentence.")
    var sentence: String

    func run() throws {
        try reportingErrors {
            let classifier = try BlipNLVRClassifier(
                checkpoint: checkpoint.checkpointURL, tokenizerDirectory: checkpoint.tokenizerDirectory,
                config: checkpoint.blipConfig, precision: checkpoint.precision, compute: checkpoint.compute)
            let verdict = try classifier.classify(left: imageOptions.load(left), right: imageOptions.load(right), sentence: sentence)
            if json {
                try printJSONLine(["left": left, "right": right, "sentence": sentence, "answer": verdict.isTrue,
                                   "probability_true": jsonNumber(verdict.probabilityTrue), "logits": verdict.logits.map(jsonNumber)])
            } else {
                print("\(verdict.isTrue)\t" + String(format: "%.6f", verdict.probabilityTrue))
            }
        }
    }
}
