import CKernels

extension Linear {
    /// y = x W^T + b for bf16 / f16 / int8 weights. Few rows (decoding): weight-only kernels that read
    /// each weight row once for all rows. Many rows: AVX-512 dot-product kernels over packed
    /// activations where the CPU has them (`bk_has_bf16_gemm` / `bk_has_int8_gemm`), else the
    /// weight rows are widened to fp32 a block at a time and multiplied with BLAS.
    func applyReduced(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        let n = outFeatures, k = inFeatures
        let biasPointer = bias?.pointer
        if rows <= Linear.fewRowsLimit {
            // [rows, K] x [N, K]^T: memory-bound; output features split over the cores.
            switch matrix {
            case let .bf16(s, _, _):
                let w = s.raw.assumingMemoryBound(to: UInt16.self)
                Parallel.forEachChunk(n, minChunk: 128) { part in
                    bk_linear_few_rows_bf16(x, rows, k, w, biasPointer, y, n, part.lowerBound, part.upperBound)
                }
            case let .f16(s, _, _):
                let w = s.raw.assumingMemoryBound(to: UInt16.self)
                Parallel.forEachChunk(n, minChunk: 128) { part in
                    bk_linear_few_rows_f16(x, rows, k, w, biasPointer, y, n, part.lowerBound, part.upperBound)
                }
            case let .int8(s, scales, sums, _, _):
                let w = s.raw.assumingMemoryBound(to: Int8.self)
                if bk_has_few_rows_int8_vnni(k) != 0 {
                    // AVX512_VNNI with the rows quantised once (as the many-rows kernel does).
                    var xq = [UInt8](repeating: 0, count: rows * k), xs = [Float](repeating: 0, count: rows)
                    bk_quantize_rows_u8(x, rows, k, &xq, &xs)
                    xq.withUnsafeBufferPointer { q in xs.withUnsafeBufferPointer { qs in
                        scales.withUnsafeBufferPointer { sc in sums.withUnsafeBufferPointer { su in
                            Parallel.forEachChunk(n, minChunk: 128) { part in
                                bk_linear_few_rows_int8_vnni(q.baseAddress!, qs.baseAddress!, rows, k, w, sc.baseAddress!,
                                                             su.baseAddress!, biasPointer, y, n, part.lowerBound, part.upperBound)
                            }
                        } }
                    } }
                } else {
                    // Weight-only: int8 widened to fp32 against fp32 activations.
                    scales.withUnsafeBufferPointer { sc in
                        Parallel.forEachChunk(n, minChunk: 128) { part in
                            bk_linear_few_rows_int8(x, rows, k, w, sc.baseAddress!, biasPointer, y, n,
                                                    part.lowerBound, part.upperBound)
                        }
                    }
                }
            case .f32: fatalError("unreachable: fp32 weights take applyF32")
            }
            return
        }
        switch matrix {
        case let .bf16(s, _, _) where k % 2 == 0 && bk_has_bf16_gemm() != 0:
            // packed activations [packedRows, K] bf16
            let packed = ByteStorage(byteCount: bk_packed_rows(rows) * k * 2)
            let a = UnsafePointer(packed.raw.assumingMemoryBound(to: UInt16.self))
            bk_pack_a_bf16(x, rows, k, packed.raw.assumingMemoryBound(to: UInt16.self))
            let w = s.raw.assumingMemoryBound(to: UInt16.self)
            // Whole 16-feature tiles per part (AMX's tile width; outputs independent of threads).
            Parallel.forEachChunk((n + 15) / 16, minChunk: 4) { tiles in
                bk_gemm_bf16(a, rows, k, w, biasPointer, y, n, tiles.lowerBound * 16, min(tiles.upperBound * 16, n))
            }
        case let .int8(s, scales, sums, _, _) where k % 4 == 0 && bk_has_int8_gemm() != 0:
            // packed u8 activations [packedRows, K] and one scale per row
            let packedRows = bk_packed_rows(rows)
            let packed = ByteStorage(byteCount: packedRows * k)
            var rowScales = [Float](repeating: 0, count: packedRows)
            bk_pack_a_int8(x, rows, k, packed.raw.assumingMemoryBound(to: UInt8.self), &rowScales)
            let a = UnsafePointer(packed.raw.assumingMemoryBound(to: UInt8.self))
            let w = s.raw.assumingMemoryBound(to: Int8.self)
            rowScales.withUnsafeBufferPointer { rs in
                scales.withUnsafeBufferPointer { sc in
                    sums.withUnsafeBufferPointer { su in
                        Parallel.forEachChunk((n + 15) / 16, minChunk: 4) { tiles in
                            bk_gemm_int8(a, rs.baseAddress!, rows, k, w, sc.baseAddress!, su.baseAddress!, biasPointer,
                                         y, n, tiles.lowerBound * 16, min(tiles.upperBound * 16, n))
                        }
                    }
                }
            }
        default:
            widenedGEMM(x, rows: rows, into: y)
        }
    }

    /// Many rows without the AVX-512 kernels: each part widens blocks of weight rows to fp32 and
    /// runs a single-threaded BLAS GEMM on them.
    private func widenedGEMM(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        let n = outFeatures, k = inFeatures
        if let b = bias?.pointer { fillRows(y, with: b, rows: rows, cols: n) }
        let beta: Float = bias == nil ? 0 : 1
        BLAS.ensureSingleThreaded()
        // Whole blocks of 64 weight rows per part, so every block (and so every output) is the
        // same BLAS call whatever the thread count.
        let block = 64
        Parallel.forEachChunk((n + block - 1) / block, minChunk: 2) { blocks in
            let scratch = Tensor(uninitializedShape: [block, k])  // [block, K] fp32
            for b in blocks {
                let r0 = b * block, r1 = min(r0 + block, n)
                matrix.widenRows(r0, r1, into: scratch.mutablePointer)
                BLAS.sgemm(transB: true, m: rows, n: r1 - r0, k: k, a: x, lda: k, b: scratch.pointer, ldb: k,
                           beta: beta, c: y + r0, ldc: n)
            }
        }
    }
}
