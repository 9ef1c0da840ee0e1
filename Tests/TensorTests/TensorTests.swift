import Foundation
import XCTest
@testable import Tensor
import CKernels

/// Deterministic pseudo-random values in [-scale, scale).
func randomValues(_ n: Int, seed: UInt64, scale: Float = 1) -> [Float] {
    var s = seed &+ 0x9E37_79B9_7F4A_7C15
    return (0..<n).map { _ in
        s = s &* 6364136223846793005 &+ 1442695040888963407
        return (Float(s >> 40) / Float(1 << 24) * 2 - 1) * scale
    }
}

final class TensorOpsTests: XCTestCase {
    func testGELUMatchesErfDefinition() {
        let xs = (0..<4001).map { Float($0 - 2000) / 200 }  // -10 ... 10
        let t = Tensor(xs, shape: [xs.count]).gelu()
        var worst: Double = 0
        for (i, x) in xs.enumerated() {
            let ref = 0.5 * Double(x) * (1 + erf(Double(x) / 2.0.squareRoot()))
            worst = max(worst, abs(Double(t.pointer[i]) - ref) / max(1, abs(ref)))
        }
        XCTAssertLessThan(worst, 1e-6)
    }

    func testSoftmaxScaledMaskedMatchesDouble() {
        let rows = 3, cols = 37
        let x = randomValues(rows * cols, seed: 1, scale: 8)
        let mask = (0..<cols).map { $0 % 5 == 0 ? -Float.greatestFiniteMagnitude : 0 }
        var out = x
        out.withUnsafeMutableBufferPointer { p in
            mask.withUnsafeBufferPointer { m in
                softmaxRowsInPlace(p.baseAddress!, rows: rows, cols: cols, scale: 0.5, mask: m.baseAddress!)
            }
        }
        for r in 0..<rows {
            let v = (0..<cols).map { Double(x[r * cols + $0]) * 0.5 + (mask[$0] < 0 ? -1e30 : 0) }
            let m = v.max()!
            let e = v.map { exp($0 - m) }
            let s = e.reduce(0, +)
            for j in 0..<cols { XCTAssertEqual(Double(out[r * cols + j]), e[j] / s, accuracy: 1e-7) }
        }
    }

    func testLayerNormMatchesDouble() {
        let c = 45
        let x = randomValues(2 * c, seed: 2, scale: 3)
        let w = randomValues(c, seed: 3), b = randomValues(c, seed: 4)
        let ln = LayerNorm(weight: Tensor(w, shape: [c]), bias: Tensor(b, shape: [c]), eps: 1e-5)
        let y = ln(Tensor(x, shape: [2, c]))
        for r in 0..<2 {
            let row = x[(r * c)..<((r + 1) * c)].map(Double.init)
            let mean = row.reduce(0, +) / Double(c)
            let v = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(c)
            for j in 0..<c {
                let ref = (row[j] - mean) / (v + 1e-5).squareRoot() * Double(w[j]) + Double(b[j])
                XCTAssertEqual(Double(y.item([r, j])), ref, accuracy: 1e-5)
            }
        }
    }

    func testLinearGEMMAndGEMVAgreeWithNaive() {
        let inF = 19, outF = 7
        let w = randomValues(outF * inF, seed: 5), b = randomValues(outF, seed: 6)
        let lin = Linear(weight: Tensor(w, shape: [outF, inF]), bias: Tensor(b, shape: [outF]))
        for rows in [1, 4] {
            let x = randomValues(rows * inF, seed: 7)
            let y = lin(Tensor(x, shape: [rows, inF]))
            XCTAssertEqual(y.shape, [rows, outF])
            for r in 0..<rows {
                for o in 0..<outF {
                    var ref = Double(b[o])
                    for i in 0..<inF { ref += Double(x[r * inF + i]) * Double(w[o * inF + i]) }
                    XCTAssertEqual(Double(y.item([r, o])), ref, accuracy: 1e-5)
                }
            }
        }
    }

    func testViewsAndConcat() {
        let t = Tensor((0..<24).map(Float.init), shape: [2, 3, 4])
        XCTAssertEqual(t.transposed(1, 2).contiguous().scalars[0..<4], [0, 4, 8, 1])
        XCTAssertEqual(t.slice(2, 1..<3).scalars, [1, 2, 5, 6, 9, 10, 13, 14, 17, 18, 21, 22])
        XCTAssertEqual(t[1].reshaped([-1]).scalars.first, 12)
        let c = Tensor.concat([t.slice(1, 0..<1), t], dim: 1)
        XCTAssertEqual(c.shape, [2, 4, 4])
        XCTAssertEqual(c[1].scalars[0..<8], [12, 13, 14, 15, 12, 13, 14, 15])
        XCTAssertEqual(t.gatherRows([1, 1, 0]).shape, [3, 3, 4])
        XCTAssertEqual(t.gatherRows([1, 1, 0]).item([1, 0, 0]), 12)
    }

