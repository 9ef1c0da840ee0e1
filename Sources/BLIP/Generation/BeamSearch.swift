import Foundation

/// Beam search with the semantics of transformers' (v5, vectorised) `_beam_search`:
/// per image, the `2·numBeams` best continuations of all beams are taken; those ending in
/// end-of-sequence (or reaching the length limit) among the first `numBeams` become finished
/// hypotheses scored `sum logprob / generated_length ^ length_penalty`; the best `numBeams`
/// unfinished ones keep running. All beams of an image read the same cross-attention keys and
/// values; the self-attention cache is reordered by beam each step.
struct BeamSearch<Decoder: AutoregressiveDecoder> {
    let generator: TextGenerator<Decoder>
    let processing: LogitsProcessing
    let maxLength: Int
    /// Checked for cancellation before every step (beam search streams no partial steps).
    var monitor: GenerationMonitor?

    private struct Hypothesis {
        var tokens: [Int]
        var score: Float
        var finished: Bool
    }

    private struct Candidate {
        var score: Float
        var beam: Int
        var token: Int
    }

    /// The `k` best (score, index) pairs of `values`, best first (ties: lower index first).
    private func topK(_ values: UnsafeBufferPointer<Float>, _ k: Int, offset: Int, into best: inout [(Float, Int)]) {
        for (i, v) in values.enumerated() {
            if best.count == k, let last = best.last, !(v > last.0) { continue }
            var pos = best.count
            while pos > 0 && v > best[pos - 1].0 { pos -= 1 }
            best.insert((v, offset + i), at: pos)
            if best.count > k { best.removeLast() }
        }
    }

    func run(prompts: [[Int]], promptMask: [[Int]]?, context: Decoder.Context) throws -> [[Int]] {
        let options = processing.options
        let beams = options.numBeams
        let images = prompts.count
        let promptLength = prompts[0].count
        let eos = generator.eosTokenId
        let decoder = generator.decoder
        // transformers fills unused positions with `pad_token_id or eos_token_id`: a pad id of 0 is
        // falsy in Python, so beam outputs are filled with the end-of-sequence id in that case.
        let fill = generator.padTokenId != 0 ? generator.padTokenId : eos
        let lengthPenalty = options.lengthPenalty
        let keep = 2 * beams

        // Prefill once per image, then give every beam a copy of its image's cache.
        var cache = decoder.makeCache(batch: images, capacity: maxLength)
        if let promptMask { cache.appendMask(promptMask) }
        let firstLogits = decoder.nextTokenLogits(prompts, cache: &cache, context: context)
        let expand = (0..<images).flatMap { Array(repeating: $0, count: beams) }
        cache = cache.selectingRows(expand)
        var logits = firstLogits.gatherRows(expand)
        let vocab = logits.shape[1]

        var running: [[Hypothesis]] = (0..<images).map { i in
            (0..<beams).map { k in Hypothesis(tokens: prompts[i], score: k == 0 ? 0 : -1e9, finished: false) }
        }
        var finished: [[Hypothesis]] = (0..<images).map { i in
            Array(repeating: Hypothesis(tokens: prompts[i], score: -1e9, finished: false), count: beams)
        }
        var stillImproving = [Bool](repeating: true, count: images)
        var curLen = promptLength

        while true {
            try monitor?.checkCancelled()
            var nextTokens = [[Int]]()
            var sourceRows = [Int]()
            var allHitStop = true
            for i in 0..<images {
                // Accumulated log-probabilities of every continuation of every beam.
                var best = [(Float, Int)]()
                for k in 0..<beams {
                    let row = UnsafeMutableBufferPointer(start: logits.mutablePointer + (i * beams + k) * vocab, count: vocab)
                    let lse = logSumExp(UnsafePointer(row.baseAddress!), count: vocab)
                    for j in 0..<vocab { row[j] -= lse }
                    processing.process(row, sequence: running[i][k].tokens)
                    let s = running[i][k].score
                    for j in 0..<vocab { row[j] += s }
                    topK(UnsafeBufferPointer(row), keep, offset: k * vocab, into: &best)
                }
                let candidates = best.map { Candidate(score: $0.0, beam: $0.1 / vocab, token: $0.1 % vocab) }
                let hits = candidates.map { $0.token == eos || curLen + 1 >= maxLength }
                if hits.contains(false) { allHitStop = false }

                // Running beams for the next step: the best `beams` candidates that did not stop.
                let order = candidates.indices.sorted {
                    let a = candidates[$0].score + (hits[$0] ? -1e9 : 0)
                    let b = candidates[$1].score + (hits[$1] ? -1e9 : 0)
                    return a > b || (a == b && $0 < $1)
                }
                var nextRunning = [Hypothesis]()
                for c in order.prefix(beams) {
                    let cand = candidates[c]
                    var h = running[i][cand.beam]
                    h.tokens.append(cand.token)
                    h.score = cand.score + (hits[c] ? -1e9 : 0)
                    nextRunning.append(h)
                    sourceRows.append(i * beams + cand.beam)
                    nextTokens.append([cand.token])
                }

                // Finished hypotheses: merge the newly finished among the first `beams` candidates.
                let generated = Double(curLen + 1 - promptLength)
                let allDone = finished[i].allSatisfy(\.finished) && options.earlyStopping == .eager
                var merged = finished[i]
                for (c, cand) in candidates.enumerated() {
                    let justFinished = hits[c] && c < beams
                    var score = Float(Double(cand.score) / pow(generated, lengthPenalty))
                    if allDone { score += -1e9 }
                    if !stillImproving[i] { score += -1e9 }
                    if !justFinished { score += -1e9 }
                    var h = running[i][cand.beam]
                    h.tokens.append(cand.token)
                    h.score = score
                    h.finished = justFinished
                    merged.append(h)
                }
                let mergedOrder = merged.indices.sorted {
                    merged[$0].score > merged[$1].score || (merged[$0].score == merged[$1].score && $0 < $1)
                }
                finished[i] = mergedOrder.prefix(beams).map { merged[$0] }
                running[i] = nextRunning
            }
            curLen += 1
            // Can a running beam still beat the worst finished hypothesis?
            for i in 0..<images {
                let length = options.earlyStopping == .never && lengthPenalty > 0
                    ? Double(maxLength - promptLength) : Double(curLen - promptLength)
                let bestRunning = Float(Double(running[i][0].score) / pow(length, lengthPenalty))
                let worstFinished = finished[i].allSatisfy(\.finished) ? finished[i].map(\.score).min()! : -1e9
                stillImproving[i] = stillImproving[i] && bestRunning > worstFinished
            }
            let openBeam = !(finished.allSatisfy { $0.allSatisfy(\.finished) } && options.earlyStopping == .eager)
            if !(stillImproving.contains(true) && openBeam && !allHitStop) { break }
            cache = cache.selectingRows(sourceRows)
            logits = decoder.nextTokenLogits(nextTokens, cache: &cache, context: context)
        }

        // Return the best `numReturnSequences` per image, cut to the longest returned one.
        let returned = finished.map { Array($0.prefix(options.numReturnSequences)) }
        let longest = returned.flatMap { $0 }.map { $0.finished ? $0.tokens.count : promptLength }.max() ?? promptLength
        return returned.flatMap { hyps in
            hyps.map { h in
                let tokens = h.finished ? h.tokens : prompts[0]
                return tokens + Array(repeating: fill, count: max(0, longest - tokens.count))
            }
        }
    }
}
