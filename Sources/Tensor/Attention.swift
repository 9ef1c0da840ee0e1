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
/// - `scores`: scratch space of at least `queriesPerKV * queryLength * keyLength` floats.
public func multiHeadAttention(
    q: HeadLayout, k: HeadLayout, v: HeadLayout, out: UnsafeMutablePointer<Float>,
    outRowStride: Int, outBatchStride: Int,
    batch: Int, queriesPerKV: Int = 1, queryLength: Int, keyLength: Int, heads: Int, headDim: Int,
    scale: Float, mask: UnsafePointer<Float>? = nil, causalPast: Int? = nil,
    scores: UnsafeMutablePointer<Float>
) {
    precondition(batch % queriesPerKV == 0, "batch \(batch) not a multiple of \(queriesPerKV)")
    let kvBatches = batch / queriesPerKV
    // With one query row per batch (decoding), the beams sharing a key/value batch are stacked
    // into one [queriesPerKV, headDim] matrix so each head's keys and values are read once.
    let stacked = queryLength == 1 && queriesPerKV > 1
    for g in 0..<kvBatches {
        for h in 0..<heads {
            let kh = k.base + g * k.batchStride + h * headDim
            let vh = v.base + g * v.batchStride + h * headDim
            let groups = stacked ? [g * queriesPerKV] : Array((g * queriesPerKV)..<((g + 1) * queriesPerKV))
            for b in groups {
                let rows = stacked ? queriesPerKV : queryLength
                let qRowStride = stacked ? q.batchStride : q.rowStride
                let oRowStride = stacked ? outBatchStride : outRowStride
                let qh = q.base + b * q.batchStride + h * headDim
                let oh = out + b * outBatchStride + h * headDim
                // [rows, D] x [Tk, D]^T -> [rows, Tk]
                BLAS.sgemm(transB: true, m: rows, n: keyLength, k: headDim, a: qh, lda: qRowStride,
                           b: kh, ldb: k.rowStride, c: scores, ldc: keyLength)
                let sharedMask = mask
                Parallel.forEachChunk(rows, minChunk: 32) { part in
                    for r in part {
                        let row = scores + r * keyLength
                        let qb = stacked ? b + r : b
                        let rowMask = sharedMask.map { $0 + qb * keyLength }
                        var visible = keyLength
                        if let causalPast, !stacked { visible = min(keyLength, causalPast + r + 1) }
                        softmaxRowsInPlace(row, rows: 1, cols: visible, scale: scale, mask: rowMask)
                        if visible < keyLength { (row + visible).initialize(repeating: 0, count: keyLength - visible) }
                    }
                }
                // [rows, Tk] x [Tk, D] -> [rows, D]
                BLAS.sgemm(m: rows, n: headDim, k: keyLength, a: scores, lda: keyLength,
                           b: vh, ldb: v.rowStride, c: oh, ldc: oRowStride)
            }
        }
    }
}
