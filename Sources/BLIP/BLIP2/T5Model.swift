import Foundation

/// T5's LayerNorm: x · rsqrt(mean(x²) + eps) · weight, no mean, no bias (`T5LayerNorm`).
struct T5RMSNorm: Sendable {
    let weight: Tensor
    let eps: Float

    func callAsFunction(_ x: Tensor) -> Tensor {
        let c = weight.count, rows = x.count / c
        let out = Tensor(uninitializedShape: x.shape)
        let src = x.contiguous()
        for r in 0..<rows {
            let p = src.pointer + r * c, o = out.mutablePointer + r * c
            var sum: Float = 0
            for j in 0..<c { sum += p[j] * p[j] }
            let inv = 1 / (sum / Float(c) + eps).squareRoot()
            for j in 0..<c { o[j] = p[j] * inv * weight.pointer[j] }
        }
        return out
    }
}

/// T5 attention (no scaling, no biases; the relative position bias is added by the caller).
struct T5Attention: Sendable {
    let q: Linear, k: Linear, v: Linear, o: Linear
    let heads: Int, headDim: Int

    init(_ w: WeightScope, config: T5Config) throws {
        let c = config.dModel, inner = config.innerDim
        q = try w.linear("q", in: c, out: inner, bias: false)
        k = try w.linear("k", in: c, out: inner, bias: false)
        v = try w.linear("v", in: c, out: inner, bias: false)
        o = try w.linear("o", in: inner, out: c, bias: false)
        heads = config.numHeads
        headDim = config.dKV
    }

    /// queries [B, T, H·d] against keys/values [B, S, H·d] (rows `kvRows` of each batch item
    /// used, S ≤ their count), `bias` [H, T, S] (or nil), `mask` additive [B][S] -> [B, T, H·d].
    /// `kvIndex[b]` is the keys/values (and mask) row query row b reads (default: b).
    static func attend(_ q: Tensor, keys: UnsafePointer<Float>, values: UnsafePointer<Float>, kvBatchStride: Int, length s: Int,
                       bias: [Float]?, mask: [[Float]]?, heads: Int, headDim: Int, kvIndex: [Int]? = nil) -> Tensor {
        let b = q.shape[0], t = q.shape[1], inner = heads * headDim
        let out = Tensor(uninitializedShape: [b, t, inner])
        var scores = [Float](repeating: 0, count: s)
        for bi in 0..<b {
            let kb = kvIndex?[bi] ?? bi
            for h in 0..<heads {
                for ti in 0..<t {
                    let qr = q.pointer + (bi * t + ti) * inner + h * headDim
                    var best = -Float.infinity
                    for j in 0..<s {
                        let kr = keys + kb * kvBatchStride + j * inner + h * headDim
                        var dot: Float = 0
                        for d in 0..<headDim { dot += qr[d] * kr[d] }
                        if let bias { dot += bias[(h * t + ti) * s + j] }
                        if let mask { dot += mask[kb][j] }
                        scores[j] = dot
                        best = max(best, dot)
                    }
                    var total: Float = 0
                    for j in 0..<s { scores[j] = exp(scores[j] - best); total += scores[j] }
                    let orow = out.mutablePointer + (bi * t + ti) * inner + h * headDim
                    for d in 0..<headDim { orow[d] = 0 }
                    for j in 0..<s {
                        let p = scores[j] / total, vr = values + kb * kvBatchStride + j * inner + h * headDim
                        for d in 0..<headDim { orow[d] += p * vr[d] }
                    }
                }
            }
        }
        return out
    }
}

/// Gated-GELU (Flan-T5: gelu_new(wi_0 x) · wi_1 x → wo) or ReLU feed-forward (`T5DenseGatedActDense`).
struct T5FeedForward: Sendable {
    let wi0: Linear, wi1: Linear?, wo: Linear

    init(_ w: WeightScope, config: T5Config) throws {
        let c = config.dModel
        if config.isGated {
            wi0 = try w.linear("wi_0", in: c, out: config.dFF, bias: false)
            wi1 = try w.linear("wi_1", in: c, out: config.dFF, bias: false)
        } else {
            wi0 = try w.linear("wi", in: c, out: config.dFF, bias: false)
            wi1 = nil
        }
        wo = try w.linear("wo", in: config.dFF, out: c, bias: false)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let h = wi0(x)
        let p = h.mutablePointer
        if let wi1 {
            let g = wi1(x)
            for i in 0..<h.count {  // gelu_new: tanh approximation
                let v = p[i]
                p[i] = 0.5 * v * (1 + tanh(0.7978845608028654 * (v + 0.044715 * v * v * v))) * g.pointer[i]
            }
        } else {
            h.reluInPlace()
        }
        return wo(h)
    }
}
