import Foundation

/// BLIP-2 with an OPT language model: image → Q-Former queries projected into the language
/// model's `<image>` positions → text. Port of transformers `Blip2ForConditionalGeneration`
/// (decoder-only language models; Flan-T5 is not supported yet).
public struct Blip2ForConditionalGeneration: Sendable {
    public let config: Blip2Config
    public let imageEncoder: Blip2ImageEncoder
    public let languageModel: OPTForCausalLM

    public init(config: Blip2Config, weights: WeightStore, precision: Precision = .fp32,
                compute: ComputeSettings = .automatic) throws {
        guard config.textModelType == "opt" else {
            throw BlipModelError.unsupportedModel("BLIP-2 with a \(config.textModelType) language model is not supported yet (OPT only)")
        }
        guard let image = config.imageTokenIndex else {
            throw BlipModelError.unsupportedModel("config.json has no image_token_index (the <image> token the queries replace)")
        }
        let loader = WeightLoader(store: weights, precision: precision)
        let w = loader.scope("")
        self.config = config
        imageEncoder = try Blip2ImageEncoder(w, config: config, compute: compute)
        languageModel = try OPTForCausalLM(w.scope("language_model"), config: OPTConfig(config.textConfigJSON, source: "config.json"))
        guard image >= 0 && image < languageModel.config.vocabSize else {
            throw BlipModelError.unsupportedModel("image_token_index \(image) is outside the language model's vocabulary")
        }
        try loader.finish()
    }

    public init(directory: URL, precision: Precision = .fp32, compute: ComputeSettings = .automatic) throws {
        let configURL = directory.appendingPathComponent("config.json")
        guard let data = try? Data(contentsOf: configURL) else {
            throw BlipModelError.unsupportedModel("\(configURL.path): cannot read config.json")
        }
        try self.init(config: Blip2Config(data: data, source: configURL.path),
                      weights: try SafeTensorsCheckpoint(directory: directory), precision: precision, compute: compute)
    }

    /// The ids transformers' `generate` starts from: `<image>` × num_query_tokens, bos, prompt.
    public func inputIds(prompt: [Int]) -> [Int] {
        Array(repeating: config.imageTokenIndex ?? 0, count: config.numQueryTokens) + [languageModel.config.bosTokenId] + prompt
    }

    /// Input embeddings [B, T, C] of `ids` with the projected queries [B, Q, C] scattered into
    /// the `<image>` positions, in order (transformers' `masked_scatter`).
    public func inputEmbeddings(ids: [[Int]], projectedQueries: Tensor) throws -> Tensor {
        let embeds = languageModel.embed(ids)
        let c = embeds.shape[2], q = projectedQueries.shape[1]
        let image = config.imageTokenIndex ?? -1
        for (b, row) in ids.enumerated() {
            let positions = row.indices.filter { row[$0] == image }
            guard positions.count == q else {
                throw BlipModelError.invalidInput("input \(b) has \(positions.count) <image> tokens for \(q) query embeddings")
            }
            for (j, p) in positions.enumerated() {
                (embeds.mutablePointer + (b * row.count + p) * c).update(from: projectedQueries.pointer + (b * q + j) * c, count: c)
            }
        }
        return embeds
    }

    /// Greedy decoding as `generate(pixel_values, input_ids, max_new_tokens:, do_sample=False,
    /// num_beams=1)`: the prompt ids followed by up to `maxNewTokens` tokens per image; a row
    /// that produced end-of-sequence is padded with the pad token while the others go on.
    public func generateGreedy(pixelValues: Tensor, prompt: [Int] = [], maxNewTokens: Int = 20) throws -> [[Int]] {
        guard maxNewTokens >= 1 else { throw BlipModelError.invalidInput("max_new_tokens must be at least 1") }
        let projected = try imageEncoder.encode(pixelValues: pixelValues).projected  // [B, Q, C]
        let b = pixelValues.shape[0]
        var rows = Array(repeating: inputIds(prompt: prompt), count: b)
        let lm = languageModel
        guard rows[0].count + maxNewTokens <= lm.config.maxPositionEmbeddings else {
            throw BlipModelError.invalidInput("prompt plus new tokens exceed max_position_embeddings \(lm.config.maxPositionEmbeddings)")
        }
        return try imageEncoder.compute.run {
            var cache = lm.makeCache(batch: b, capacity: rows[0].count + maxNewTokens)
            var logits = lm.forward(try inputEmbeddings(ids: rows, projectedQueries: projected), cache: &cache, lastOnly: true)
            var finished = [Bool](repeating: false, count: b)
            let vocab = lm.config.vocabSize
            for step in 0..<maxNewTokens {
                var next = [Int](repeating: lm.config.padTokenId, count: b)
                for r in 0..<b where !finished[r] {
                    next[r] = argmax(logits.pointer + r * vocab, count: vocab)
                    if next[r] == lm.config.eosTokenId { finished[r] = true }
                }
                for r in 0..<b { rows[r].append(next[r]) }
                if !finished.contains(false) || step == maxNewTokens - 1 { break }
                logits = lm.forward(lm.embed(next.map { [$0] }), cache: &cache, lastOnly: true)
            }
            return rows
        }
    }
}
