import CKernels

/// Where one of Q, K, V (or the output) lives: heads are interleaved along the row, so head `h`
/// of row `t` of batch `b` starts at `base + b * batchStride + t * rowStride + h * headDim`.
/// This addresses the output of a fused or separate projection directly, without permutes.
public struct HeadLayout {
    public var base: UnsafePointer<Float>
    public var rowStride: Int
    public var batchStride: Int

    public init(base: UnsafePointer<Float>, rowStride: Int, batchStride: Int) {
        self.base = base
        self.rowStride = rowStride
        self.batchStride = batchStride
    }
}

/// Multi-head scaled dot-product attention: softmax(Q K^T * scale + mask) V for every batch and head.
///
/// - Query batches are grouped onto key/value batches: query batch `b` attends to key/value batch
///   `b / queriesPerKV` (beams of one image share its cross-attention keys and values, no copies).
/// - `mask`: optional additive mask, `keyLength` values per query batch (`[batch, keyLength]`).
/// - `causalPast`: when set, query row `t` may only see keys `0...causalPast + t` (decoder
///   self-attention, where `causalPast` keys are already cached).
/// - `scores`: scratch space of at least `queryLength * keyLength` floats.
public func multiHeadAttention(
    q: HeadLayout, k: HeadLayout, v: HeadLayout, out: UnsafeMutablePointer<Float>,
    outRowStride: Int, outBatchStride: Int,
    batch: Int, queriesPerKV: Int = 1, queryLength: Int, keyLength: Int, heads: Int, headDim: Int,
    scale: Float, mask: UnsafePointer<Float>? = nil, causalPast: Int? = nil,
    scores: UnsafeMutablePointer<Float>
) {
    precondition(batch % queriesPerKV == 0, "batch \(batch) not a multiple of \(queriesPerKV)")
    precondition(k.rowStride == v.rowStride, "keys and values must share a row stride")
    if queryLength == 1 {
        // Decoding: one query row per batch. Dot products in a SIMD kernel instead of many
        // tiny BLAS calls, heads spread over the cores; keys/values are read once per row.
        let scratchStride = keyLength
        let items = batch * heads
        Parallel.forEachChunk(items, minChunk: 2) { part in
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(scratchStride, 1))
            defer { scratch.deallocate() }
            for item in part {
                let b = item / heads, h = item % heads, g = b / queriesPerKV
                bk_attention_row(
                    q.base + b * q.batchStride + h * headDim,
                    k.base + g * k.batchStride + h * headDim,
                    v.base + g * v.batchStride + h * headDim,
                    k.rowStride, keyLength, headDim, scale, mask.map { $0 + b * keyLength }, scratch,
                    out + b * outBatchStride + h * headDim)
            }
        }
        return
    }
    // Prefill / encoder: per batch and head, two single-threaded GEMMs around the softmax;
    // (batch, head) pairs spread over the cores, each part with its own scores.
    BLAS.ensureSingleThreaded()
    _ = scores
    Parallel.forEachChunk(batch * heads, minChunk: 1) { part in
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(queryLength * keyLength, 1))
        defer { scratch.deallocate() }
        for item in part {
            let b = item / heads, h = item % heads, g = b / queriesPerKV
            let qh = q.base + b * q.batchStride + h * headDim
            let kh = k.base + g * k.batchStride + h * headDim
            let vh = v.base + g * v.batchStride + h * headDim
            let oh = out + b * outBatchStride + h * headDim
            // [Tq, D] x [Tk, D]^T -> [Tq, Tk]
            BLAS.sgemm(transB: true, m: queryLength, n: keyLength, k: headDim, a: qh, lda: q.rowStride,
                       b: kh, ldb: k.rowStride, c: scratch, ldc: keyLength)
            let rowMask = mask.map { $0 + b * keyLength }
            for r in 0..<queryLength {
                let row = scratch + r * keyLength
                var visible = keyLength
                if let causalPast { visible = min(keyLength, causalPast + r + 1) }
                softmaxRowsInPlace(row, rows: 1, cols: visible, scale: scale, mask: rowMask)
                if visible < keyLength { (row + visible).initialize(repeating: 0, count: keyLength - visible) }
            }
            // [Tq, Tk] x [Tk, D] -> [Tq, D]
            BLAS.sgemm(m: queryLength, n: headDim, k: keyLength, a: scratch, lda: keyLength,
                       b: vh, ldb: v.rowStride, c: oh, ldc: outRowStride)
        }
    }
}
