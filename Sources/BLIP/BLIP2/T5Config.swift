import Foundation

/// T5 / Flan-T5 configuration (`text_config` of BLIP-2 Flan-T5 checkpoints). Port of
/// transformers `T5Config` (the fields the model uses).
public struct T5Config: Sendable, Equatable {
    public var vocabSize = 32128
    public var dModel = 512
    public var dKV = 64
    public var dFF = 2048
    public var numLayers = 6
    public var numDecoderLayers = 6
    public var numHeads = 8
    public var relativeAttentionNumBuckets = 32
    public var relativeAttentionMaxDistance = 128
    public var layerNormEpsilon = 1e-6
    /// "gated-gelu" (Flan-T5: gelu_new of wi_0 times wi_1) or "relu" (original T5).
    public var feedForwardProj = "relu"
    /// Whether the decoder's output is scaled by d_model^-0.5 before the LM head, as transformers
    /// 5 decides it: the saved `scale_decoder_outputs`, else `tie_word_embeddings` not false
    /// (original T5 scales; T5 v1.1 and Flan-T5, `tie_word_embeddings: false`, do not).
    public var scaleDecoderOutputs = true
    public var decoderStartTokenId = 0, eosTokenId = 1, padTokenId = 0

    public init(_ o: [String: Any], source: String) throws {
        func int(_ k: String, _ d: Int) -> Int { (o[k] as? NSNumber)?.intValue ?? d }
        vocabSize = int("vocab_size", vocabSize)
        dModel = int("d_model", dModel)
        dKV = int("d_kv", dKV)
        dFF = int("d_ff", dFF)
        numLayers = int("num_layers", numLayers)
        numDecoderLayers = int("num_decoder_layers", numLayers)
        numHeads = int("num_heads", numHeads)
        relativeAttentionNumBuckets = int("relative_attention_num_buckets", relativeAttentionNumBuckets)
        relativeAttentionMaxDistance = int("relative_attention_max_distance", relativeAttentionMaxDistance)
        layerNormEpsilon = (o["layer_norm_epsilon"] as? NSNumber)?.doubleValue ?? layerNormEpsilon
        feedForwardProj = o["feed_forward_proj"] as? String ?? feedForwardProj
        scaleDecoderOutputs = o["scale_decoder_outputs"] as? Bool ?? (o["tie_word_embeddings"] as? Bool != false)
        decoderStartTokenId = int("decoder_start_token_id", 0)
        eosTokenId = int("eos_token_id", 1)
        padTokenId = int("pad_token_id", 0)
        guard ["gated-gelu", "relu"].contains(feedForwardProj) else {
            throw BlipModelError.unsupportedModel("\(source): text_config.feed_forward_proj \(feedForwardProj) is not supported (gated-gelu or relu)")
        }
        guard dModel > 0, dKV > 0, dFF > 0, numHeads > 0, numLayers >= 0, numDecoderLayers >= 0, vocabSize > 0,
              relativeAttentionNumBuckets >= 2, relativeAttentionMaxDistance >= 2 else {
            throw BlipModelError.unsupportedModel("\(source): text_config has non-positive sizes")
        }
    }

    var isGated: Bool { feedForwardProj == "gated-gelu" }
    var innerDim: Int { numHeads * dKV }

    /// `T5Attention._relative_position_bucket` of `relative = memory - query`.
    func bucket(_ relative: Int, bidirectional: Bool) -> Int {
        var buckets = relativeAttentionNumBuckets
        var result = 0
        var r = relative
        if bidirectional {
            buckets /= 2
            if r > 0 { result += buckets }
            r = abs(r)
        } else {
            r = -min(r, 0)
        }
        let maxExact = buckets / 2
        if r < maxExact { return result + r }
        // In float32, as torch computes it (the Python float divisor joins the float32 op).
        let scale = Float(log(Double(relativeAttentionMaxDistance) / Double(maxExact)))
        let large = maxExact + Int(log(Float(r) / Float(maxExact)) / scale * Float(buckets - maxExact))
        return result + min(large, buckets - 1)
    }
}
