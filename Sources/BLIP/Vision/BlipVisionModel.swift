import Foundation

/// Patch and position embeddings of the ViT. Port of transformers `BlipVisionEmbeddings`
/// (the 2-D convolution with stride = kernel is computed as patchify + one GEMM).
public struct BlipVisionEmbeddings: Sendable {
    public let config: BlipVisionConfig
    /// `patch_embedding.weight` [C, 3, P, P] viewed as a Linear [C, 3·P·P].
    let patchProjection: Linear
    let classEmbedding: Tensor  // [C]
    let positionEmbedding: Tensor  // [numPositions, C]

    init(_ w: WeightScope, config: BlipVisionConfig) throws {
        self.config = config
        let c = config.hiddenSize, p = config.patchSize
        let weight = try w.tensor("patch_embedding.weight", shape: [c, 3, p, p])
        patchProjection = Linear(weight: weight.reshaped([c, 3 * p * p]),
                                 bias: try w.tensor("patch_embedding.bias", shape: [c]))
        classEmbedding = try w.tensor("class_embedding", shape: [1, 1, c]).reshaped([c])
        positionEmbedding = try w.tensor("position_embedding", shape: [1, config.numPositions, c])
            .reshaped([config.numPositions, c])
    }

    /// pixels [B, 3, H, W] -> [B, 1 + (H/P)(W/P), C]
    func callAsFunction(_ pixels: Tensor) -> Tensor {
        let b = pixels.shape[0], h = pixels.shape[2], w = pixels.shape[3]
        let p = config.patchSize, c = config.hiddenSize
        let gh = h / p, gw = w / p, n = gh * gw
        precondition(pixels.shape[1] == 3 && gh * p == h && gw * p == w, "pixels \(pixels.shape) not divisible into \(p)-patches")
        precondition(n + 1 <= config.numPositions, "image \(h)x\(w) has more patches than position embeddings")
        // Patchify: [B, 3, H, W] -> [B, n, 3·P·P] in (channel, row, column) order within a patch.
        let src = pixels.contiguous()
        let patches = Tensor(uninitializedShape: [b, n, 3 * p * p])
        let s = src.pointer, d = patches.mutablePointer
        for bi in 0..<b {
            for gy in 0..<gh {
                for gx in 0..<gw {
                    var o = ((bi * n) + gy * gw + gx) * 3 * p * p
                    for ch in 0..<3 {
                        for ky in 0..<p {
                            let row = s + ((bi * 3 + ch) * h + gy * p + ky) * w + gx * p
                            (d + o).update(from: row, count: p)
                            o += p
                        }
                    }
                }
            }
        }
        // [B, n, 3PP] x [C, 3PP]^T -> [B, n, C]
        let embedded = patchProjection(patches)
        let out = Tensor(uninitializedShape: [b, n + 1, c])
        let e = embedded.pointer, o = out.mutablePointer, pos = positionEmbedding.pointer
        for bi in 0..<b {
            let dst = o + bi * (n + 1) * c
            for j in 0..<c { dst[j] = classEmbedding.pointer[j] + pos[j] }
            for t in 0..<n {
                let row = dst + (t + 1) * c, from = e + (bi * n + t) * c, pr = pos + (t + 1) * c
                for j in 0..<c { row[j] = from[j] + pr[j] }
            }
        }
        return out
    }
}

/// Multi-head self-attention with a fused qkv projection. Port of transformers `BlipAttention`.
public struct BlipVisionAttention: Sendable {
    let qkv: Linear  // [3C, C]: columns of the output are (q | k | v), each heads × headDim
    let projection: Linear
    let heads: Int

    init(_ w: WeightScope, config: BlipVisionConfig) throws {
        let c = config.hiddenSize
        qkv = try Self.fusedQKV(w, width: c)
        projection = try w.linear("projection", in: c, out: c)
        heads = config.numAttentionHeads
    }

    /// The fused qkv projection. BLIP and transformers-5 BLIP-2 checkpoints store `qkv.bias`;
    /// older BLIP-2 (EVA) checkpoints store `q_bias` and `v_bias`, and the bias is
    /// cat(q_bias, 0, v_bias) (port of transformers `Blip2Attention`); no bias at all when
    /// `qkv_bias` is false.
    static func fusedQKV(_ w: WeightScope, width c: Int) throws -> Linear {
        if w.has("qkv.bias") || !w.has("q_bias") {
            return try w.linear("qkv", in: c, out: 3 * c, bias: w.has("qkv.bias"))
        }
        let q = try w.tensor("q_bias", shape: [c]), v = try w.tensor("v_bias", shape: [c])
        let bias = Tensor(Array(q.scalars) + [Float](repeating: 0, count: c) + Array(v.scalars), shape: [3 * c])
        let weights = try w.linear("qkv", in: c, out: 3 * c, bias: false)
        return Linear(matrix: weights.matrix, bias: bias)
    }

