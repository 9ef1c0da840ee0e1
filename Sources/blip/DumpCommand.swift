import ArgumentParser
import BLIP
import Foundation

/// `blip dump`: intermediate tensors as safetensors, to diff against transformers.
struct DumpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Write pixel_values, vision_last_hidden_state and decoder_logits of images as safetensors.")

    @OptionGroup var modelOption: ModelOption

    @Option(name: .customLong("input-ids"),
            help: "Comma-separated decoder input ids for teacher-forced logits (e.g. 30522,1037,3861,1997,102).")
    var inputIds: String?

    @Option(help: "Output .safetensors file (written atomically).")
    var output: String

    @Argument(help: "Image files (batched together).")
    var images: [String]

    func run() throws {
        try reportingErrors {
            let captioner = try BlipCaptioner(modelDirectory: modelOption.url)
            let rgb = try images.map { try RGBImage(contentsOf: URL(fileURLWithPath: $0)) }
            let pixels = captioner.pixelValues(rgb)
            let embeds = captioner.model.imageEmbeddings(pixels)
            var tensors: [(name: String, tensor: Tensor)] = [("pixel_values", pixels), ("vision_last_hidden_state", embeds)]
            if let inputIds {
                let ids = try inputIds.split(separator: ",").map { part -> Int in
                    guard let id = Int(part.trimmingCharacters(in: .whitespaces)) else {
                        throw ValidationError("--input-ids: \"\(part)\" is not an integer")
                    }
                    return id
                }
                let vocab = captioner.model.config.textConfig.vocabSize
                if let bad = ids.first(where: { $0 < 0 || $0 >= vocab }) {
                    throw ValidationError("--input-ids: \(bad) is outside the vocabulary (0..<\(vocab))")
                }
                let logits = captioner.model.decoderLogits(
                    inputIds: Array(repeating: ids, count: rgb.count), imageEmbeddings: embeds)
                tensors.append(("decoder_logits", logits))
            }
            try SafeTensorsWriter.write(tensors, to: URL(fileURLWithPath: output))
        }
    }
}
