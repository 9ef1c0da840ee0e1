import Foundation

/// BERT-style attention of the Q-Former: query/key/value projections, then
/// LayerNorm(dense(context) + residual). Port of transformers `Blip2QFormerAttention`
/// (`Blip2QFormerMultiHeadAttention` + `Blip2QFormerSelfOutput`).
struct Blip2QFormerAttention: Sendable {
    let query: Linear
    let key: Linear
    let value: Linear
    let outputDense: Linear
    let outputNorm: LayerNorm
    let heads: Int

    init(_ w: WeightScope, config: Blip2QFormerConfig, keyValueSize: Int) throws {
        let c = config.hiddenSize
        query = try w.linear("attention.query", in: c, out: c)
        key = try w.linear("attention.key", in: keyValueSize, out: c)
        value = try w.linear("attention.value", in: keyValueSize, out: c)
        outputDense = try w.linear("output.dense", in: c, out: c)
        outputNorm = try w.layerNorm("output.LayerNorm", size: c, eps: config.layerNormEps)
        heads = config.numAttentionHeads
    }

    /// x [B, T, C] attending to `states` [B, S, Ckv] (x itself for self-attention) -> [B, T, C].
    func callAsFunction(_ x: Tensor, states: Tensor) -> Tensor {
        let b = x.shape[0], t = x.shape[1], c = x.shape[2], s = states.shape[1]
        let headDim = c / heads
        let q = query(x), k = key(states), v = value(states)  // [B, T, C], [B, S, C], [B, S, C]
        let context = Tensor(uninitializedShape: [b, t, c])
        let scores = TensorStorage(uninitializedCount: max(1, b) * t * s)
        multiHeadAttention(
            q: HeadLayout(base: q.pointer, rowStride: c, batchStride: t * c),
            k: HeadLayout(base: k.pointer, rowStride: c, batchStride: s * c),
            v: HeadLayout(base: v.pointer, rowStride: c, batchStride: s * c),
            out: context.mutablePointer, outRowStride: c, outBatchStride: t * c,
            batch: b, queryLength: t, keyLength: s, heads: heads, headDim: headDim,
            scale: 1 / Float(headDim).squareRoot(), scores: scores.pointer)
        let h = outputDense(context)
        h.addInPlace(x)
        return outputNorm(h)
    }
}

/// One Q-Former layer on the query positions: self-attention, cross-attention to the image in
/// every `cross_attention_frequency`-th layer, and the query feed-forward
/// (`intermediate_query`, `output_query`). Port of transformers `Blip2QFormerLayer` with
/// `query_length` = all positions (no text).
struct Blip2QFormerLayer: Sendable {
    let attention: Blip2QFormerAttention
    let crossAttention: Blip2QFormerAttention?
    let intermediate: Linear
    let output: Linear
    let outputNorm: LayerNorm

    init(_ w: WeightScope, config: Blip2QFormerConfig, index: Int) throws {
        let c = config.hiddenSize
        attention = try Blip2QFormerAttention(w.scope("attention"), config: config, keyValueSize: c)
        crossAttention = index % config.crossAttentionFrequency == 0
            ? try Blip2QFormerAttention(w.scope("crossattention"), config: config, keyValueSize: config.encoderHiddenSize)
            : nil
        intermediate = try w.linear("intermediate_query.dense", in: c, out: config.intermediateSize)
        output = try w.linear("output_query.dense", in: config.intermediateSize, out: c)
        outputNorm = try w.layerNorm("output_query.LayerNorm", size: c, eps: config.layerNormEps)
    }

    /// queries [B, Q, C], image [B, N, Cv] -> [B, Q, C]
    func callAsFunction(_ queries: Tensor, image: Tensor) -> Tensor {
        var x = attention(queries, states: queries)
        if let crossAttention { x = crossAttention(x, states: image) }
        let m = intermediate(x)  // [B, Q, C] -> [B, Q, I]
        m.geluInPlace()
        let h = output(m)  // [B, Q, I] -> [B, Q, C]
        h.addInPlace(x)
        return outputNorm(h)
    }
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
        guard !config.useQformerTextInput else {
            throw BlipModelError.unsupportedModel("Q-Former text input (use_qformer_text_input) is not supported yet")
        }
        self.config = config
        try w.requireLayers("encoder.layer", count: config.numHiddenLayers, configField: "qformer_config.num_hidden_layers")
        layerNorm = try w.layerNorm("layernorm", size: config.hiddenSize, eps: config.layerNormEps)
        layers = try (0..<config.numHiddenLayers).map {
            try Blip2QFormerLayer(w.scope("encoder.layer").scope($0), config: config, index: $0)
        }
    }

    /// query embeddings [B, Q, C] and image states [B, N, Cv] -> last_hidden_state [B, Q, C]
    public func callAsFunction(queryEmbeds: Tensor, imageEmbeds: Tensor) -> Tensor {
        var x = layerNorm(queryEmbeds)
        for layer in layers { x = layer(x, image: imageEmbeds) }
        return x
    }
}
