import ArgumentParser
import BLIP
import BLIPHub
import Foundation

extension DumpCommand {
    /// `blip dump --question …`: the visual question answering tensors (see `--question`).
    func runVQA() throws {
        guard !images.isEmpty else { throw ValidationError("give at least one image") }
        let answerer = try BlipQuestionAnswerer(modelDirectory: modelOption.url(default: ModelResolver.defaultVQAModel), precision: modelOption.precision, compute: modelOption.compute)
        let model = answerer.model
        let rgb = try images.map { try imageOptions.load($0) }
        let pixels = Tensor.concat(rgb.map { answerer.pixelValues($0) }, dim: 0)  // I x [1, 3, H, W] -> [I, 3, H, W]
        let embeds = model.imageEmbeddings(pixels)                                 // [I, N, C]
        let batch = answerer.tokenizer.encodeBatch(questions)                      // [Q, T], padded
        let rows = images.count * questions.count
        let ids = Array(Array(repeating: batch.inputIds, count: images.count).joined())
        let mask = Array(Array(repeating: batch.attentionMask, count: images.count).joined())
        // [I * Q, T] ids over image cross-attention [I, N, C] -> [I * Q, T, C]; row i * Q + q reads image i.
        let states = try model.encodeQuestions(ids, attentionMask: mask, image: model.imageCrossAttention(embeds))
        var tensors: [(name: String, tensor: Tensor)] = [
            ("pixel_values", pixels), ("vision_last_hidden_state", embeds), ("question_states", states),
        ]
        if let inputIds {
            let answer = try Self.parseIds(inputIds)
            // [I * Q, L] answer ids over [I * Q, T, C] question states (question mask) -> [I * Q, L, vocab].
            let logits = try model.decoderLogits(
                answerIds: Array(repeating: answer, count: rows),
                question: model.questionCrossAttention(states, attentionMask: mask))
            tensors.append(("answer_decoder_logits", logits))
        }
        try SafeTensorsWriter.write(tensors, to: URL(fileURLWithPath: output))
    }
}
