import Foundation

struct T5EncoderBlock: Sendable {
    let attention: T5Attention, attentionNorm: T5RMSNorm
    let feedForward: T5FeedForward, feedForwardNorm: T5RMSNorm

    init(_ w: WeightScope, config: T5Config) throws {
        let eps = Float(config.layerNormEpsilon), c = config.dModel
        attention = try T5Attention(w.scope("layer.0.SelfAttention"), config: config)
        attentionNorm = T5RMSNorm(weight: try w.tensor("layer.0.layer_norm.weight", shape: [c]), eps: eps)
        feedForward = try T5FeedForward(w.scope("layer.1.DenseReluDense"), config: config)
        feedForwardNorm = T5RMSNorm(weight: try w.tensor("layer.1.layer_norm.weight", shape: [c]), eps: eps)
    }
}

struct T5DecoderBlock: Sendable {
    let attention: T5Attention, attentionNorm: T5RMSNorm
    let cross: T5Attention, crossNorm: T5RMSNorm
    let feedForward: T5FeedForward, feedForwardNorm: T5RMSNorm

    init(_ w: WeightScope, config: T5Config) throws {
        let eps = Float(config.layerNormEpsilon), c = config.dModel
        attention = try T5Attention(w.scope("layer.0.SelfAttention"), config: config)
        attentionNorm = T5RMSNorm(weight: try w.tensor("layer.0.layer_norm.weight", shape: [c]), eps: eps)
        cross = try T5Attention(w.scope("layer.1.EncDecAttention"), config: config)
        crossNorm = T5RMSNorm(weight: try w.tensor("layer.1.layer_norm.weight", shape: [c]), eps: eps)
        feedForward = try T5FeedForward(w.scope("layer.2.DenseReluDense"), config: config)
        feedForwardNorm = T5RMSNorm(weight: try w.tensor("layer.2.layer_norm.weight", shape: [c]), eps: eps)
    }
}

/// What the T5 decoder reads of the encoded inputs: each layer's cross-attention keys and
/// values [inputs, S, H·d] and the inputs' padding (additive, [inputs][S]).
public struct T5EncoderContext: Sendable {
    let keys: [Tensor]
    let values: [Tensor]
    let mask: [[Float]]
    public var inputs: Int { mask.count }
    var length: Int { mask.first?.count ?? 0 }
}

/// T5 / Flan-T5 encoder-decoder with relative position buckets (first layer of each stack,
/// shared by the others), RMSNorm, gated-GELU or ReLU feed-forward and a decoder KV cache.
/// Port of transformers `T5ForConditionalGeneration`, run on input embeddings (BLIP-2 puts the
/// image queries first).
public struct T5ForConditionalGeneration: Sendable {
    public let config: T5Config
    let shared: Embedding
    let encoderBlocks: [T5EncoderBlock], decoderBlocks: [T5DecoderBlock]
    let encoderBias: Tensor, decoderBias: Tensor  // [buckets, H]
    let encoderNorm: T5RMSNorm, decoderNorm: T5RMSNorm
    let lmHead: Linear

    init(_ w: WeightScope, config: T5Config) throws {
        self.config = config
        let c = config.dModel, eps = Float(config.layerNormEpsilon)
        let embeddings = try w.tensor("shared.weight", shape: [config.vocabSize, c])
        shared = Embedding(weight: embeddings)
        for (name, count) in [("encoder.block", config.numLayers), ("decoder.block", config.numDecoderLayers)] {
            try w.requireLayers(name, count: count, configField: "text_config layers")
        }
        encoderBlocks = try (0..<config.numLayers).map { try T5EncoderBlock(w.scope("encoder.block").scope($0), config: config) }
        decoderBlocks = try (0..<config.numDecoderLayers).map { try T5DecoderBlock(w.scope("decoder.block").scope($0), config: config) }
        let bias = "layer.0.SelfAttention.relative_attention_bias.weight", shape = [config.relativeAttentionNumBuckets, config.numHeads]
        encoderBias = try w.tensor("encoder.block.0.\(bias)", shape: shape)
        decoderBias = try w.tensor("decoder.block.0.\(bias)", shape: shape)
        encoderNorm = T5RMSNorm(weight: try w.tensor("encoder.final_layer_norm.weight", shape: [c]), eps: eps)
        decoderNorm = T5RMSNorm(weight: try w.tensor("decoder.final_layer_norm.weight", shape: [c]), eps: eps)
        // The stacks' embed_tokens are the shared embedding (tied); a checkpoint may repeat them.
        for name in ["encoder.embed_tokens.weight", "decoder.embed_tokens.weight"] where w.has(name) { w.markUsed(name) }
        // transformers 5 ties the head to the shared embedding unless the checkpoint holds its own
        // (Flan-T5 does); the output scaling (folded into the matrix here) is a separate setting.
        let own = w.has("lm_head.weight")
        if own && !config.scaleDecoderOutputs {
            lmHead = try w.linear("lm_head", in: c, out: config.vocabSize, bias: false)
        } else {
            var head = own ? try w.tensor("lm_head.weight", shape: [config.vocabSize, c]) : embeddings
            if config.scaleDecoderOutputs {
                let scale = 1 / Float(c).squareRoot()
                head = Tensor(head.scalars.map { $0 * scale }, shape: head.shape)
            }
            lmHead = Linear(matrix: .from(head, precision: w.precision), bias: nil)
        }
    }

