import Foundation

/// The result of ranking candidate answers for one question (official BLIP `rank_answer`).
public struct AnswerRanking: Sendable, Equatable {
    /// Per candidate: the decoder's probability of its first answer token after [DEC].
    public var firstTokenProbabilities: [Float]
    /// The candidates kept for re-ranking: the `k` largest first-token probabilities, best first
    /// (ties: lower candidate index first).
    public var topK: [Int]
    /// Per kept candidate (same order as `topK`): the label-smoothed log-likelihood of its
    /// answer tokens and final [SEP].
    public var scores: [Float]
}

extension BlipForQuestionAnswering {
    /// Candidates scored together in one teacher-forced decoder pass (bounds the logits memory:
    /// rows × length × vocabulary floats).
    static let rankChunk = 32

    /// Ranks candidate answers for one encoded question, as the official BLIP `rank_answer` does:
    ///
    /// 1. p1(a): softmax of the decoder's logits after [DEC] alone, at a's first answer token.
    /// 2. Keep the `k` candidates with the largest p1 (ties: lower index first).
    /// 3. Score each kept candidate teacher-forced over its ids:
    ///    score(a) = Σ_t (1 − ε) log p(y_t | y_<t) + ε · mean_v log p(v | y_<t)
    ///    over the answer tokens and the final [SEP] (ε = `labelSmoothing`; the official code
    ///    uses 0.1, its cross-entropy loss being label-smoothed; 0 gives the plain log-likelihood).
    ///
    /// - Parameters:
    ///   - question: the decoder's cross-attention over one question's states (batch 1).
    ///   - candidateIds: per candidate `[DEC] answer… [SEP]`, unpadded (each at least 2 ids).
    public func rankAnswers(question: CrossAttentionKV, candidateIds: [[Int]], k: Int,
                            labelSmoothing: Double = 0.1) throws -> AnswerRanking {
        guard question.imageBatch == 1 else {
            throw BlipModelError.invalidInput("rank one question at a time (got \(question.imageBatch))")
        }
        guard !candidateIds.isEmpty else { throw BlipModelError.invalidInput("no candidate answers to rank") }
        guard k >= 1 else { throw BlipModelError.invalidInput("k must be at least 1 (got \(k))") }
        guard labelSmoothing >= 0 && labelSmoothing < 1 else {
            throw BlipModelError.invalidInput("label smoothing must be in [0, 1) (got \(labelSmoothing))")
        }
        let text = config.textConfig
        if let bad = candidateIds.firstIndex(where: { $0.count < 2 || $0[0] != text.bosTokenId }) {
            throw BlipModelError.invalidInput("candidate \(bad) must start with [DEC] and have at least one more token")
        }
        let longest = candidateIds.map(\.count).max()!
        guard longest <= text.maxPositionEmbeddings else {
            throw BlipModelError.invalidInput(
                "a candidate answer has \(longest) tokens, more than max_position_embeddings (\(text.maxPositionEmbeddings))")
        }

        // 1. First-token probabilities from one decoder step on [DEC].
        var cache = textDecoder.makeCache(batch: 1, capacity: 1)
        let first = textDecoder.nextTokenLogits([[text.bosTokenId]], cache: &cache, cross: question)  // [1, vocab]
        let vocab = first.shape[1]
        let lse = logSumExp(first.pointer, count: vocab)
        let p1 = candidateIds.map { exp(first.pointer[$0[1]] - lse) }

        // 2. Top k by p1, stable.
        let top = Array(candidateIds.indices.sorted { p1[$0] > p1[$1] || (p1[$0] == p1[$1] && $0 < $1) }
            .prefix(min(k, candidateIds.count)))

        // 3. Teacher-forced scores, in chunks padded to the chunk's longest candidate.
        var scores = [Float]()
        scores.reserveCapacity(top.count)
        var start = 0
        while start < top.count {
            let chunk = top[start..<min(start + Self.rankChunk, top.count)].map { candidateIds[$0] }
            start += chunk.count
            let width = chunk.map(\.count).max()!
            let ids = chunk.map { $0 + Array(repeating: text.padTokenId, count: width - $0.count) }
            let mask = chunk.map { Array(repeating: 1, count: $0.count) + Array(repeating: 0, count: width - $0.count) }
            let logits = textDecoder.logits(ids, cross: question, attentionMask: mask)  // [n, width, vocab]
            for (r, row) in chunk.enumerated() {
                var score = 0.0
                for t in 0..<(row.count - 1) {
                    // Position t predicts token t + 1.
                    let p = logits.pointer + (r * width + t) * vocab
                    let lse = Double(logSumExp(p, count: vocab))
                    var sum = 0.0
                    for j in 0..<vocab { sum += Double(p[j]) }
                    let target = Double(p[row[t + 1]]) - lse
                    let mean = sum / Double(vocab) - lse
                    score += (1 - labelSmoothing) * target + labelSmoothing * mean
                }
                scores.append(Float(score))
            }
        }
        return AnswerRanking(firstTokenProbabilities: p1, topK: top, scores: scores)
    }
}
