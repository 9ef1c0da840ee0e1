import Foundation

/// The language model of a BLIP-2 checkpoint.
public enum Blip2LanguageModel: Sendable {
    /// Decoder-only (blip2-opt-*): the prompt, image queries first, is the decoder's prefix.
    case opt(OPTForCausalLM)
    /// Encoder-decoder (blip2-flan-t5-*): the image queries and the prompt are the encoder's input.
    case t5(T5ForConditionalGeneration)

    public func embed(_ ids: [[Int]]) -> Tensor {
        switch self {
        case .opt(let m): return m.embed(ids)
        case .t5(let m): return m.embed(ids)
        }
    }

    public var vocabSize: Int {
        switch self {
        case .opt(let m): return m.config.vocabSize
        case .t5(let m): return m.config.vocabSize
        }
    }
}

/// BLIP-2: image → Q-Former queries projected into the language model's `<image>` positions →
/// text, with OPT or Flan-T5. Port of transformers `Blip2ForConditionalGeneration`.
public struct Blip2ForConditionalGeneration: Sendable {
    public let config: Blip2Config
    public let imageEncoder: Blip2ImageEncoder
    public let languageModel: Blip2LanguageModel
    /// How the Linear weights are kept.
    public let precision: Precision
    /// The threads the model runs on.
    public var compute: ComputeSettings { imageEncoder.compute }

    public init(config: Blip2Config, weights: WeightStore, precision: Precision = .fp32,
                compute: ComputeSettings = .automatic) throws {
        guard ["opt", "t5"].contains(config.textModelType) else {
            throw BlipModelError.unsupportedModel("BLIP-2 with a \(config.textModelType) language model is not supported (OPT or T5)")
        }
        guard let image = config.imageTokenIndex else {
            throw BlipModelError.unsupportedModel("config.json has no image_token_index (the <image> token the queries replace)")
        }
        let loader = WeightLoader(store: weights, precision: precision)
        let w = loader.scope("")
        self.config = config
        self.precision = precision
        imageEncoder = try Blip2ImageEncoder(w, config: config, compute: compute)
        if config.textModelType == "t5" {
            languageModel = .t5(try T5ForConditionalGeneration(w.scope("language_model"),
                                                               config: T5Config(config.textConfigJSON, source: "config.json")))
        } else {
            languageModel = .opt(try OPTForCausalLM(w.scope("language_model"), config: OPTConfig(config.textConfigJSON, source: "config.json")))
        }
        guard image >= 0 && image < languageModel.vocabSize else {
            throw BlipModelError.unsupportedModel("image_token_index \(image) is outside the language model's vocabulary")
        }
        try loader.finish()
    }

    public init(directory: URL, precision: Precision = .fp32, compute: ComputeSettings = .automatic) throws {
        try self.init(config: Blip2Config.load(directory: directory), weights: try openCheckpoint(directory: directory),
                      precision: precision, compute: compute)
    }

    /// The ids transformers' `generate` starts from: `<image>` × num_query_tokens, then (OPT)
    /// bos and the prompt, or (T5) the prompt as its tokenizer gives it (with `</s>`).
    public func inputIds(prompt: [Int]) -> [Int] {
        let image = Array(repeating: config.imageTokenIndex ?? 0, count: config.numQueryTokens)
        switch languageModel {
        case .opt(let lm): return image + [lm.config.bosTokenId] + prompt
        case .t5: return image + prompt
        }
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

    /// Generates as transformers' `generate(pixel_values, input_ids, ...)` does, with every
    /// option of `GenerationOptions` (greedy, sampling, beam search, repetition penalty, min/max
    /// new tokens, `numReturnSequences`): for each image (× sequences) the input ids
    /// (`<image>` × num_query_tokens, bos, `prompt`) followed by the generated tokens.
    public func generate(pixelValues: Tensor, prompt: [Int] = [], options: GenerationOptions = .init(),
                         monitor: GenerationMonitor? = nil) throws -> [[Int]] {
        let projected = try imageEncoder.encode(pixelValues: pixelValues).projected  // [B, Q, C]
        let rows = Array(repeating: inputIds(prompt: prompt), count: pixelValues.shape[0])
        let prefix = try inputEmbeddings(ids: rows, projectedQueries: projected)  // [B, P, C]
        switch languageModel {
        case .opt(let lm):
            let generator = TextGenerator(decoder: OPTPromptedDecoder(model: lm), eosTokenId: lm.config.eosTokenId,
                                          padTokenId: lm.config.padTokenId)
            return try imageEncoder.compute.run {
                try generator.generate(prompts: rows, context: OPTPromptedDecoder.Prefix(embeddings: prefix), options: options,
                                       monitor: monitor)
            }
        case .t5(let lm):
            // The decoder starts from decoder_start_token_id; the outputs are the decoder's ids.
            let generator = TextGenerator(decoder: T5Decoder(model: lm), eosTokenId: lm.config.eosTokenId, padTokenId: lm.config.padTokenId)
            return try imageEncoder.compute.run {
                let context = lm.encode(prefix, attentionMask: rows.map { $0.map { _ in 1 } }).context
                return try generator.generate(prompts: Array(repeating: [lm.config.decoderStartTokenId], count: rows.count),
                                              context: context, options: options, monitor: monitor)
            }
        }
    }
}

/// OPT seen by `TextGenerator`: the first step feeds the prompt's embeddings (the image
/// queries in the `<image>` positions) instead of embedding its ids; later steps embed the
/// generated ids.
struct OPTPromptedDecoder: AutoregressiveDecoder {
    let model: OPTForCausalLM

    /// The prompt embeddings of each input [inputs, P, C].
    struct Prefix {
        let embeddings: Tensor
    }

    func inputCount(_ context: Prefix) -> Int { context.embeddings.shape[0] }
    var maxPositions: Int { model.config.maxPositionEmbeddings }
    func makeCache(batch: Int, capacity: Int) -> TextKVCache { model.makeCache(batch: batch, capacity: capacity) }

    func nextTokenLogits(_ ids: [[Int]], cache: inout TextKVCache, context: Prefix) -> Tensor {
        let b = ids.count
        let embeds: Tensor
        if cache.length == 0 {
            // Rows map onto inputs in order (several per input for several return sequences).
            let inputs = context.embeddings.shape[0], p = context.embeddings.shape[1], c = context.embeddings.shape[2]
            let perInput = max(1, b / max(inputs, 1))
            let rows = Tensor(uninitializedShape: [b, p, c])
            for r in 0..<b {
                (rows.mutablePointer + r * p * c).update(from: context.embeddings.pointer + (r / perInput) * p * c, count: p * c)
            }
            embeds = rows
        } else {
            embeds = model.embed(ids)
        }
        let logits = model.forward(embeds, cache: &cache, lastOnly: true)  // [B, 1, V]
        return logits.reshaped([b, model.config.vocabSize])
    }
}
