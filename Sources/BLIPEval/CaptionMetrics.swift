import Foundation

/// Caption scores of a set of images, as pycocoevalcap 1.2's `COCOEvalCap` reports them
/// (METEOR and SPICE left out: they need Java programs and, for SPICE, a model download).
public struct CaptionScores: Sendable, Equatable, Codable {
    /// Corpus-level BLEU-1...4.
    public var bleu: [Double]
    public var rougeL: Double
    public var cider: Double
    /// Per image, in the order of `imageIds`.
    public var imageIds: [String]
    public var ciderPerImage: [Double]
    public var rougeLPerImage: [Double]

    /// The names `COCOEvalCap.eval` uses.
    public var named: [(String, Double)] {
        [("Bleu_1", bleu[0]), ("Bleu_2", bleu[1]), ("Bleu_3", bleu[2]), ("Bleu_4", bleu[3]), ("ROUGE_L", rougeL), ("CIDEr", cider)]
    }
}

/// Port of pycocoevalcap 1.2's scorers (`Bleu(4)`, `Rouge`, `Cider`) on captions that are
/// already tokenised (`PTBTokenizer.tokenize`): `references[id]` and `candidates[id]` (one
/// caption per image) with the same ids.
public enum CaptionMetrics {
    /// All scores; `ids` fixes the order (pycocoevalcap iterates its dict: the order the images
    /// were given). Throws when an id has no candidate or no reference.
    public static func score(references: [String: [String]], candidates: [String: String], ids: [String]) throws -> CaptionScores {
        for id in ids {
            guard let refs = references[id], !refs.isEmpty else { throw EvalError.invalid("image \(id) has no reference caption") }
            guard candidates[id] != nil else { throw EvalError.invalid("image \(id) has no generated caption") }
        }
        let refs = ids.map { references[$0]! }, cands = ids.map { candidates[$0]! }
        let rouge = zip(cands, refs).map { rougeL(candidate: $0, references: $1) }
        let cider = ciderD(candidates: cands, references: refs)
        return CaptionScores(bleu: bleu(candidates: cands, references: refs), rougeL: mean(rouge), cider: mean(cider),
                             imageIds: ids, ciderPerImage: cider, rougeLPerImage: rouge)
    }

    /// Python's `str.split()`: runs of whitespace (`str.isspace`: Unicode White_Space and the
    /// separators U+001C...U+001F) separate words; none are empty.
    static func pythonSplit(_ s: String) -> [String] {
        var words: [String] = []
        var word = String.UnicodeScalarView()
        for scalar in s.unicodeScalars {
            if scalar.properties.isWhitespace || (0x1C...0x1F).contains(scalar.value) {
                if !word.isEmpty { words.append(String(word)); word = String.UnicodeScalarView() }
            } else {
                word.append(scalar)
            }
        }
        if !word.isEmpty { words.append(String(word)) }
        return words
    }

    static func mean(_ v: [Double]) -> Double { v.isEmpty ? .nan : v.reduce(0, +) / Double(v.count) }

    /// n-gram counts of a whitespace-split sentence (Python's `str.split()`), n = 1...4.
    static func ngrams(_ sentence: String, n: Int = 4) -> (length: Int, counts: [[String]: Int]) {
        let words = pythonSplit(sentence)
        var counts: [[String]: Int] = [:]
        for k in 1...n where words.count >= k {
            for i in 0...(words.count - k) { counts[Array(words[i..<(i + k)]), default: 0] += 1 }
        }
        return (words.count, counts)
    }

    /// Corpus BLEU-1...4 as `BleuScorer.compute_score(option="closest")`: clipped n-gram matches
    /// and guesses summed over the corpus, the reference length closest to each candidate's
    /// (ties: the shorter), tiny = 1e-15 and small = 1e-9 smoothing, brevity penalty on the
    /// corpus lengths.
    public static func bleu(candidates: [String], references: [[String]], n: Int = 4) -> [Double] {
        let tiny = 1e-15, small = 1e-9
        var correct = [Double](repeating: 0, count: n), guess = [Double](repeating: 0, count: n)
        var testLength = 0.0, refLength = 0.0
        for (candidate, refs) in zip(candidates, references) {
            var maxCounts: [[String]: Int] = [:]
            var lengths: [Int] = []
            for ref in refs {
                let (l, counts) = ngrams(ref, n: n)
                lengths.append(l)
                for (g, c) in counts { maxCounts[g] = max(maxCounts[g] ?? 0, c) }
            }
            let (l, counts) = ngrams(candidate, n: n)
            testLength += Double(l)
            // min((abs(l - testlen), l) for l in reflen)[1]
            let closest = lengths.min { (abs($0 - l), $0) < (abs($1 - l), $1) } ?? 0
            refLength += Double(closest)
            for k in 0..<n { guess[k] += Double(max(0, l - k)) }
            for (g, c) in counts { correct[g.count - 1] += Double(min(maxCounts[g] ?? 0, c)) }
        }
        var scores: [Double] = []
        var product = 1.0
        for k in 0..<n {
            product *= (correct[k] + tiny) / (guess[k] + small)
            scores.append(pow(product, 1.0 / Double(k + 1)))
        }
        let ratio = (testLength + tiny) / (refLength + small)
        if ratio < 1 { scores = scores.map { $0 * exp(1 - 1 / ratio) } }
        return scores
    }

