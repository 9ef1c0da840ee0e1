import Foundation

/// Word + absolute position embeddings, then LayerNorm. Port of transformers `BlipTextEmbeddings`.
public struct BlipTextEmbeddings: Sendable {
    let wordEmbeddings: Embedding
    let positionEmbeddings: Tensor  // [maxPositions, C]
    let layerNorm: LayerNorm

    init(_ w: WeightScope, config: BlipTextConfig) throws {
        let c = config.hiddenSize
        wordEmbeddings = Embedding(weight: try w.tensor("word_embeddings.weight", shape: [config.vocabSize, c]))
        positionEmbeddings = try w.tensor("position_embeddings.weight", shape: [config.maxPositionEmbeddings, c])
        layerNorm = try w.layerNorm("LayerNorm", size: c, eps: config.layerNormEps)
    }

    /// ids [B, T] at positions past..<past+T -> [B, T, C]
    func callAsFunction(_ ids: [[Int]], past: Int) -> Tensor {
        let x = wordEmbeddings(ids)
        let b = x.shape[0], t = x.shape[1], c = x.shape[2]
        precondition(past + t <= positionEmbeddings.shape[0], "sequence longer than max_position_embeddings")
        let p = x.mutablePointer, pos = positionEmbeddings.pointer
        for bi in 0..<b {
            for ti in 0..<t {
                let row = p + (bi * t + ti) * c, pr = pos + (past + ti) * c
                for j in 0..<c { row[j] += pr[j] }
            }
        }
        return layerNorm(x)
    }
}

/// Attention projections plus the BERT output block (dense, residual, LayerNorm).
/// Port of transformers `BlipTextSelfAttention` + `BlipTextSelfOutput` (used for both the
/// self-attention and the cross-attention of a layer).
struct BlipTextAttentionBlock: Sendable {
    let query: Linear
    let key: Linear
    let value: Linear
    let outputDense: Linear
    let outputNorm: LayerNorm
    let heads: Int

    init(_ w: WeightScope, config: BlipTextConfig, keyValueSize: Int) throws {
        try self.init(w, projections: "self", hiddenSize: config.hiddenSize, keyValueSize: keyValueSize,
                      heads: config.numAttentionHeads, eps: config.layerNormEps)
    }

    /// The BERT attention block under `w`: `projections`.query/key/value, then output.dense and
    /// output.LayerNorm (BLIP's text model names the projections `self`, BLIP-2's Q-Former
    /// `attention`).
    init(_ w: WeightScope, projections: String, hiddenSize c: Int, keyValueSize: Int, heads: Int, eps: Double) throws {
        query = try w.linear("\(projections).query", in: c, out: c)
        key = try w.linear("\(projections).key", in: keyValueSize, out: c)
        value = try w.linear("\(projections).value", in: keyValueSize, out: c)
        outputDense = try w.linear("output.dense", in: c, out: c)
        outputNorm = try w.layerNorm("output.LayerNorm", size: c, eps: eps)
        self.heads = heads
    }

    /// LayerNorm(dense(context) + residual)
    func output(_ context: Tensor, residual: Tensor) -> Tensor {
        let h = outputDense(context)
        h.addInPlace(residual)
        return outputNorm(h)
    }
}

/// The BERT feed-forward block, LayerNorm(W2 gelu(W1 x) + x): `intermediate{suffix}.dense`,
/// `output{suffix}.dense`, `output{suffix}.LayerNorm`. Port of transformers `BlipTextIntermediate`
/// + `BlipTextOutput` (the Q-Former's query positions use the `_query` suffix).
struct BertFeedForward: Sendable {
    let intermediate: Linear
    let output: Linear
    let outputNorm: LayerNorm

    init(_ w: WeightScope, hiddenSize c: Int, intermediateSize: Int, eps: Double, suffix: String = "") throws {
        intermediate = try w.linear("intermediate\(suffix).dense", in: c, out: intermediateSize)
        output = try w.linear("output\(suffix).dense", in: intermediateSize, out: c)
        outputNorm = try w.layerNorm("output\(suffix).LayerNorm", size: c, eps: eps)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let m = intermediate(x)  // [B, T, C] -> [B, T, I]
        m.geluInPlace()
        let h = output(m)  // [B, T, I] -> [B, T, C]
        h.addInPlace(x)
        return outputNorm(h)
    }
}

/// One BERT layer with causal self-attention, cross-attention to the image and the feed-forward
/// block. Port of transformers `BlipTextLayer` (`BlipTextAttention`, `BlipTextIntermediate`,
/// `BlipTextOutput`).
struct BlipTextLayer: Sendable {
    let attention: BlipTextAttentionBlock
    let crossAttention: BlipTextAttentionBlock?
    let feedForward: BertFeedForward

