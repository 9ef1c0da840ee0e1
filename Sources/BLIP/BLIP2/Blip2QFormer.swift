import Foundation

/// The Q-Former's BERT attention: BLIP's text attention block with the Q-Former's key names.
/// Port of transformers `Blip2QFormerAttention` (`Blip2QFormerMultiHeadAttention` +
/// `Blip2QFormerSelfOutput`).
typealias Blip2QFormerAttention = BlipTextAttentionBlock

extension BlipTextAttentionBlock {
    init(_ w: WeightScope, config: Blip2QFormerConfig, keyValueSize: Int) throws {
        try self.init(w, projections: "attention", hiddenSize: config.hiddenSize, keyValueSize: keyValueSize,
                      heads: config.numAttentionHeads, eps: config.layerNormEps)
    }

    /// x [B, T, C] attending to `states` [B, S, Ckv] (x itself for self-attention), no cache ->
    /// [B, T, C]; `mask` is additive per key ([B * S], empty: none).
    func callAsFunction(_ x: Tensor, states: Tensor, mask: [Float] = []) -> Tensor {
        let b = x.shape[0], t = x.shape[1], c = x.shape[2], s = states.shape[1]
        let headDim = c / heads
        let q = query(x), k = key(states), v = value(states)  // [B, T, C], [B, S, C], [B, S, C]
        let context = Tensor(uninitializedShape: [b, t, c])
        let scores = TensorStorage(uninitializedCount: max(1, b) * t * s)
        mask.withUnsafeBufferPointer { m in
            multiHeadAttention(
                q: HeadLayout(base: q.pointer, rowStride: c, batchStride: t * c),
                k: HeadLayout(base: k.pointer, rowStride: c, batchStride: s * c),
                v: HeadLayout(base: v.pointer, rowStride: c, batchStride: s * c),
                out: context.mutablePointer, outRowStride: c, outBatchStride: t * c,
                batch: b, queryLength: t, keyLength: s, heads: heads, headDim: headDim,
                scale: 1 / Float(headDim).squareRoot(), mask: m.isEmpty ? nil : m.baseAddress, scores: scores.pointer)
        }
        return output(context, residual: x)
    }
}

/// One Q-Former layer: self-attention over queries and text together, cross-attention to the
/// image for the query positions in every `cross_attention_frequency`-th layer, then the query
/// feed-forward for the queries and the text feed-forward for the text. Port of transformers
/// `Blip2QFormerLayer`.
struct Blip2QFormerLayer: Sendable {
    let attention: Blip2QFormerAttention
    let crossAttention: Blip2QFormerAttention?
    let queryFeedForward: BertFeedForward
    let textFeedForward: BertFeedForward?

    init(_ w: WeightScope, config: Blip2QFormerConfig, index: Int) throws {
        let c = config.hiddenSize
        attention = try Blip2QFormerAttention(w.scope("attention"), config: config, keyValueSize: c)
        crossAttention = index % config.crossAttentionFrequency == 0
            ? try Blip2QFormerAttention(w.scope("crossattention"), config: config, keyValueSize: config.encoderHiddenSize)
            : nil
        queryFeedForward = try BertFeedForward(w, hiddenSize: config.hiddenSize, intermediateSize: config.intermediateSize,
                                               eps: config.layerNormEps, suffix: "_query")
        textFeedForward = config.useQformerTextInput
            ? try BertFeedForward(w, hiddenSize: config.hiddenSize, intermediateSize: config.intermediateSize, eps: config.layerNormEps)
            : nil
    }

    /// x [B, T, C] whose first `queryLength` positions are queries; image [B, N, Cv] (needed
    /// when there are queries); `mask` additive per key [B * T] -> [B, T, C].
    func callAsFunction(_ x: Tensor, queryLength: Int, image: Tensor?, mask: [Float]) -> Tensor {
        let attended = attention(x, states: x, mask: mask)
        let t = x.shape[1]
        guard queryLength > 0 else { return textFeedForward.map { $0(attended) } ?? attended }
        var queries = queryLength == t ? attended : attended.slice(1, 0..<queryLength).contiguous()
        if let crossAttention, let image { queries = crossAttention(queries, states: image) }
        let queryOut = queryFeedForward(queries)
        guard queryLength < t, let textFeedForward else { return queryOut }
        let textOut = textFeedForward(attended.slice(1, queryLength..<t).contiguous())
        return concatenateRows(queryOut, textOut)
    }
}

/// [B, T1, C] and [B, T2, C] -> [B, T1 + T2, C]
func concatenateRows(_ a: Tensor, _ b: Tensor) -> Tensor {
    let n = a.shape[0], t1 = a.shape[1], t2 = b.shape[1], c = a.shape[2]
    let out = Tensor(uninitializedShape: [n, t1 + t2, c])
    for i in 0..<n {
        (out.mutablePointer + i * (t1 + t2) * c).update(from: a.pointer + i * t1 * c, count: t1 * c)
        (out.mutablePointer + (i * (t1 + t2) + t1) * c).update(from: b.pointer + i * t2 * c, count: t2 * c)
    }
    return out
}

/// The Querying Transformer over learned queries. Port of transformers `Blip2QFormerModel`
/// (query path: LayerNorm of the query embeddings, then the layers).
public struct Blip2QFormerModel: Sendable {
    public let config: Blip2QFormerConfig
    let layerNorm: LayerNorm
    let layers: [Blip2QFormerLayer]

    /// Loads from the weights under `w` (usually `qformer`).
    public init(_ w: WeightScope, config: Blip2QFormerConfig) throws {
        if let problem = config.problem() { throw BlipModelError.unsupportedModel(problem) }
        self.config = config
        try w.requireLayers("encoder.layer", count: config.numHiddenLayers, configField: "qformer_config.num_hidden_layers")
        layerNorm = try w.layerNorm("layernorm", size: config.hiddenSize, eps: config.layerNormEps)
        layers = try (0..<config.numHiddenLayers).map {
            try Blip2QFormerLayer(w.scope("encoder.layer").scope($0), config: config, index: $0)
        }
    }

    /// query embeddings [B, Q, C] and image states [B, N, Cv] -> last_hidden_state [B, Q, C]
    public func callAsFunction(queryEmbeds: Tensor, imageEmbeds: Tensor) -> Tensor {
        forward(queryEmbeds, queryLength: queryEmbeds.shape[1], attentionMask: nil, imageEmbeds: imageEmbeds)
    }

    /// embeddings [B, T, C] (the first `queryLength` are queries, the rest text, whose padding
    /// `attentionMask` [B][T] marks with 0) -> last_hidden_state [B, T, C]. Text positions need
    /// a Q-Former with text input (`use_qformer_text_input`).
    public func forward(_ embeddings: Tensor, queryLength: Int, attentionMask: [[Int]]?, imageEmbeds: Tensor?) -> Tensor {
        let b = embeddings.shape[0], t = embeddings.shape[1]
        var mask: [Float] = []
        if let attentionMask, attentionMask.contains(where: { $0.contains(0) }) {
            mask = [Float](repeating: 0, count: b * t)
            for (i, row) in attentionMask.enumerated() { for (j, m) in row.enumerated() where m == 0 { mask[i * t + j] = -Float.greatestFiniteMagnitude } }
        }
        var x = layerNorm(embeddings)
        for layer in layers { x = layer(x, queryLength: queryLength, image: imageEmbeds, mask: mask) }
        return x
    }
}
