import ArgumentParser
import BLIP
import Foundation

extension DumpCommand {
    /// `blip dump` with a BLIP-2 model: pixel_values, vision_last_hidden_state,
    /// qformer_last_hidden_state and projected_queries of the images; with `--input-ids` (the
    /// prompt's ids) the language model teacher-forced over `<image>`×Q + bos + ids (OPT:
    /// `lm_logits`; T5: `encoder_last_hidden_state` and the decoder's `lm_logits` over
    /// [decoder_start] + ids); with `--generate N`, `greedy_ids` and `beam3_ids` (N new tokens at
    /// most, the prompt as in `generate`), ids as floats.
    func runBlip2() throws {
        guard !images.isEmpty else { throw ValidationError("give at least one image") }
        let directory = try modelOption.url
        let model = try Blip2ForConditionalGeneration(directory: directory, precision: modelOption.precision, compute: modelOption.compute)
        let processor = try ImageProcessor(modelDirectory: directory)
        let pixels = try processor.batch(images.map { try imageOptions.load($0) })  // [I, 3, H, W]
        let (vision, queries, projected) = try model.imageEncoder.encode(pixelValues: pixels)  // [I, N, Cv], [I, Q, C], [I, Q, D]
        var tensors: [(name: String, tensor: Tensor)] = [
            ("pixel_values", pixels), ("vision_last_hidden_state", vision), ("qformer_last_hidden_state", queries),
            ("projected_queries", projected),
        ]
        let prompt = try inputIds.map(Self.parseIds) ?? []
        if let bad = prompt.first(where: { $0 < 0 || $0 >= model.languageModel.vocabSize }) {
            throw ValidationError("--input-ids: \(bad) is outside the vocabulary (0..<\(model.languageModel.vocabSize))")
        }
        if inputIds != nil {
            let rows = Array(repeating: model.inputIds(prompt: prompt), count: images.count)
            let embeds = try model.inputEmbeddings(ids: rows, projectedQueries: projected)  // [I, P, D]
            try model.imageEncoder.compute.run {
                switch model.languageModel {
                case .opt(let lm):
                    var cache = lm.makeCache(batch: rows.count, capacity: rows[0].count)
                    tensors.append(("lm_logits", lm.forward(embeds, cache: &cache)))  // [I, P, V]
                case .t5(let t5):
                    let (states, context) = t5.encode(embeds, attentionMask: rows.map { $0.map { _ in 1 } })
                    let decoderIds = Array(repeating: [t5.config.decoderStartTokenId] + prompt, count: rows.count)
                    var cache = t5.makeCache(batch: rows.count, capacity: decoderIds[0].count)
                    tensors.append(("encoder_last_hidden_state", states))
                    tensors.append(("lm_logits", t5.decode(decoderIds, cache: &cache, context: context)))  // [I, 1 + L, V]
                }
            }
        }
        if let steps = generate {
            var options = GenerationOptions()
            options.maxNewTokens = steps
            for (name, beams) in [("greedy_ids", 1), ("beam3_ids", 3)] {
                options.numBeams = beams
                let ids = try model.generate(pixelValues: pixels, prompt: prompt, options: options)
                let width = ids.map(\.count).max() ?? 0
                let padded = ids.flatMap { $0.map(Float.init) + Array(repeating: -1, count: width - $0.count) }
                tensors.append((name, Tensor(padded, shape: [ids.count, width])))  // -1 pads shorter rows
            }
        }
        try SafeTensorsWriter.write(tensors, to: URL(fileURLWithPath: output))
    }
}
