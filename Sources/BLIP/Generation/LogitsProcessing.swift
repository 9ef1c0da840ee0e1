import Foundation

/// Score adjustments applied to one row of next-token scores, in transformers' order:
/// repetition penalty, minimum length, then (sampling only) temperature, top-k and top-p.
/// Port of transformers' `RepetitionPenaltyLogitsProcessor`, `MinLengthLogitsProcessor`,
/// `MinNewTokensLengthLogitsProcessor`, `TemperatureLogitsWarper`, `TopKLogitsWarper` and
/// `TopPLogitsWarper`.
struct LogitsProcessing {
    let options: GenerationOptions
    let eosTokenId: Int
    let minTotalLength: Int

    /// Processors that always apply (greedy, beam and sampling).
    func process(_ scores: UnsafeMutableBufferPointer<Float>, sequence: [Int]) {
        if options.repetitionPenalty != 1 {
            let p = Float(options.repetitionPenalty)
            for token in Set(sequence) where token >= 0 && token < scores.count {
                let s = scores[token]
                scores[token] = s < 0 ? s * p : s / p
            }
        }
        if sequence.count < minTotalLength, eosTokenId < scores.count {
            scores[eosTokenId] = -.infinity
        }
    }

    /// Sampling warpers: temperature, top-k, top-p (min_tokens_to_keep = 1).
    func warp(_ scores: UnsafeMutableBufferPointer<Float>) {
        let n = scores.count
        if options.temperature != 1 {
            let t = Float(options.temperature)
            for i in 0..<n { scores[i] /= t }
        }
        if options.topK > 0 && options.topK < n {
            var sorted = Array(scores)
            sorted.sort(by: >)
            let threshold = sorted[options.topK - 1]
            for i in 0..<n where scores[i] < threshold { scores[i] = -.infinity }
        }
        if options.topP < 1 {
            let order = (0..<n).sorted { scores[$0] < scores[$1] }  // ascending
            let m = scores.max() ?? 0
            var probs = order.map { Double(exp(scores[$0] - m)) }
            let total = probs.reduce(0, +)
            var cumulative = 0.0
            for (rank, index) in order.enumerated() {
                cumulative += probs[rank] / total
                probs[rank] = cumulative
                if cumulative <= 1 - options.topP && rank < n - 1 { scores[index] = -.infinity }
            }
        }
    }
}

/// A small seeded random generator (SplitMix64) for reproducible sampling.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Draws an index with probability softmax(scores).
func sampleIndex(_ scores: UnsafeBufferPointer<Float>, using rng: inout SeededGenerator) -> Int {
    let m = scores.max() ?? 0
    var total = 0.0
    for s in scores where s > -.infinity { total += Double(exp(s - m)) }
    var u = Double.random(in: 0..<1, using: &rng) * total
    var last = 0
    for (i, s) in scores.enumerated() where s > -.infinity {
        u -= Double(exp(s - m))
        last = i
        if u < 0 { return i }
    }
    return last
}
