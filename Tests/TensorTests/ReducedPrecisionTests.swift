import XCTest
@testable import Tensor

/// bf16 / int8 Linear kernels against fp32 products computed here in Float64, on both the
/// AVX-512 kernels (where the CPU has them) and the portable widen + BLAS path.
final class ReducedPrecisionTests: XCTestCase {
    private func random(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return (Float(state >> 40) / Float(1 << 24) * 2 - 1) * scale
        }
    }

    /// y = x W^T + b in Float64 with W given row-major [n, k].
    private func reference(_ x: [Float], _ w: [Float], _ b: [Float], rows: Int, k: Int, n: Int) -> [Float] {
        var y = [Float](repeating: 0, count: rows * n)
        for r in 0..<rows {
            for j in 0..<n {
                var s = Double(b[j])
                for i in 0..<k { s += Double(x[r * k + i]) * Double(w[j * k + i]) }
                y[r * n + j] = Float(s)
            }
        }
        return y
    }

    private func relativeError(_ a: [Float], _ b: [Float]) -> Double {
        XCTAssertEqual(a.count, b.count)
        var e = 0.0, n = 0.0
        for (x, y) in zip(a, b) { e += Double(x - y) * Double(x - y); n += Double(y) * Double(y) }
        return (e / n).squareRoot()
    }

    /// bf16 rounding (nearest even) as torch's `.to(torch.bfloat16)`.
    private func bf16(_ v: Float) -> Float {
        let u = v.bitPattern
        return Float(bitPattern: (u &+ 0x7fff &+ ((u >> 16) & 1)) & 0xffff_0000)
    }

    func testBF16RoundingMatchesTorch() {
        let m = WeightMatrix.from(Tensor([1.0, 1.00390625, 1.01171875, -3.14159, 1e-40, 65504], shape: [1, 6]), precision: .bf16)
        // ties to even: 1 + 2^-8 -> 1; 1 + 3·2^-8 -> 1 + 2^-6 (even mantissa)
        XCTAssertEqual(m.toFloat().scalars, [1.0, 1.0, 1.015625, -3.140625, bf16(1e-40), 65536])
    }

    func testInt8QuantisationPerRow() {
        let w = Tensor([0.5, -1.0, 0.25, 0, 0, 0, 2, 1], shape: [2, 4])
        guard case let .int8(storage, scales, sums, _, _) = WeightMatrix.from(w, precision: .int8) else {
            return XCTFail("expected int8")
        }
        let q = Array(UnsafeBufferPointer(start: storage.raw.assumingMemoryBound(to: Int8.self), count: 8))
        XCTAssertEqual(q, [64, -127, 32, 0, 0, 0, 127, 64])  // 63.5 -> 64 (half to even), 31.75 -> 32
        XCTAssertEqual(scales, [1.0 / 127, 2.0 / 127])
        XCTAssertEqual(sums, [-31, 191])
    }

    private func check(precision: Precision, rows: Int, k: Int, n: Int, kernels: WeightMatrix.KernelChoice, bound: Double,
                       file: StaticString = #filePath, line: UInt = #line) {
        WeightMatrix.forceKernels(kernels)
        defer { WeightMatrix.forceKernels(.automatic) }
        let x = random(rows * k, seed: 1), w = random(n * k, seed: 2, scale: 0.05), b = random(n, seed: 3)
        let linear = Linear(weight: Tensor(w, shape: [n, k]), bias: Tensor(b, shape: [n])).converted(to: precision)
        XCTAssertEqual(linear.matrix.precision, precision)
        let y = linear(Tensor(x, shape: [rows, k])).scalars
        // Against the exact product with the stored (rounded / quantised) weights: only the
        // kernel's own arithmetic (and, for the AVX-512 kernels, activation rounding) differs.
        let stored = linear.matrix.toFloat().scalars
        let exactStored = reference(x, stored, b, rows: rows, k: k, n: n)
        // (The many-rows kernels take bf16 with k even, int8 with k a multiple of 4; few int8 rows
        // run on VNNI with quantised rows when k is a multiple of 64.)
        let activationsRounded = precision == .bf16
            ? rows > Linear.fewRowsLimit && k % 2 == 0 && WeightMatrix.usesBF16Kernel
            : WeightMatrix.usesInt8Kernel && (rows > Linear.fewRowsLimit ? k % 4 == 0 : k % 64 == 0)
        XCTAssertLessThan(relativeError(y, exactStored), activationsRounded ? bound : 1e-5, file: file, line: line)
        // Against fp32: the precision's own error, which must be there and bounded.
        let e = relativeError(y, reference(x, w, b, rows: rows, k: k, n: n))
        XCTAssertGreaterThan(e, 1e-5, "\(precision) changed nothing", file: file, line: line)
        XCTAssertLessThan(e, bound, file: file, line: line)
    }

    // Bounds: bf16 keeps 8 bits of mantissa (relative rounding 2^-9 ≈ 2e-3 per value, errors of
    // a k-term dot product add up as sqrt(k), relative to a sum that grows the same way);
    // int8 keeps 7 bits plus the sign (per-row max / 127).
    // Each many-rows case runs four ways: the automatic choice, the native kernels wherever the CPU
    // has the instructions (AMX tiles where it has them), the AVX-512 kernels without AMX (the
    // portable path again where the instructions are missing), and widen + BLAS. Shapes leave
    // tails: features past the last 16-wide tile, an odd number of 16-row blocks, k not a
    // multiple of AMX's 32 (bf16) / 64 (int8).
    func testBF16FewRows() { check(precision: .bf16, rows: 3, k: 96, n: 40, kernels: .automatic, bound: 6e-3) }
    func testBF16ManyRows() {
        for kernels in [WeightMatrix.KernelChoice.automatic, .native, .avx512, .portable] {
            check(precision: .bf16, rows: 37, k: 96, n: 40, kernels: kernels, bound: 6e-3)
            check(precision: .bf16, rows: 70, k: 256, n: 96, kernels: kernels, bound: 6e-3)  // whole AMX tiles
            check(precision: .bf16, rows: 20, k: 98, n: 33, kernels: kernels, bound: 6e-3)
            check(precision: .bf16, rows: 50, k: 64, n: 9, kernels: kernels, bound: 6e-3)  // 4 row blocks, 1 column tile
        }
    }
    func testInt8FewRows() {
        check(precision: .int8, rows: 5, k: 96, n: 40, kernels: .automatic, bound: 2e-2)   // weight-only
        check(precision: .int8, rows: 5, k: 192, n: 42, kernels: .automatic, bound: 2e-2)  // VNNI, rows quantised
        check(precision: .int8, rows: 1, k: 128, n: 43, kernels: .automatic, bound: 2e-2)
    }
    func testInt8ManyRows() {
        for kernels in [WeightMatrix.KernelChoice.automatic, .native, .avx512, .portable] {
            check(precision: .int8, rows: 53, k: 96, n: 45, kernels: kernels, bound: 2e-2)
            check(precision: .int8, rows: 37, k: 192, n: 50, kernels: kernels, bound: 2e-2)  // AMX tiles + tails
            check(precision: .int8, rows: 64, k: 256, n: 96, kernels: kernels, bound: 2e-2)
            check(precision: .int8, rows: 16, k: 32, n: 8, kernels: kernels, bound: 2e-2)
        }
    }
    /// One row (a decode step): the GEMV body that reads four weight rows at once, with output
    /// counts and widths that leave remainders.
    func testOneRowGEMV() {
        check(precision: .bf16, rows: 1, k: 96, n: 42, kernels: .automatic, bound: 6e-3)
        check(precision: .int8, rows: 1, k: 97, n: 43, kernels: .automatic, bound: 2e-2)
        let x = random(97, seed: 5), w = random(43 * 97, seed: 6, scale: 0.05), b = random(43, seed: 7)
        let y = Linear(weight: Tensor(w, shape: [43, 97]), bias: Tensor(b, shape: [43]))(Tensor(x, shape: [1, 97])).scalars
        XCTAssertLessThan(relativeError(y, reference(x, w, b, rows: 1, k: 97, n: 43)), 1e-6)
    }

    func testOddWidthFallsBackToPortable() {
        check(precision: .bf16, rows: 20, k: 33, n: 17, kernels: .native, bound: 6e-3)
        check(precision: .int8, rows: 20, k: 34, n: 17, kernels: .native, bound: 2e-2)
    }

    func testFP32StaysExact() {
        let w = random(12, seed: 4)
        let linear = Linear(weight: Tensor(w, shape: [3, 4]), bias: nil).converted(to: .fp32)
        XCTAssertEqual(linear.matrix.toFloat().scalars, w)
        XCTAssertEqual(linear.matrix.byteCount, 48)
        XCTAssertEqual(Linear(weight: Tensor(w, shape: [3, 4]), bias: nil).converted(to: .bf16).matrix.byteCount, 24)
    }
}
