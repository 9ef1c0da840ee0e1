import CKernels

// Element-wise and row-wise ops. Every op returns a new contiguous tensor unless its name says
// `InPlace`; in-place variants are only for tensors the caller has just created.

extension Tensor {
    /// Copy of `self` with exact-erf GELU applied.
    public func gelu() -> Tensor {
        let out = copied()
        out.geluInPlace()
        return out
    }

    /// Applies exact-erf GELU in place. Only call it on a tensor you own.
    public func geluInPlace() {
        precondition(isContiguous)
        let p = mutablePointer
        Parallel.forEachChunk(count, minChunk: 1 << 16) { r in bk_gelu_erf(p + r.lowerBound, r.count) }
    }

    /// Applies ReLU (max(x, 0)) in place. Only call it on a tensor you own.
    public func reluInPlace() {
        precondition(isContiguous)
        let p = mutablePointer
        for i in 0..<count where !(p[i] > 0) { p[i] = p[i].isNaN ? p[i] : 0 }
    }

    /// Softmax over the last dimension.
    public func softmax() -> Tensor {
        let out = copied()
        bk_softmax_rows(out.mutablePointer, out.count / max(shape.last ?? 1, 1), shape.last ?? 1)
        return out
    }

    /// log-softmax over the last dimension.
    public func logSoftmax() -> Tensor {
        let out = copied()
        let cols = shape.last ?? 1
        let rows = out.count / max(cols, 1)
        for r in 0..<rows {
            let p = out.mutablePointer + r * cols
            let lse = bk_logsumexp(p, cols)
            for j in 0..<cols { p[j] -= lse }
        }
        return out
    }

    /// A contiguous copy that owns new storage.
    public func copied() -> Tensor {
        let c = contiguous()
        let out = Tensor(uninitializedShape: shape)
        out.mutablePointer.update(from: c.pointer, count: count)
        return out
    }

    /// Element-wise sum; shapes must match.
    public static func + (a: Tensor, b: Tensor) -> Tensor {
        precondition(a.shape == b.shape, "shape mismatch \(a.shape) + \(b.shape)")
        let out = a.copied()
        let bc = b.contiguous()
        bk_add_inplace(out.mutablePointer, bc.pointer, out.count)
        return out
    }

    /// Adds `other` (same shape) into `self` in place. Only call it on a tensor you own.
    public func addInPlace(_ other: Tensor) {
        precondition(shape == other.shape && isContiguous, "shape mismatch \(shape) += \(other.shape)")
        let o = other.contiguous()
        bk_add_inplace(mutablePointer, o.pointer, count)
    }

    /// Every element multiplied by `s`.
    public static func * (a: Tensor, s: Float) -> Tensor {
        let out = a.copied()
        let p = out.mutablePointer
        for i in 0..<out.count { p[i] *= s }
        return out
    }

    /// Concatenation along dimension `dim`.
    public static func concat(_ parts: [Tensor], dim: Int) -> Tensor {
        precondition(!parts.isEmpty)
        let r = parts[0].rank
        let d = dim < 0 ? r + dim : dim
        var shape = parts[0].shape
        shape[d] = parts.reduce(0) { $0 + $1.shape[d] }
        let out = Tensor(uninitializedShape: shape)
        let outer = shape[..<d].reduce(1, *)
        let innerOut = shape[d...].reduce(1, *)
        var col = 0
        for p in parts {
            precondition(p.rank == r, "concat rank mismatch")
            let pc = p.contiguous()
            let inner = p.shape[d...].reduce(1, *)
            for o in 0..<outer {
                (out.mutablePointer + o * innerOut + col).update(from: pc.pointer + o * inner, count: inner)
            }
            col += inner
        }
        return out
    }

    /// Rows of dimension 0 gathered by `indices` (with repetition allowed).
    public func gatherRows(_ indices: [Int]) -> Tensor {
        let c = contiguous()
        let rowSize = count / max(shape[0], 1)
        var s = shape
        s[0] = indices.count
        let out = Tensor(uninitializedShape: s)
        for (i, idx) in indices.enumerated() {
            precondition(idx >= 0 && idx < shape[0], "row \(idx) out of \(shape[0])")
            (out.mutablePointer + i * rowSize).update(from: c.pointer + idx * rowSize, count: rowSize)
        }
        return out
    }

    /// Largest absolute element-wise difference (for tests and parity checks).
    public func maxAbsDifference(_ other: Tensor) -> Float {
        precondition(count == other.count, "count mismatch \(shape) vs \(other.shape)")
        let a = contiguous(), b = other.contiguous()
        var m: Float = 0
        for i in 0..<count {
            let d = abs(a.pointer[i] - b.pointer[i])
            if d > m || d.isNaN { m = d.isNaN ? .infinity : d }
        }
        return m
    }
}

/// Index of the largest value (first on ties).
public func argmax(_ values: UnsafePointer<Float>, count: Int) -> Int {
    Int(bk_argmax(values, count))
}

/// log(sum(exp(values))), computed stably.
public func logSumExp(_ values: UnsafePointer<Float>, count: Int) -> Float {
    bk_logsumexp(values, count)
}

/// Row-wise softmax of `rows` × `cols` values at `p`, after `p * scale + mask` (mask: one row of
/// additive values shared by all rows, or nil).
public func softmaxRowsInPlace(_ p: UnsafeMutablePointer<Float>, rows: Int, cols: Int, scale: Float = 1,
                               mask: UnsafePointer<Float>? = nil) {
    bk_scaled_masked_softmax_rows(p, rows, cols, scale, mask)
}
