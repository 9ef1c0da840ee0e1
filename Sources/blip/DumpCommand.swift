import ArgumentParser
import BLIP
import Foundation

/// `blip dump`: intermediate tensors as safetensors, to diff against transformers.
struct DumpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Write pixel_values, vision_last_hidden_state and decoder_logits of images as safetensors.",
        discussion: """
            With --question (a visual question answering model), writes question_states and, with \
            --input-ids, answer_decoder_logits instead of decoder_logits.
            """)

    @OptionGroup var modelOption: ModelOption<CaptionModel>

    @OptionGroup var imageOptions: ImageInputOptions

    @Option(name: .customLong("input-ids"),
            help: "Comma-separated decoder input ids for teacher-forced logits (e.g. 30522,1037,3861,1997,102).")
    var inputIds: String?

    @Option(name: .customLong("question"), help: ArgumentHelp(
        "VQA: a question (repeatable) asked of every image.",
        discussion: "Writes question_states [images × questions, T, C] (row image × Q + question; questions "
            + "padded together, [CLS] first, as transformers' processor gives them) and, with --input-ids, "
            + "answer_decoder_logits: the answer decoder teacher-forced over the ids, cross-attending to "
            + "each row's question states with the question attention mask (transformers' forward). "
            + "Default model: Salesforce/blip-vqa-base."))
    var questions: [String] = []

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "BLIP-2: also generate at most this many new tokens, greedy and beam 3 (greedy_ids, beam3_ids).",
        discussion: "A BLIP-2 model directory writes qformer_last_hidden_state and projected_queries too, and with "
            + "--input-ids (the prompt's ids) lm_logits over <image>×Q + bos + ids (T5: encoder_last_hidden_state "
            + "and the decoder's logits over [decoder_start] + ids)."))
    var generate: Int?

    @Option(help: "Output .safetensors file (written atomically).")
    var output: String

    @Argument(help: "Image files (batched together).")
    var images: [String]

    func run() throws {
        try reportingErrors {
            if !questions.isEmpty { return try runVQA() }
            if Blip2Config.isBlip2(directory: try modelOption.url) { return try runBlip2() }
            if generate != nil { throw ValidationError("--generate applies to BLIP-2 models") }
            let captioner = try BlipCaptioner(modelDirectory: modelOption.url, precision: modelOption.precision, compute: modelOption.compute)
            let rgb = try images.map { try imageOptions.load($0) }
            let pixels = try captioner.pixelValues(rgb)
            let embeds = captioner.model.imageEmbeddings(pixels)
            var tensors: [(name: String, tensor: Tensor)] = [("pixel_values", pixels), ("vision_last_hidden_state", embeds)]
            if let inputIds {
                let ids = try Self.parseIds(inputIds)
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

    /// `--input-ids` as integers.
    static func parseIds(_ text: String) throws -> [Int] {
        try text.split(separator: ",").map { part -> Int in
            guard let id = Int(part.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("--input-ids: \"\(part)\" is not an integer")
            }
            return id
        }
    }
}
