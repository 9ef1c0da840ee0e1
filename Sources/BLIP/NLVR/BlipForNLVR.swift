import Foundation

/// The two-branch cross-attention of the NLVR2 text encoder: the text attends to each image with
/// its own projections (`self0`, `self1`); the branches' outputs (`dense0`, `dense1`) are averaged
/// in layers 0–5 and concatenated into `merge_layer` from layer 6 on, then LayerNorm with the
/// residual. Port of LAVIS `nlvr_encoder.BertAttention(is_cross_attention=True)` +
/// `BertSelfOutput(twin=True)`.
struct NLVRCrossAttention: Sendable {
    let query: [Linear], key: [Linear], value: [Linear], dense: [Linear]
    let merge: Linear?
    let norm: LayerNorm
    let heads: Int

    init(_ w: WeightScope, config: BlipTextConfig, merge hasMerge: Bool) throws {
        let c = config.hiddenSize, e = config.encoderHiddenSize
        query = try (0..<2).map { try w.linear("self\($0).query", in: c, out: c) }
        key = try (0..<2).map { try w.linear("self\($0).key", in: e, out: c) }
        value = try (0..<2).map { try w.linear("self\($0).value", in: e, out: c) }
        dense = try (0..<2).map { try w.linear("output.dense\($0)", in: c, out: c) }
        merge = hasMerge ? try w.linear("output.merge_layer", in: 2 * c, out: c) : nil
        norm = try w.layerNorm("output.LayerNorm", size: c, eps: config.layerNormEps)
        heads = config.numAttentionHeads
    }

    /// x [B, T, C] attending to images[0] and images[1] (each [B, N, E], every position visible).
    func callAsFunction(_ x: Tensor, images: [Tensor], scores: UnsafeMutablePointer<Float>) -> Tensor {
        let b = x.shape[0], t = x.shape[1], c = x.shape[2], d = c / heads
        let branches = (0..<2).map { i -> Tensor in
            let q = query[i](x), k = key[i](images[i]), v = value[i](images[i])  // [B, T, C], [B, N, C]
            let n = images[i].shape[1]
            let context = Tensor(uninitializedShape: [b, t, c])
            multiHeadAttention(
                q: HeadLayout(base: q.pointer, rowStride: c, batchStride: t * c),
                k: HeadLayout(base: k.pointer, rowStride: c, batchStride: n * c),
                v: HeadLayout(base: v.pointer, rowStride: c, batchStride: n * c),
                out: context.mutablePointer, outRowStride: c, outBatchStride: t * c,
                batch: b, queryLength: t, keyLength: n, heads: heads, headDim: d,
                scale: 1 / Float(d).squareRoot(), scores: scores)
            return dense[i](context)  // [B, T, C]
        }
        let h: Tensor
        if let merge {
            h = merge(Tensor.concat(branches, dim: 2))  // [B, T, 2C] -> [B, T, C]
        } else {
            h = branches[0]
            for i in 0..<(b * t * c) { h.mutablePointer[i] = (h.pointer[i] + branches[1].pointer[i]) / 2 }
        }
        h.addInPlace(x)
        return norm(h)
    }
}

/// BLIP's NLVR2 model: does a sentence describe a pair of images? Both images go through the
/// ViT in one batch; the text encoder (`[ENC]` first) cross-attends to each image with its own
/// branch; `cls_head` (Linear, ReLU, Linear) on the first output gives [false, true] logits.
/// Port of LAVIS `BlipNLVR` (and official BLIP's `blip_nlvr.py`); weights under the official
/// checkpoint's names (`visual_encoder` read as transformers' `vision_model`, `text_encoder`,
/// `cls_head`), e.g. from `OfficialBlipCheckpoint(url:task: .nlvr)`.
public struct BlipForNLVR: Sendable {
    public let config: BlipConfig
    public let visionModel: BlipVisionModel
    let embeddings: BlipTextEmbeddings
    let selfAttention: [BlipTextAttentionBlock]
    let crossAttention: [NLVRCrossAttention]
    let feedForward: [BertFeedForward]
    let head: (Linear, Linear)
    public let compute: ComputeSettings

    /// Layers from this one on merge the two branches (`merge_layer`); earlier ones average them.
    public static let firstMergeLayer = 6

