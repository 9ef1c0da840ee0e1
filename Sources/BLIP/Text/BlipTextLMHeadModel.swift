import Foundation

/// The language-model head: dense + GELU + LayerNorm, then the vocabulary projection.
/// Port of transformers `BlipTextLMPredictionHead` (`cls.predictions`).
struct BlipTextLMPredictionHead: Sendable {
    let transformDense: Linear
    let transformNorm: LayerNorm
    /// [vocab, C], tied to the word embeddings when the checkpoint leaves it out.
    let decoder: Linear

    init(_ w: WeightScope, config: BlipTextConfig, wordEmbeddings: Tensor) throws {
        let c = config.hiddenSize, v = config.vocabSize
        transformDense = try w.linear("transform.dense", in: c, out: c)
        transformNorm = try w.layerNorm("transform.LayerNorm", size: c, eps: config.layerNormEps)
        // Both forms exist in the wild: `decoder.weight`/`decoder.bias` saved explicitly, or only
        // the tied sources (the word embeddings and `predictions.bias`).
        let weight = try w.optionalTensor("decoder.weight", shape: [v, c]) ?? wordEmbeddings
        let sharedBias = try w.optionalTensor("bias", shape: [v])
        let decoderBias = try w.optionalTensor("decoder.bias", shape: [v])
        guard let bias = decoderBias ?? sharedBias else {
            throw BlipModelError.missingWeight(w.prefix + ".bias")
        }
        decoder = Linear(weight: weight.contiguous(), bias: bias).converted(to: w.precision)
    }

    /// hidden [B, C] -> logits [B, vocab]
    func callAsFunction(_ hidden: Tensor) -> Tensor {
        let h = transformDense(hidden)
        h.geluInPlace()
        return decoder(transformNorm(h))
    }
}

/// The BLIP text decoder: BERT with cross-attention plus the LM head. Port of transformers
/// `BlipTextLMHeadModel` (`text_decoder.bert`, `text_decoder.cls`).
public struct BlipTextLMHeadModel: Sendable {
    public let bert: BlipTextModel
    let head: BlipTextLMPredictionHead

    /// Loads from the weights under `w` (usually `text_decoder`).
    public init(_ w: WeightScope, config: BlipTextConfig) throws {
        bert = try BlipTextModel(w.scope("bert"), config: config)
        head = try BlipTextLMPredictionHead(w.scope("cls.predictions"), config: config,
                                            wordEmbeddings: bert.embeddings.wordEmbeddings.weight)
    }

    public var config: BlipTextConfig { bert.config }

    /// An empty self-attention cache for `batch` rows with room for `capacity` tokens.
    public func makeCache(batch: Int, capacity: Int) -> TextKVCache {
        TextKVCache(batch: batch, layers: config.numHiddenLayers, width: config.hiddenSize, capacity: capacity)
    }

    /// Feeds `ids` [B, T] after the cached tokens; returns logits of the last position [B, vocab].
    public func nextTokenLogits(_ ids: [[Int]], cache: inout TextKVCache, cross: CrossAttentionKV) -> Tensor {
        let hidden = bert.forward(ids, cache: &cache, cross: cross)  // [B, T, C]
        let t = hidden.shape[1]
        return head(hidden.slice(1, (t - 1)..<t).reshaped([hidden.shape[0], hidden.shape[2]]))
    }

    /// Logits of every position for teacher-forced `ids` [B, T] -> [B, T, vocab].
    public func logits(_ ids: [[Int]], cross: CrossAttentionKV, attentionMask: [[Int]]? = nil) -> Tensor {
        var cache = makeCache(batch: ids.count, capacity: ids.first?.count ?? 1)
        if let attentionMask { cache.appendMask(attentionMask) }
        let hidden = bert.forward(ids, cache: &cache, cross: cross)
        return head(hidden)
    }
}
