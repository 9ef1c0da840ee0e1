import ArgumentParser
import BLIP
import BLIPHub
import Foundation

extension OfficialBlipCheckpoint.Task: ExpressibleByArgument {}

/// `blip convert`: an official BLIP `.pth` checkpoint to a transformers model directory.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert an official BLIP checkpoint (.pth) to a transformers model directory.",
        discussion: """
            Reads the checkpoint without executing it (a restricted unpickler that accepts only what \
            torch.save writes for tensors), renames its keys to transformers' (as transformers' own \
            conversion script does), takes the config from its shapes, resizes the position embeddings \
            bicubically when --image-size differs from the checkpoint's (as official BLIP does), and writes \
            config.json, model.safetensors, preprocessor_config.json and the tokenizer files to OUT_DIR, \
            which transformers' from_pretrained loads. Keys of other tasks' modules (momentum encoders, \
            queues, heads of a pretraining checkpoint) are left out and listed; any other key is an error.
            """)

    @Option(help: "Task to read the checkpoint as: caption, vqa or itm (default: the one its modules allow).")
    var task: OfficialBlipCheckpoint.Task?

    @Option(name: .customLong("image-size"), help: "Image size of the converted model (default: the checkpoint's).")
    var imageSize: Int?

    @Option(name: .customLong("config"), help: "A transformers config.json (or a directory holding one) instead of the one chosen from the checkpoint's shapes.")
    var config: String?

    @Option(help: "Directory or hub id whose tokenizer files to copy (default: \(ModelResolver.defaultModel), without its weights).")
    var tokenizer: String?

    @Flag(help: "Print a JSON summary.")
    var json = false

    @Argument(help: "The .pth checkpoint.")
    var input: String

    @Argument(help: "The directory to write (must not exist).")
    var output: String

    func validate() throws {
        if let imageSize { try checkOption("--image-size", imageSize, 16...4096) }
    }

    func run() throws {
        try reportingErrors {
            let url = URL(fileURLWithPath: (input as NSString).expandingTildeInPath)
            let checkpoint = try OfficialBlipCheckpoint(url: url, task: task, imageSize: imageSize,
                                                        config: config.map(loadConfigArgument))
            let tokenizerDirectory = try ModelResolver.resolveTokenizer(tokenizer ?? ModelResolver.defaultModel)
            let out = URL(fileURLWithPath: (output as NSString).expandingTildeInPath)
            try checkpoint.writeTransformersDirectory(out, tokenizerDirectory: tokenizerDirectory)
            let v = checkpoint.config.visionConfig
            if json {
                try printJSONLine(["output": out.path, "task": checkpoint.task.rawValue,
                                   "architecture": checkpoint.task.architecture, "vision_hidden_size": v.hiddenSize,
                                   "vision_layers": v.numHiddenLayers, "image_size": v.imageSize,
                                   "checkpoint_image_size": checkpoint.checkpointImageSize,
                                   "unused_by_task": checkpoint.unusedByTask.count])
            } else {
                print("wrote \(out.path): \(checkpoint.task.architecture), ViT \(v.hiddenSize) wide × \(v.numHiddenLayers) layers at \(v.imageSize)²"
                    + (v.imageSize != checkpoint.checkpointImageSize ? " (position embeddings resized from \(checkpoint.checkpointImageSize)²)" : ""))
            }
            if !checkpoint.unusedByTask.isEmpty {
                let modules = Set(checkpoint.unusedByTask.map { $0.split(separator: ".").first.map(String.init) ?? "" }).sorted()
                printError("left out \(checkpoint.unusedByTask.count) tensors the \(checkpoint.task.rawValue) model does not use: "
                    + modules.joined(separator: ", "))
            }
        }
    }
}