    func testHalfAndBFloat16Conversion() {
        let f16: [UInt16] = [0x3C00, 0xC000, 0x0001, 0x7C00, 0x8000, 0x3555]
        var out = [Float](repeating: 0, count: f16.count)
        bk_f16_to_f32(f16, &out, f16.count)
        XCTAssertEqual(out[0], 1)
        XCTAssertEqual(out[1], -2)
        XCTAssertEqual(out[2], Float(sign: .plus, exponent: -24, significand: 1))
        XCTAssertEqual(out[3], .infinity)
        XCTAssertEqual(out[4].sign, .minus)
        XCTAssertEqual(out[5], Float(Float16(bitPattern: 0x3555)))
        let bf: [UInt16] = [0x3F80, 0xC000, 0x4049]
        bk_bf16_to_f32(bf, &out, bf.count)
        XCTAssertEqual(Array(out[0..<3]), [1, -2, Float(bitPattern: 0x4049_0000)])
    }

    /// Attention through `multiHeadAttention` equals a naive per-head computation: the decode
    /// path (one query row, several query batches sharing one key/value batch) and the prefill
    /// path (several query rows with the causal limit and a padding mask).
    func testMultiHeadAttentionMatchesNaive() {
        for (tq, causalPast, masked) in [(1, nil, false), (1, nil, true), (4, 2 as Int?, true), (6, nil, false)] {
            let heads = 2, d = 3, tk = tq == 1 ? 5 : (causalPast ?? 0) + tq, kvBatches = 2
            let perKV = tq == 1 ? 3 : 1
            let c = heads * d
            let batch = kvBatches * perKV
            let q = randomValues(batch * tq * c, seed: 8), k = randomValues(kvBatches * tk * c, seed: 9)
            let v = randomValues(kvBatches * tk * c, seed: 10)
            let mask: [Float] = (0..<(batch * tk)).map { masked && $0 % 4 == 1 ? -Float.greatestFiniteMagnitude : 0 }
            var out = [Float](repeating: 0, count: batch * tq * c)
            var scratch = [Float](repeating: 0, count: tq * tk)
            q.withUnsafeBufferPointer { qp in
                k.withUnsafeBufferPointer { kp in
                    v.withUnsafeBufferPointer { vp in
                        mask.withUnsafeBufferPointer { mp in
                            multiHeadAttention(
                                q: HeadLayout(base: qp.baseAddress!, rowStride: c, batchStride: tq * c),
                                k: HeadLayout(base: kp.baseAddress!, rowStride: c, batchStride: tk * c),
                                v: HeadLayout(base: vp.baseAddress!, rowStride: c, batchStride: tk * c),
                                out: &out, outRowStride: c, outBatchStride: tq * c, batch: batch, queriesPerKV: perKV,
                                queryLength: tq, keyLength: tk, heads: heads, headDim: d, scale: 0.7,
                                mask: masked ? mp.baseAddress : nil, causalPast: causalPast, scores: &scratch)
                        }
                    }
                }
            }
            for b in 0..<batch {
                let g = b / perKV
                for t in 0..<tq {
                    let visible = causalPast.map { min(tk, $0 + t + 1) } ?? tk
                    for h in 0..<heads {
                        var s = (0..<visible).map { j in
                            (0..<d).reduce(0.0) { $0 + Double(q[(b * tq + t) * c + h * d + $1]) * Double(k[(g * tk + j) * c + h * d + $1]) } * 0.7
                                + (mask[b * tk + j] < 0 ? -1e30 : 0)
                        }
                        let m = s.max()!
                        s = s.map { exp($0 - m) }
                        let z = s.reduce(0, +)
                        for e in 0..<d {
                            let ref = (0..<visible).reduce(0.0) { $0 + s[$1] / z * Double(v[(g * tk + $1) * c + h * d + e]) }
                            XCTAssertEqual(Double(out[(b * tq + t) * c + h * d + e]), ref, accuracy: 1e-5, "tq \(tq)")
                        }
                    }
                }
            }
        }
    }
}