    init(_ w: WeightScope, config: BlipTextConfig, crossAttention hasCross: Bool) throws {
        let c = config.hiddenSize
        attention = try BlipTextAttentionBlock(w.scope("attention"), config: config, keyValueSize: c)
        crossAttention = hasCross
            ? try BlipTextAttentionBlock(w.scope("crossattention"), config: config, keyValueSize: config.encoderHiddenSize)
            : nil
        feedForward = try BertFeedForward(w, hiddenSize: c, intermediateSize: config.intermediateSize, eps: config.layerNormEps)
    }
}

/// The BERT text transformer of BLIP with cross-attention layers. Port of transformers
/// `BlipTextModel` (`BlipTextEncoder`), run incrementally with a `TextKVCache`.
public struct BlipTextModel: Sendable {
    public let config: BlipTextConfig
    let embeddings: BlipTextEmbeddings
    let layers: [BlipTextLayer]

    /// Loads from the weights under `w` (`text_decoder.bert` or `text_encoder`).
    public init(_ w: WeightScope, config: BlipTextConfig, crossAttention: Bool = true) throws {
        if let problem = config.problem() { throw BlipModelError.unsupportedModel(problem) }
        guard config.hiddenAct == "gelu" else {
            throw BlipModelError.unsupportedModel("text hidden_act \(config.hiddenAct) is not supported (only gelu)")
        }
        self.config = config
        try w.requireLayers("encoder.layer", count: config.numHiddenLayers, configField: "text_config.num_hidden_layers")
        embeddings = try BlipTextEmbeddings(w.scope("embeddings"), config: config)
        layers = try (0..<config.numHiddenLayers).map {
            try BlipTextLayer(w.scope("encoder.layer").scope($0), config: config, crossAttention: crossAttention)
        }
    }

    var headDim: Int { config.hiddenSize / config.numAttentionHeads }

    /// Projects the image embeddings to every layer's cross-attention keys and values, once per
    /// image: imageEmbeds [B, N, E] -> per layer K, V [B, N, C].
    ///
    /// `attentionMask` ([batch][N], 1 real / 0 padding) masks padded positions, e.g. when the
    /// "image" is a batch of encoded questions of different lengths (VQA answer decoding).
    public func crossAttentionKeysValues(_ imageEmbeds: Tensor, attentionMask: [[Int]]? = nil) -> CrossAttentionKV {
        CrossAttentionKV(
            keys: layers.map { $0.crossAttention!.key(imageEmbeds) },
            values: layers.map { $0.crossAttention!.value(imageEmbeds) },
            imageBatch: imageEmbeds.shape[0], length: imageEmbeds.shape[1], attentionMask: attentionMask)
    }

    /// Bidirectional encoding of whole sequences, as the BLIP text encoder runs: ids [B, T] with
    /// an optional padding mask ([B][T], 1 real / 0 padding), cross-attending to `cross` when
    /// given (image-grounded) or text only when nil -> last hidden state [B, T, C].
    public func encode(_ ids: [[Int]], attentionMask: [[Int]]? = nil, cross: CrossAttentionKV?) -> Tensor {
        var cache = TextKVCache(batch: ids.count, layers: config.numHiddenLayers, width: config.hiddenSize,
                                capacity: ids.first?.count ?? 1)
        if let attentionMask { cache.appendMask(attentionMask) }
        return forward(ids, cache: &cache, cross: cross, causal: false)
    }

    /// Runs `ids` [B, T] (the tokens after those already in `cache`) through the model, appending
    /// their keys and values to `cache`; returns hidden states [B, T, C].
    ///
    /// - `cross`: image keys/values; query row `b` uses image `b / (B / cross.imageBatch)`.
    /// - `cache.keyMask`: additive padding mask per row over all cached + new positions.
    public func forward(_ ids: [[Int]], cache: inout TextKVCache, cross: CrossAttentionKV?,
                        causal: Bool = true) -> Tensor {
        forward(embedded: embeddings(ids, past: cache.length), cache: &cache, cross: cross, causal: causal)
    }

    /// Bidirectional encoding of input embeddings [B, T, C] (the embedding layer skipped), as
    /// BLIP's `BertModel(encoder_embeds=…)` runs a multimodal encoder over another encoder's
    /// output (mmpretrain's grounding model) -> [B, T, C].
    public func encode(embeddings x: Tensor, attentionMask: [[Int]]? = nil, cross: CrossAttentionKV?) -> Tensor {
        var cache = TextKVCache(batch: x.shape[0], layers: config.numHiddenLayers, width: config.hiddenSize,
                                capacity: max(1, x.shape[1]))
        if let attentionMask { cache.appendMask(attentionMask) }
        return forward(embedded: x.contiguous(), cache: &cache, cross: cross, causal: false)
    }

