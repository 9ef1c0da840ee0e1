import CKernels

/// A fully connected layer with PyTorch's weight layout: `weight` [out, in], `bias` [out], the
/// weight kept in the `Precision` it was loaded in (`WeightMatrix`).
public struct Linear: Sendable {
    public let matrix: WeightMatrix
    public let bias: Tensor?

    public init(weight: Tensor, bias: Tensor?) {
        precondition(weight.rank == 2 && weight.isContiguous, "Linear weight must be contiguous [out, in]")
        self.init(matrix: .f32(weight), bias: bias)
    }

    public init(matrix: WeightMatrix, bias: Tensor?) {
        if let bias { precondition(bias.count == matrix.rows, "Linear bias \(bias.shape) for weight [\(matrix.rows), \(matrix.cols)]") }
        self.matrix = matrix
        self.bias = bias?.contiguous()
    }

    /// This layer with its weight in `precision` (the bias stays fp32). F16-stored weights stay
    /// as they are for fp32 and bf16 (exact, and as small as bf16); int8 quantises them.
    public func converted(to precision: Precision) -> Linear {
        switch matrix {
        case let .f32(w) where precision != .fp32:
            return Linear(matrix: .from(w, precision: precision), bias: bias)
        case .f16 where precision == .int8:
            return Linear(matrix: .from(matrix.toFloat(), precision: .int8), bias: bias)
        default:
            return self
        }
    }

    public var inFeatures: Int { matrix.cols }
    public var outFeatures: Int { matrix.rows }

    /// x [..., in] -> [..., out]
    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.shape.last == inFeatures, "Linear expects [..., \(inFeatures)], got \(x.shape)")
        let xc = x.contiguous()
        let rows = x.count / inFeatures
        var outShape = x.shape
        outShape[outShape.count - 1] = outFeatures
        let out = Tensor(uninitializedShape: outShape)
        apply(xc.pointer, rows: rows, into: out.mutablePointer)
        return out
    }

    /// Rows up to which the streaming kernel beats a BLAS GEMM (decoding, beams).
    public static let fewRowsLimit = 8

    /// y[rows, out] = x[rows, in] W^T + b, writing into `y`.
    public func apply(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        switch matrix {
        case let .f32(weight): applyF32(weight.pointer, x, rows: rows, into: y)
        default: applyReduced(x, rows: rows, into: y)
        }
    }

    private func applyF32(_ w: UnsafePointer<Float>, _ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        let n = outFeatures, k = inFeatures
        let biasPointer = bias?.pointer
        if rows <= Linear.fewRowsLimit {
            // [rows, K] x [N, K]^T with rows small (one for a decode step): memory-bound, so read
            // each weight row once for all rows, output features split over the pool.
            Parallel.forEachChunk(n, minChunk: 128) { part in
                bk_linear_few_rows(x, rows, k, w, biasPointer, y, n, part.lowerBound, part.upperBound)
            }
            return
        }
        if let biasPointer { fillRows(y, with: biasPointer, rows: rows, cols: n) }
        // [rows, K] x [N, K]^T -> [rows, N], output features split over the cores; each part
        // is a single-threaded BLAS call (see `BLAS.ensureSingleThreaded`).
        BLAS.ensureSingleThreaded()
        let beta: Float = biasPointer == nil ? 0 : 1
        Parallel.forEachChunk(n, minChunk: 128) { part in
            BLAS.sgemm(transB: true, m: rows, n: part.count, k: k, a: x, lda: k, b: w + part.lowerBound * k, ldb: k,
                       beta: beta, c: y + part.lowerBound, ldc: n)
        }
    }
}

/// Fills `rows` rows of `cols` with `row` (bias broadcast before a beta=1 GEMM).
@inline(__always)
func fillRows(_ y: UnsafeMutablePointer<Float>, with row: UnsafePointer<Float>, rows: Int, cols: Int) {
    for r in 0..<rows { (y + r * cols).update(from: row, count: cols) }
}

/// Layer normalisation over the last dimension.
public struct LayerNorm: Sendable {
    public let weight: Tensor
    public let bias: Tensor
    public let eps: Float

    public init(weight: Tensor, bias: Tensor, eps: Float) {
        precondition(weight.count == bias.count, "LayerNorm weight/bias mismatch")
        self.weight = weight.contiguous()
        self.bias = bias.contiguous()
        self.eps = eps
    }

    /// x [..., C] -> [..., C]
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let c = weight.count
        precondition(x.shape.last == c, "LayerNorm expects [..., \(c)], got \(x.shape)")
        let xc = x.contiguous()
        let out = Tensor(uninitializedShape: x.shape)
        let src = xc.pointer, dst = out.mutablePointer, w = weight.pointer, b = bias.pointer, eps = eps
        Parallel.forEachChunk(x.count / c, minChunk: 64) { rows in
            bk_layer_norm_rows(src + rows.lowerBound * c, dst + rows.lowerBound * c, rows.count, c, w, b, eps)
        }
        return out
    }
}

/// A lookup table of row vectors (`weight` [num, dim]).
public struct Embedding: Sendable {
    public let weight: Tensor

    public init(weight: Tensor) {
        precondition(weight.rank == 2, "Embedding weight must be [num, dim]")
        self.weight = weight.contiguous()
    }

    public var dimension: Int { weight.shape[1] }

    /// ids [B, T] -> [B, T, dim]
    public func callAsFunction(_ ids: [[Int]]) -> Tensor {
        let b = ids.count, t = ids.first?.count ?? 0
        let d = dimension
        let out = Tensor(uninitializedShape: [b, t, d])
        for (i, row) in ids.enumerated() {
            precondition(row.count == t, "ragged ids")
            for (j, id) in row.enumerated() {
                precondition(id >= 0 && id < weight.shape[0], "token id \(id) out of range 0..<\(weight.shape[0])")
                (out.mutablePointer + (i * t + j) * d).update(from: weight.pointer + id * d, count: d)
            }
        }
        return out
    }
}