    public init(config: BlipConfig, weights: WeightStore, precision: Precision = .fp32,
                compute: ComputeSettings = .automatic) throws {
        let loader = WeightLoader(store: weights, precision: precision)
        let w = loader.scope("")
        let t = config.textConfig, c = t.hiddenSize
        self.config = config
        self.compute = compute
        visionModel = try BlipVisionModel(w.scope("vision_model"), config: config.visionConfig)
        let text = w.scope("text_encoder")
        try text.requireLayers("encoder.layer", count: t.numHiddenLayers, configField: "text_config.num_hidden_layers")
        embeddings = try BlipTextEmbeddings(text.scope("embeddings"), config: t)
        let layers = (0..<t.numHiddenLayers).map { text.scope("encoder.layer").scope($0) }
        selfAttention = try layers.map { try BlipTextAttentionBlock($0.scope("attention"), config: t, keyValueSize: c) }
        crossAttention = try layers.enumerated().map {
            try NLVRCrossAttention($1.scope("crossattention"), config: t, merge: $0 >= Self.firstMergeLayer)
        }
        feedForward = try layers.map { try BertFeedForward($0, hiddenSize: c, intermediateSize: t.intermediateSize, eps: t.layerNormEps) }
        head = (try w.linear("cls_head.0", in: c, out: c), try w.linear("cls_head.2", in: c, out: 2))
        try loader.finish()
    }

    /// [false, true] logits of each (left, right, text) triple: `left`, `right` [B, 3, H, W],
    /// `ids` [B][T] with `[ENC]` first, `attentionMask` [B][T] (1 real, 0 padding).
    public func logits(left: Tensor, right: Tensor, ids: [[Int]], attentionMask: [[Int]]) throws -> [[Float]] {
        try visionModel.checkInput(left)
        try visionModel.checkInput(right)
        let b = left.shape[0], t = ids.first?.count ?? 0, c = config.textConfig.hiddenSize
        guard right.shape[0] == b, ids.count == b, attentionMask.count == b, t > 0, t <= config.textConfig.maxPositionEmbeddings,
              zip(ids, attentionMask).allSatisfy({ $0.count == t && $1.count == t }),
              ids.allSatisfy({ $0.allSatisfy { (0..<config.textConfig.vocabSize).contains($0) } }) else {
            throw BlipModelError.invalidInput("one text per image pair: equal-length ids inside the vocabulary, "
                + "at most \(config.textConfig.maxPositionEmbeddings) long, with a mask of the same length")
        }
        return compute.run {
            let images = visionModel(Tensor.concat([left, right], dim: 0))  // [2B, N, E]: lefts, then rights
            let branches = [images.slice(0, 0..<b).contiguous(), images.slice(0, b..<(2 * b)).contiguous()]
            var x = embeddings(ids, past: 0)  // [B, T, C]
            var mask = [Float](repeating: 0, count: b * t)  // additive, over the text's keys
            for r in 0..<b { for j in 0..<t where attentionMask[r][j] == 0 { mask[r * t + j] = -Float.greatestFiniteMagnitude } }
            let n = branches[0].shape[1], d = c / config.textConfig.numAttentionHeads
            let scores = TensorStorage(uninitializedCount: b * config.textConfig.numAttentionHeads * t * max(t, n))
            for layer in 0..<selfAttention.count {
                let a = selfAttention[layer]
                let q = a.query(x), k = a.key(x), v = a.value(x)  // [B, T, C]
                let context = Tensor(uninitializedShape: [b, t, c])
                mask.withUnsafeBufferPointer { m in
                    multiHeadAttention(
                        q: HeadLayout(base: q.pointer, rowStride: c, batchStride: t * c),
                        k: HeadLayout(base: k.pointer, rowStride: c, batchStride: t * c),
                        v: HeadLayout(base: v.pointer, rowStride: c, batchStride: t * c),
                        out: context.mutablePointer, outRowStride: c, outBatchStride: t * c,
                        batch: b, queryLength: t, keyLength: t, heads: config.textConfig.numAttentionHeads, headDim: d,
                        scale: 1 / Float(d).squareRoot(), mask: m.baseAddress, scores: scores.pointer)
                }
                x = a.output(context, residual: x)
                x = crossAttention[layer](x, images: branches, scores: scores.pointer)
                x = feedForward[layer](x)
            }
            let first = Tensor(uninitializedShape: [b, c])
            for r in 0..<b { (first.mutablePointer + r * c).update(from: x.pointer + r * t * c, count: c) }
            let hidden = head.0(first)  // [B, C]
            for i in 0..<(b * c) { hidden.mutablePointer[i] = max(hidden.pointer[i], 0) }
            let out = head.1(hidden)  // [B, 2]
            return (0..<b).map { [out.pointer[2 * $0], out.pointer[2 * $0 + 1]] }
        }
    }
}
