import Foundation

/// OPT language model configuration (`text_config` of BLIP-2 OPT checkpoints). Port of
/// transformers `OPTConfig` (the fields the decoder uses).
public struct OPTConfig: Sendable, Equatable {
    public var vocabSize = 50272
    public var hiddenSize = 768
    public var numHiddenLayers = 12
    public var ffnDim = 3072
    public var numAttentionHeads = 12
    public var maxPositionEmbeddings = 2048
    public var wordEmbedProjDim = 768
    public var doLayerNormBefore = true
    public var enableBias = true
    public var bosTokenId = 2, eosTokenId = 2, padTokenId = 1
    public var tieWordEmbeddings = true

    public init(_ object: [String: Any], source: String) throws {
        func int(_ k: String, _ d: Int) -> Int { (object[k] as? NSNumber)?.intValue ?? d }
        func bool(_ k: String, _ d: Bool) -> Bool { (object[k] as? Bool) ?? d }
        vocabSize = int("vocab_size", vocabSize)
        hiddenSize = int("hidden_size", hiddenSize)
        numHiddenLayers = int("num_hidden_layers", numHiddenLayers)
        ffnDim = int("ffn_dim", ffnDim)
        numAttentionHeads = int("num_attention_heads", numAttentionHeads)
        maxPositionEmbeddings = int("max_position_embeddings", maxPositionEmbeddings)
        wordEmbedProjDim = int("word_embed_proj_dim", hiddenSize)
        doLayerNormBefore = bool("do_layer_norm_before", true)
        enableBias = bool("enable_bias", true)
        bosTokenId = int("bos_token_id", bosTokenId)
        eosTokenId = int("eos_token_id", eosTokenId)
        padTokenId = int("pad_token_id", padTokenId)
        tieWordEmbeddings = bool("tie_word_embeddings", true)
        let activation = object["activation_function"] as? String ?? "relu"
        func bad(_ m: String) -> BlipModelError { .unsupportedModel("\(source): text_config: \(m)") }
        guard activation == "relu" else { throw bad("activation_function \(activation) is not supported (only relu)") }
        guard wordEmbedProjDim == hiddenSize else { throw bad("word_embed_proj_dim \(wordEmbedProjDim) ≠ hidden_size (OPT-350m's projections) is not supported") }
        guard doLayerNormBefore else { throw bad("do_layer_norm_before false (OPT-350m) is not supported") }
        guard !(bool("_remove_final_layer_norm", false)) else { throw bad("_remove_final_layer_norm is not supported") }
        guard hiddenSize > 0, numAttentionHeads > 0, hiddenSize % numAttentionHeads == 0, vocabSize > 0, ffnDim > 0,
              numHiddenLayers >= 0, maxPositionEmbeddings > 0 else { throw bad("sizes must be positive, hidden_size a multiple of num_attention_heads") }
    }
}

/// One pre-LayerNorm OPT decoder layer. Port of transformers `OPTDecoderLayer` (`OPTAttention`).
struct OPTDecoderLayer: Sendable {
    let q: Linear, k: Linear, v: Linear, out: Linear
    let attentionNorm: LayerNorm
    let fc1: Linear, fc2: Linear
    let finalNorm: LayerNorm

    init(_ w: WeightScope, config: OPTConfig) throws {
        let c = config.hiddenSize, bias = config.enableBias
        q = try w.linear("self_attn.q_proj", in: c, out: c, bias: bias)
        k = try w.linear("self_attn.k_proj", in: c, out: c, bias: bias)
        v = try w.linear("self_attn.v_proj", in: c, out: c, bias: bias)
        out = try w.linear("self_attn.out_proj", in: c, out: c, bias: bias)
        attentionNorm = try w.layerNorm("self_attn_layer_norm", size: c, eps: 1e-5)
        fc1 = try w.linear("fc1", in: c, out: config.ffnDim, bias: bias)
        fc2 = try w.linear("fc2", in: config.ffnDim, out: c, bias: bias)
        finalNorm = try w.layerNorm("final_layer_norm", size: c, eps: 1e-5)
    }
}

/// OPT decoder with its LM head, run incrementally with a KV cache on input embeddings (so that
/// BLIP-2 can put the projected image queries in the `<image>` positions). Port of transformers
/// `OPTForCausalLM` (`OPTDecoder`, learned positions with offset 2).
public struct OPTForCausalLM: Sendable {
    public let config: OPTConfig
    let embedTokens: Embedding  // [V, C]
    let embedPositions: Tensor  // [maxPositions + 2, C]
    let layers: [OPTDecoderLayer]
    let finalNorm: LayerNorm
    let lmHead: Linear  // [V, C], tied to embedTokens unless the checkpoint has lm_head

