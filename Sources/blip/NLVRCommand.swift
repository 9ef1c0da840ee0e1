import ArgumentParser
import BLIP
import BLIPHub
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

    @Option(help: "The official NLVR2 checkpoint (.pth).")
    var model: String

    @Option(help: "Directory or hub id whose tokenizer files to use (default: \(ModelResolver.defaultModel), without its weights).")
    var tokenizer: String?

    @Option(name: .customLong("config"), help: "A transformers BLIP config.json (or a directory holding one) instead of the one chosen from the checkpoint's shapes.")
    var config: String?

    @Option(help: "Precision of the Linear weights: fp32, bf16 or int8.")
    var precision: Precision = .fp32

    @OptionGroup var threadsOption: ThreadsOption

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
                checkpoint: URL(fileURLWithPath: (model as NSString).expandingTildeInPath),
                tokenizerDirectory: ModelResolver.resolveTokenizer(tokenizer ?? ModelResolver.defaultModel),
                config: config.map(loadConfigArgument), precision: precision, compute: threadsOption.compute)
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
