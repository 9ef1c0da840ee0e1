import Foundation

extension Tensor {
    /// Port of `torch.nn.functional.interpolate(x, size: (outH, outW), mode: "bicubic",
    /// align_corners: false)` (no antialiasing) for x [N, C, H, W]: source coordinate
    /// `(dst + 0.5) · in/out − 0.5`, index and fraction as PyTorch's
    /// `guard_index_and_lambda` (index at most in − 1, fraction in [0, 1]), Keys' cubic convolution with A = −0.75, neighbours clamped to the
    /// border; each output is the column interpolation of four row interpolations, as PyTorch
    /// computes it. What official BLIP uses to resize a checkpoint's position-embedding grid.
    public func bicubicResized(height outH: Int, width outW: Int) -> Tensor {
        precondition(rank == 4 && outH > 0 && outW > 0, "bicubicResized needs [N, C, H, W] and a positive size")
        let x = contiguous()
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let out = Tensor(uninitializedShape: [n, c, outH, outW])
        let ys = Self.cubicTaps(input: h, output: outH), xs = Self.cubicTaps(input: w, output: outW)
        for plane in 0..<(n * c) {
            let src = x.pointer + plane * h * w, dst = out.mutablePointer + plane * outH * outW
            for oy in 0..<outH {
                let ty = ys[oy]
                for ox in 0..<outW {
                    let tx = xs[ox]
                    var rows = [Float](repeating: 0, count: 4)
                    for r in 0..<4 {
                        let row = src + ty.indices[r] * w
                        rows[r] = row[tx.indices[0]] * tx.weights[0] + row[tx.indices[1]] * tx.weights[1]
                            + row[tx.indices[2]] * tx.weights[2] + row[tx.indices[3]] * tx.weights[3]
                    }
                    dst[oy * outW + ox] = rows[0] * ty.weights[0] + rows[1] * ty.weights[1]
                        + rows[2] * ty.weights[2] + rows[3] * ty.weights[3]
                }
            }
        }
        return out
    }

    /// The four clamped source indices and their cubic weights of each output position.
    static func cubicTaps(input: Int, output: Int) -> [(indices: [Int], weights: [Float])] {
        let a: Float = -0.75
        let scale = Float(input) / Float(output)
        func near(_ x: Float) -> Float { ((a + 2) * x - (a + 3)) * x * x + 1 }  // |x| ≤ 1
        func far(_ x: Float) -> Float { ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }  // 1 < |x| < 2
        return (0..<output).map { o in
            let real = scale * (Float(o) + 0.5) - 0.5
            let index = min(Int(real.rounded(.down)), input - 1)  // may be −1 near the start, as PyTorch's
            let t = min(max(real - Float(index), 0), 1)
            let indices = (-1...2).map { min(max(index + $0, 0), input - 1) }
            return (indices, [far(t + 1), near(t), near(1 - t), far(2 - t)])
        }
    }
}