    /// `forward` of embedded tokens x [B, T, C].
    func forward(embedded input: Tensor, cache: inout TextKVCache, cross: CrossAttentionKV?, causal: Bool) -> Tensor {
        let b = input.shape[0], t = input.shape[1], c = config.hiddenSize
        let past = cache.length
        precondition(b == cache.batch, "batch \(b) does not match the cache's \(cache.batch)")
        cache.reserve(past + t)
        var x = input
        let total = past + t
        let scores = TensorStorage(uninitializedCount: max(1, b) * t * max(total, cross?.length ?? 0))
        cache.extendMask(to: total)
        let mask = cache.additiveMask(length: total)
        for (li, layer) in layers.enumerated() {
            // Self-attention over cached + new keys.
            let a = layer.attention
            let q = a.query(x)  // [B, T, C]
            cache.append(layer: li, keys: a.key(x), values: a.value(x), at: past)
            let context = Tensor(uninitializedShape: [b, t, c])
            cache.withLayer(li) { k, v, capacity in
                mask.withUnsafeBufferPointer { m in
                    multiHeadAttention(
                        q: HeadLayout(base: q.pointer, rowStride: c, batchStride: t * c),
                        k: HeadLayout(base: k, rowStride: c, batchStride: capacity * c),
                        v: HeadLayout(base: v, rowStride: c, batchStride: capacity * c),
                        out: context.mutablePointer, outRowStride: c, outBatchStride: t * c,
                        batch: b, queryLength: t, keyLength: total, heads: config.numAttentionHeads, headDim: headDim,
                        scale: 1 / Float(headDim).squareRoot(), mask: m.isEmpty ? nil : m.baseAddress,
                        causalPast: causal ? past : nil, scores: scores.pointer)
                }
            }
            x = a.output(context, residual: x)
            // Cross-attention to the image (all image positions visible).
            if let ca = layer.crossAttention, let cross {
                let qc = ca.query(x)
                let ctx = Tensor(uninitializedShape: [b, t, c])
                let n = cross.length
                let crossMask = cross.additiveMask(queryBatch: b)
                crossMask.withUnsafeBufferPointer { m in
                multiHeadAttention(
                    q: HeadLayout(base: qc.pointer, rowStride: c, batchStride: t * c),
                    k: HeadLayout(base: cross.keys[li].pointer, rowStride: c, batchStride: n * c),
                    v: HeadLayout(base: cross.values[li].pointer, rowStride: c, batchStride: n * c),
                    out: ctx.mutablePointer, outRowStride: c, outBatchStride: t * c,
                    batch: b, queriesPerKV: b / cross.imageBatch, queryLength: t, keyLength: n,
                    heads: config.numAttentionHeads, headDim: headDim,
                    scale: 1 / Float(headDim).squareRoot(), mask: m.isEmpty ? nil : m.baseAddress,
                    scores: scores.pointer)
                }
                x = ca.output(ctx, residual: x)
            }
            x = layer.feedForward(x)
        }
        cache.length = total
        return x
    }
}

/// Cross-attention keys and values of every layer for a batch of images (computed once per
/// image and shared, without copies, by all beams or questions of that image).
public struct CrossAttentionKV: Sendable {
    /// Per layer [imageBatch, length, C].
    public let keys: [Tensor]
    public let values: [Tensor]
    public let imageBatch: Int
    public let length: Int
    /// Padding of the attended sequence ([imageBatch][length], 1 real / 0 padding); nil: none.
    public let attentionMask: [[Int]]?

    public init(keys: [Tensor], values: [Tensor], imageBatch: Int, length: Int, attentionMask: [[Int]]? = nil) {
        self.keys = keys
        self.values = values
        self.imageBatch = imageBatch
        self.length = length
        self.attentionMask = attentionMask?.allSatisfy({ $0.allSatisfy { $0 == 1 } }) == true ? nil : attentionMask
    }

    /// Additive mask per query row ([queryBatch * length]), empty when nothing is masked.
    func additiveMask(queryBatch: Int) -> [Float] {
        guard let attentionMask else { return [] }
        let perKV = queryBatch / imageBatch
        var out = [Float](repeating: 0, count: queryBatch * length)
        for b in 0..<queryBatch {
            for (j, m) in attentionMask[b / perKV].enumerated() where m == 0 {
                out[b * length + j] = -Float.greatestFiniteMagnitude
            }
        }
        return out
    }
}
