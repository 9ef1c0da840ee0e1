import CKernels

/// The number format a model's Linear weights are kept and multiplied in.
///
/// `fp32` is exact (parity with transformers). `bf16` keeps weights as bfloat16 (half the memory
/// and bytes read per token); `int8` quantises each weight row symmetrically with an fp32 scale
/// (a quarter). Embedding tables, LayerNorms, attention scores, softmax and GELU stay fp32 in
/// every mode, as PyTorch's autocast keeps them.
public enum Precision: String, Sendable, CaseIterable, Codable {
    case fp32, bf16, int8
}

/// An owned, 64-byte aligned byte buffer (weights in a reduced format).
public final class ByteStorage: @unchecked Sendable {
    public let raw: UnsafeMutableRawPointer
    public let byteCount: Int

    public init(byteCount: Int) {
        self.byteCount = byteCount
        raw = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: 64)
    }

    deinit { raw.deallocate() }
}

/// A Linear weight [out, in] in the layout PyTorch stores it, in one of the `Precision`s.
public enum WeightMatrix: Sendable {
    /// fp32 values.
    case f32(Tensor)
    /// bfloat16 bit patterns, [rows, cols].
    case bf16(ByteStorage, rows: Int, cols: Int)
    /// IEEE half bit patterns, [rows, cols]: an F16 checkpoint as stored. Every half value is an
    /// fp32 value, so products with it are fp32 products on the checkpoint's exact numbers.
    case f16(ByteStorage, rows: Int, cols: Int)
    /// int8 values [rows, cols] with per-row scales and per-row sums of the int8 values.
    case int8(ByteStorage, scales: [Float], sums: [Int32], rows: Int, cols: Int)

    public var rows: Int {
        switch self {
        case let .f32(t): return t.shape[0]
        case let .bf16(_, rows, _), let .f16(_, rows, _), let .int8(_, _, _, rows, _): return rows
        }
    }

    public var cols: Int {
        switch self {
        case let .f32(t): return t.shape[1]
        case let .bf16(_, _, cols), let .f16(_, _, cols), let .int8(_, _, _, _, cols): return cols
        }
    }

    /// The precision its products have: F16-stored weights compute as fp32 (their values are
    /// exact in fp32; only the storage is half).
    public var precision: Precision {
        switch self {
        case .f32, .f16: return .fp32
        case .bf16: return .bf16
        case .int8: return .int8
        }
    }

    /// Bytes the weight values occupy (scales included).
    public var byteCount: Int {
        switch self {
        case let .f32(t): return t.count * 4
        case let .bf16(s, _, _), let .f16(s, _, _): return s.byteCount
        case let .int8(s, scales, sums, _, _): return s.byteCount + scales.count * 4 + sums.count * 4
        }
    }

    /// `weight` (contiguous fp32 [out, in]) converted to `precision`: bf16 rounds to nearest
    /// even (as `tensor.to(torch.bfloat16)`); int8 quantises each row symmetrically.
    public static func from(_ weight: Tensor, precision: Precision) -> WeightMatrix {
        let w = weight.contiguous()
        let rows = w.shape[0], cols = w.shape[1]
        switch precision {
        case .fp32:
            return .f32(w)
        case .bf16:
            let s = ByteStorage(byteCount: rows * cols * 2)
            bk_f32_to_bf16(w.pointer, s.raw.assumingMemoryBound(to: UInt16.self), rows * cols)
            // The fp32 source (a mapped checkpoint) is not needed any more: let its pages go.
            w.storage.adviseNotNeeded(start: w.offset, count: w.count)
            return .bf16(s, rows: rows, cols: cols)
        case .int8:
            let s = ByteStorage(byteCount: rows * cols)
            var scales = [Float](repeating: 0, count: rows), sums = [Int32](repeating: 0, count: rows)
            bk_quantize_rows_int8(w.pointer, rows, cols, s.raw.assumingMemoryBound(to: Int8.self), &scales, &sums)
            w.storage.adviseNotNeeded(start: w.offset, count: w.count)
            return .int8(s, scales: scales, sums: sums, rows: rows, cols: cols)
        }
    }

    /// Rows [r0, r1) widened to fp32 into `dst` ((r1 - r0) * cols floats).
    func widenRows(_ r0: Int, _ r1: Int, into dst: UnsafeMutablePointer<Float>) {
        switch self {
        case let .f32(t):
            dst.update(from: t.pointer + r0 * cols, count: (r1 - r0) * cols)
        case let .bf16(s, _, cols):
            bk_bf16_to_f32(s.raw.assumingMemoryBound(to: UInt16.self) + r0 * cols, dst, (r1 - r0) * cols)
        case let .f16(s, _, cols):
            bk_f16_to_f32(s.raw.assumingMemoryBound(to: UInt16.self) + r0 * cols, dst, (r1 - r0) * cols)
        case let .int8(s, scales, _, _, cols):
            scales.withUnsafeBufferPointer { sc in
                bk_int8_rows_dequantize(s.raw.assumingMemoryBound(to: Int8.self) + r0 * cols, sc.baseAddress! + r0,
                                        r1 - r0, cols, dst)
            }
        }
    }

    /// The weights as fp32 (exact for fp32, f16 and bf16; the dequantised values for int8).
    public func toFloat() -> Tensor {
        let out = Tensor(uninitializedShape: [rows, cols])
        widenRows(0, rows, into: out.mutablePointer)
        return out
    }

    /// The reduced-precision kernels this CPU runs (for benchmarks and `/info`).
    public static var kernelPath: String { String(cString: bk_lowp_path()) }

    /// Which many-rows kernels run (a test hook, so one machine covers every path).
    public enum KernelChoice: Int32, Sendable {
        /// The faster path for this CPU.
        case automatic = 0
        /// Widen to fp32 + BLAS.
        case portable = 1
        /// The native kernels wherever the CPU has the instructions: AMX tiles, else AVX-512
        /// BF16/VNNI.
        case native = 2
        /// The AVX-512 BF16/VNNI kernels even where AMX is there.
        case avx512 = 3
    }

    /// Sets the many-rows kernel choice for the whole process (tests only).
    public static func forceKernels(_ choice: KernelChoice) { bk_lowp_force_path(choice.rawValue) }

    /// Whether many-row bf16 products run the AVX512_BF16 kernel (activations rounded to bf16).
    public static var usesBF16Kernel: Bool { bk_has_bf16_gemm() != 0 }
    /// Whether many-row int8 products run the AVX512_VNNI kernel (activations quantised).
    public static var usesInt8Kernel: Bool { bk_has_int8_gemm() != 0 }
}