    /// x [B, N, C] -> [B, N, C]
    func callAsFunction(_ x: Tensor) -> Tensor {
        let b = x.shape[0], n = x.shape[1], c = x.shape[2]
        let headDim = c / heads
        let fused = qkv(x)  // [B, N, C] x [3C, C]^T -> [B, N, 3C]
        let context = Tensor(uninitializedShape: [b, n, c])
        let scores = TensorStorage(uninitializedCount: n * n)
        let base = fused.pointer
        multiHeadAttention(
            q: HeadLayout(base: base, rowStride: 3 * c, batchStride: n * 3 * c),
            k: HeadLayout(base: base + c, rowStride: 3 * c, batchStride: n * 3 * c),
            v: HeadLayout(base: base + 2 * c, rowStride: 3 * c, batchStride: n * 3 * c),
            out: context.mutablePointer, outRowStride: c, outBatchStride: n * c,
            batch: b, queryLength: n, keyLength: n, heads: heads, headDim: headDim,
            scale: 1 / Float(headDim).squareRoot(), scores: scores.pointer)
        return projection(context)
    }
}

/// Pre-LayerNorm transformer block. Port of transformers `BlipEncoderLayer` (with `BlipMLP`).
public struct BlipVisionEncoderLayer: Sendable {
    let layerNorm1: LayerNorm
    let attention: BlipVisionAttention
    let layerNorm2: LayerNorm
    let fc1: Linear
    let fc2: Linear

    init(_ w: WeightScope, config: BlipVisionConfig) throws {
        let c = config.hiddenSize, eps = config.layerNormEps
        layerNorm1 = try w.layerNorm("layer_norm1", size: c, eps: eps)
        attention = try BlipVisionAttention(w.scope("self_attn"), config: config)
        layerNorm2 = try w.layerNorm("layer_norm2", size: c, eps: eps)
        fc1 = try w.linear("mlp.fc1", in: c, out: config.intermediateSize)
        fc2 = try w.linear("mlp.fc2", in: config.intermediateSize, out: c)
    }

    /// x [B, N, C] -> [B, N, C]
    func callAsFunction(_ x: Tensor) -> Tensor {
        let h = attention(layerNorm1(x))
        h.addInPlace(x)
        let m = fc1(layerNorm2(h))  // [B, N, C] -> [B, N, I]
        m.geluInPlace()
        let out = fc2(m)  // [B, N, I] -> [B, N, C]
        out.addInPlace(h)
        return out
    }
}

/// The BLIP vision transformer. Port of transformers `BlipVisionModel`; `callAsFunction`
/// returns `last_hidden_state` (after `post_layernorm`), the image embeddings the text side
/// cross-attends to.
public struct BlipVisionModel: Sendable {
    public let config: BlipVisionConfig
    let embeddings: BlipVisionEmbeddings
    let layers: [BlipVisionEncoderLayer]
    let postLayerNorm: LayerNorm

    /// Loads from the weights under `w` (usually `vision_model`).
    public init(_ w: WeightScope, config: BlipVisionConfig) throws {
        if let problem = config.problem() { throw BlipModelError.unsupportedModel(problem) }
        guard config.hiddenAct == "gelu" else {
            throw BlipModelError.unsupportedModel("vision hidden_act \(config.hiddenAct) is not supported (only gelu)")
        }
        self.config = config
        try w.requireLayers("encoder.layers", count: config.numHiddenLayers, configField: "vision_config.num_hidden_layers")
        embeddings = try BlipVisionEmbeddings(w.scope("embeddings"), config: config)
        layers = try (0..<config.numHiddenLayers).map {
            try BlipVisionEncoderLayer(w.scope("encoder.layers").scope($0), config: config)
        }
        postLayerNorm = try w.layerNorm("post_layernorm", size: config.hiddenSize, eps: config.layerNormEps)
    }

    /// Throws `invalidInput` unless `pixels` is [B, 3, H, W] with H and W multiples of the patch
    /// size and no more patches than position embeddings (`callAsFunction` traps otherwise).
    public func checkInput(_ pixels: Tensor) throws {
        let p = config.patchSize
        guard pixels.rank == 4, pixels.shape[0] >= 1, pixels.shape[1] == 3, pixels.shape[2] % p == 0, pixels.shape[3] % p == 0,
              (pixels.shape[2] / p) * (pixels.shape[3] / p) + 1 <= config.numPositions else {
            throw BlipModelError.invalidInput(
                "pixel values have shape \(pixels.shape); the vision model needs [B, 3, \(config.imageSize), \(config.imageSize)]")
        }
    }

    /// pixels [B, 3, H, W] -> last_hidden_state [B, 1 + patches, C]
    public func callAsFunction(_ pixels: Tensor) -> Tensor {
        var x = embeddings(pixels)
        for layer in layers { x = layer(x) }
        return postLayerNorm(x)
    }
}