    /// Loads from the weights under `w` (BLIP-2: `language_model`).
    init(_ w: WeightScope, config: OPTConfig) throws {
        self.config = config
        let d = w.scope("model.decoder"), c = config.hiddenSize
        try d.requireLayers("layers", count: config.numHiddenLayers, configField: "text_config.num_hidden_layers")
        let embeddings = try d.tensor("embed_tokens.weight", shape: [config.vocabSize, c])
        embedTokens = Embedding(weight: embeddings)
        embedPositions = try d.tensor("embed_positions.weight", shape: [config.maxPositionEmbeddings + 2, c])
        layers = try (0..<config.numHiddenLayers).map { try OPTDecoderLayer(d.scope("layers").scope($0), config: config) }
        finalNorm = try d.layerNorm("final_layer_norm", size: c, eps: 1e-5)
        if w.has("lm_head.weight") {
            lmHead = try w.linear("lm_head", in: c, out: config.vocabSize, bias: false)
        } else {
            guard config.tieWordEmbeddings else { throw BlipModelError.missingWeight(w.key("lm_head.weight")) }
            lmHead = Linear(matrix: .from(embeddings, precision: w.precision), bias: nil)
        }
    }

    /// Token embeddings [B, T, C] of `ids`.
    public func embed(_ ids: [[Int]]) -> Tensor { embedTokens(ids) }

    public func makeCache(batch: Int, capacity: Int) -> TextKVCache {
        TextKVCache(batch: batch, layers: config.numHiddenLayers, width: config.hiddenSize, capacity: capacity)
    }

    /// Runs `embeds` [B, T, C] (positions after the cached ones, no padding) and returns the
    /// logits [B, T, V] of every position, or of the last one ([B, 1, V]) with `lastOnly`.
    public func forward(_ embeds: Tensor, cache: inout TextKVCache, lastOnly: Bool = false) -> Tensor {
        let b = embeds.shape[0], t = embeds.shape[1], c = config.hiddenSize
        let past = cache.length, total = past + t
        let heads = config.numAttentionHeads, headDim = c / heads
        precondition(b == cache.batch && total <= config.maxPositionEmbeddings, "OPT input outside the cache or positions")
        cache.reserve(total)
        var x = embeds.contiguous().copied()
        for bi in 0..<b {  // learned positions: position p uses row p + 2
            for ti in 0..<t {
                let row = x.mutablePointer + (bi * t + ti) * c, pos = embedPositions.pointer + (past + ti + 2) * c
                for j in 0..<c { row[j] += pos[j] }
            }
        }
        let scores = TensorStorage(uninitializedCount: max(1, b) * t * total)
        for (li, layer) in layers.enumerated() {
            let h = layer.attentionNorm(x)
            let q = layer.q(h)  // [B, T, C]
            cache.append(layer: li, keys: layer.k(h), values: layer.v(h), at: past)
            let context = Tensor(uninitializedShape: [b, t, c])
            cache.withLayer(li) { keys, values, capacity in
                multiHeadAttention(
                    q: HeadLayout(base: q.pointer, rowStride: c, batchStride: t * c),
                    k: HeadLayout(base: keys, rowStride: c, batchStride: capacity * c),
                    v: HeadLayout(base: values, rowStride: c, batchStride: capacity * c),
                    out: context.mutablePointer, outRowStride: c, outBatchStride: t * c,
                    batch: b, queryLength: t, keyLength: total, heads: heads, headDim: headDim,
                    scale: 1 / Float(headDim).squareRoot(), causalPast: past, scores: scores.pointer)
            }
            let attended = layer.out(context)
            attended.addInPlace(x)
            x = attended
            let m = layer.fc1(layer.finalNorm(x))  // [B, T, F]
            m.reluInPlace()
            let f = layer.fc2(m)
            f.addInPlace(x)
            x = f
        }
        cache.length = total
        let states = finalNorm(x)
        return lmHead(lastOnly ? lastPositions(states) : states)
    }
}

/// x [B, T, C] -> its last position [B, 1, C].
func lastPositions(_ x: Tensor) -> Tensor {
    let b = x.shape[0], t = x.shape[1], c = x.shape[2]
    if t == 1 { return x }
    let rows = Tensor(uninitializedShape: [b, 1, c])
    let src = x.contiguous()
    for bi in 0..<b { (rows.mutablePointer + bi * c).update(from: src.pointer + (bi * t + t - 1) * c, count: c) }
    return rows
}
