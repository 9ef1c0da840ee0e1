import ArgumentParser
import BLIP
import BLIPHub
import Foundation

/// The options of the commands that read an official or mmpretrain `.pth` as it is (`blip nlvr2`,
/// `blip ground`): the checkpoint, its tokenizer files, an optional config, precision and threads.
struct CheckpointFileOptions: ParsableArguments {
    @Option(help: "The checkpoint (.pth).")
    var model: String

    @Option(help: "Directory or hub id whose tokenizer files to use (default: \(ModelResolver.defaultModel), without its weights).")
    var tokenizer: String?

    @Option(name: .customLong("config"), help: "A transformers BLIP config.json (or a directory holding one) instead of the one chosen from the checkpoint's shapes.")
    var config: String?

    @Option(help: "Precision of the Linear weights: fp32, bf16 or int8.")
    var precision: Precision = .fp32

    @OptionGroup var threadsOption: ThreadsOption

    var checkpointURL: URL { URL(fileURLWithPath: (model as NSString).expandingTildeInPath) }
    var tokenizerDirectory: URL { get throws { try ModelResolver.resolveTokenizer(tokenizer ?? ModelResolver.defaultModel) } }
    var blipConfig: BlipConfig? { get throws { try config.map(loadConfigArgument) } }
    var compute: ComputeSettings { threadsOption.compute }
}