    /// ROUGE-L of one candidate (β = 1.2): the best LCS precision and recall over the
    /// references, tokens split on single spaces as `Rouge.calc_score` splits them.
    public static func rougeL(candidate: String, references: [String], beta: Double = 1.2) -> Double {
        let c = candidate.components(separatedBy: " ")
        var precision = 0.0, recall = 0.0
        for reference in references {
            let r = reference.components(separatedBy: " ")
            let l = Double(lcs(r, c))
            precision = max(precision, l / Double(c.count))
            recall = max(recall, l / Double(r.count))
        }
        guard precision != 0, recall != 0 else { return 0 }
        return (1 + beta * beta) * precision * recall / (recall + beta * beta * precision)
    }

    static func lcs(_ a: [String], _ b: [String]) -> Int {
        guard !a.isEmpty, !b.isEmpty else { return 0 }
        var previous = [Int](repeating: 0, count: b.count + 1), current = previous
        for x in a {
            for (j, y) in b.enumerated() { current[j + 1] = x == y ? previous[j] + 1 : max(previous[j + 1], current[j]) }
            swap(&previous, &current)
        }
        return previous[b.count]
    }

    /// CIDEr-D per image as pycocoevalcap's `CiderScorer` (σ = 6): tf-idf n-gram vectors with
    /// document frequencies from these references and log(#images) as the reference length,
    /// the hypothesis weight clipped to the reference's, a Gaussian penalty on the length
    /// difference — where, as in pycocoevalcap 1.2, a sentence's "length" counts its bigrams —
    /// averaged over n = 1...4 and the references, ×10.
    public static func ciderD(candidates: [String], references: [[String]], n: Int = 4, sigma: Double = 6) -> [Double] {
        let cookedRefs = references.map { $0.map { ngrams($0, n: n).counts } }
        var documentFrequency: [[String]: Double] = [:]
        for refs in cookedRefs {
            var seen = Set<[String]>()
            for ref in refs { for g in ref.keys { seen.insert(g) } }
            for g in seen { documentFrequency[g, default: 0] += 1 }
        }
        let refLength = log(Double(cookedRefs.count))
        func vector(_ counts: [[String]: Int]) -> (vec: [[[String]: Double]], norm: [Double], length: Double) {
            var vec = [[[String]: Double]](repeating: [:], count: n)
            var norm = [Double](repeating: 0, count: n)
            var length = 0.0
            for (g, tf) in counts {
                let df = log(max(1.0, documentFrequency[g] ?? 0))
                let k = g.count - 1
                let w = Double(tf) * (refLength - df)
                vec[k][g] = w
                norm[k] += w * w
                if k == 1 { length += Double(tf) }
            }
            return (vec, norm.map { $0.squareRoot() }, length)
        }
        return zip(candidates, cookedRefs).map { candidate, refs in
            let (vec, norm, length) = vector(ngrams(candidate, n: n).counts)
            var score = [Double](repeating: 0, count: n)
            for ref in refs {
                let (refVec, refNorm, refLen) = vector(ref)
                let delta = length - refLen
                for k in 0..<n {
                    var value = 0.0
                    for (g, w) in vec[k] { let r = refVec[k][g] ?? 0; value += min(w, r) * r }
                    if norm[k] != 0 && refNorm[k] != 0 { value /= norm[k] * refNorm[k] }
                    score[k] += value * exp(-(delta * delta) / (2 * sigma * sigma))
                }
            }
            return score.reduce(0, +) / Double(n) / Double(refs.count) * 10
        }
    }
}

/// An evaluation input that cannot be scored, naming the file and the record.
public enum EvalError: Error, LocalizedError, Equatable, Sendable {
    case invalid(String)

    public var errorDescription: String? {
        switch self { case .invalid(let m): return m }
    }
}