    /// [H, T, S] relative position bias of `table`; query i sits at `past + i`.
    func positionBias(_ table: Tensor, queries t: Int, keys s: Int, past: Int, bidirectional: Bool) -> [Float] {
        let h = config.numHeads
        var out = [Float](repeating: 0, count: h * t * s)
        for i in 0..<t {
            for j in 0..<s {
                let b = config.bucket(j - (past + i), bidirectional: bidirectional)
                for head in 0..<h { out[(head * t + i) * s + j] = table.pointer[b * h + head] }
            }
        }
        return out
    }

    /// Encoder: embeddings [B, S, C] with padding `attentionMask` [B][S] -> the decoder's context.
    public func encode(_ embeds: Tensor, attentionMask: [[Int]]) -> (states: Tensor, context: T5EncoderContext) {
        let s = embeds.shape[1], inner = config.innerDim
        let mask = attentionMask.map { $0.map { $0 == 0 ? -Float.greatestFiniteMagnitude : 0 } }
        let bias = positionBias(encoderBias, queries: s, keys: s, past: 0, bidirectional: true)
        var x = embeds.contiguous()
        for block in encoderBlocks {
            let h = block.attentionNorm(x)
            let k = block.attention.k(h), v = block.attention.v(h)
            let ctx = T5Attention.attend(block.attention.q(h), keys: k.pointer, values: v.pointer, kvBatchStride: s * inner, length: s,
                                         bias: bias, mask: mask, heads: config.numHeads, headDim: config.dKV)
            let a = block.attention.o(ctx)
            a.addInPlace(x)
            let f = block.feedForward(block.feedForwardNorm(a))
            f.addInPlace(a)
            x = f
        }
        let states = encoderNorm(x)
        let keys = decoderBlocks.map { $0.cross.k(states) }, values = decoderBlocks.map { $0.cross.v(states) }
        return (states, T5EncoderContext(keys: keys, values: values, mask: mask))
    }

    public func makeCache(batch: Int, capacity: Int) -> TextKVCache {
        TextKVCache(batch: batch, layers: config.numDecoderLayers, width: config.innerDim, capacity: capacity)
    }

    /// Decoder: `ids` [B, T] after the cached ones; decoder row b reads encoder input
    /// b / (B / inputs). Logits [B, T, V] (or [B, 1, V] with `lastOnly`).
    public func decode(_ ids: [[Int]], cache: inout TextKVCache, context: T5EncoderContext, lastOnly: Bool = false) -> Tensor {
        let b = ids.count, t = ids.first?.count ?? 0, inner = config.innerDim
        let past = cache.length, total = past + t
        cache.reserve(total)
        let perInput = max(1, b / max(context.inputs, 1))
        let kvIndex = (0..<b).map { $0 / perInput }
        var bias = positionBias(decoderBias, queries: t, keys: total, past: past, bidirectional: false)
        for head in 0..<config.numHeads {  // causal
            for i in 0..<t { for j in (past + i + 1)..<max(total, past + i + 1) { bias[(head * t + i) * total + j] = -Float.greatestFiniteMagnitude } }
        }
        var x = shared(ids)
        for (li, block) in decoderBlocks.enumerated() {
            let h = block.attentionNorm(x)
            cache.append(layer: li, keys: block.attention.k(h), values: block.attention.v(h), at: past)
            let q = block.attention.q(h)
            let ctx = cache.withLayer(li) { keys, values, capacity in
                T5Attention.attend(q, keys: keys, values: values, kvBatchStride: capacity * inner, length: total, bias: bias,
                                   mask: nil, heads: config.numHeads, headDim: config.dKV)
            }
            let a = block.attention.o(ctx)
            a.addInPlace(x)
            let hc = block.crossNorm(a)
            let cctx = T5Attention.attend(block.cross.q(hc), keys: context.keys[li].pointer, values: context.values[li].pointer,
                                          kvBatchStride: context.length * inner, length: context.length, bias: nil,
                                          mask: context.mask, heads: config.numHeads, headDim: config.dKV, kvIndex: kvIndex)
            let cr = block.cross.o(cctx)
            cr.addInPlace(a)
            let f = block.feedForward(block.feedForwardNorm(cr))
            f.addInPlace(cr)
            x = f
        }
        cache.length = total
        let states = decoderNorm(x)
        return lmHead(lastOnly ? lastPositions(states) : states)
    }

    public func embed(_ ids: [[Int]]) -> Tensor { shared(ids) }
}

/// T5 seen by `TextGenerator`: decoder steps over the encoded inputs.
struct T5Decoder: AutoregressiveDecoder {
    let model: T5ForConditionalGeneration
    func inputCount(_ context: T5EncoderContext) -> Int { context.inputs }
    var maxPositions: Int { 1 << 20 }  // relative positions: no table to run out of
    func makeCache(batch: Int, capacity: Int) -> TextKVCache { model.makeCache(batch: batch, capacity: capacity) }
    func nextTokenLogits(_ ids: [[Int]], cache: inout TextKVCache, context: T5EncoderContext) -> Tensor {
        model.decode(ids, cache: &cache, context: context, lastOnly: true).reshaped([ids.count, model.config.vocabSize])
    }
}
