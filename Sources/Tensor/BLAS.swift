#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif

/// Thin wrappers over CBLAS (OpenBLAS on Linux, Accelerate on Apple platforms), row-major.
public enum BLAS {
    /// C[m, n] = alpha * op(A) op(B) + beta * C, row-major with leading dimensions.
    @inlinable
    public static func sgemm(
        transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// y = alpha * op(A) x + beta * y, with A [m, n] row-major (leading dimension `lda`);
    /// op(A) is A ([m, n] x [n] -> [m]) or, with `transA`, A^T ([n, m] x [m] -> [n]).
    @inlinable
    public static func sgemv(
        transA: Bool = false, m: Int, n: Int, alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        x: UnsafePointer<Float>, beta: Float = 0, y: UnsafeMutablePointer<Float>
    ) {
        cblas_sgemv(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), alpha, a, Int32(lda),
                    x, 1, beta, y, 1)
    }

    /// This package runs BLAS single-threaded and splits work over the cores itself
    /// (`Parallel`, with each model's `ComputeSettings`): no BLAS worker threads spinning
    /// against ours, and no process-wide BLAS thread count for one model to change under another.
    /// Called before BLAS work; cheap after the first call.
    public static func ensureSingleThreaded() {
        _ = singleThreaded
    }

    private static let singleThreaded: Bool = {
        setThreads(1)
        return true
    }()

    /// Sets the number of threads the BLAS library uses (no-op where unsupported).
    static func setThreads(_ n: Int) {
        #if !canImport(Accelerate)
        openblas_set_num_threads(Int32(n))
        #endif
    }

    /// Threads the BLAS library currently uses (1 where unknown).
    public static var threads: Int {
        #if canImport(Accelerate)
        return 1
        #else
        return Int(openblas_get_num_threads())
        #endif
    }
}
