import BLIP
import Foundation

/// Settings of a CapFilt run (BLIP's captioner + filter dataset bootstrapping).
public struct CapFiltOptions: Sendable, Equatable {
    /// A text is kept when its ITM match probability is at least this.
    public var threshold: Double = 0.5
    /// Synthetic captions per image.
    public var numCaptions = 1
    /// Keep at most this many texts per image (the best by `rankBy`), after the threshold.
    public var keepTop: Int?
    public var rankBy: RankBy = .itm
    /// Seed of the synthetic captions: a sample's captions depend on it and the sample's key only.
    public var seed: UInt64 = 0
    /// Clean texts as the official `pre_caption` before filtering (false: keep them raw).
    public var cleanText = true
    /// `pre_caption`'s word limit.
    public var maxWords = 30
    /// Images per model call.
    public var batchSize = 8
    /// The captioner's prompt, removed from the synthetic captions.
    public var prompt = "a picture of "
    /// Sampling settings of the official `generate(sample=True)`: nucleus top-p 0.9 (with
    /// transformers' default top-k 50), repetition penalty 1.1, max_length 20, min_length 5
    /// (both counted with the prompt, as `generate` counts them).
    public var topP = 0.9
    public var topK = 50
    public var repetitionPenalty = 1.1
    public var maxLength = 20
    public var minLength = 5

    public enum RankBy: String, Sendable, Equatable, CaseIterable { case itm, itc }

    public init() {}

    /// Generation options for `rowSeeds` (one per image × caption).
    func generation(rowSeeds: [UInt64]) -> GenerationOptions {
        var g = GenerationOptions()
        g.doSample = true
        g.topP = topP
        g.topK = topK
        g.repetitionPenalty = repetitionPenalty
        g.maxLength = maxLength
        g.minLength = minLength
        g.numReturnSequences = numCaptions
        g.rowSeeds = rowSeeds
        return g
    }

    public func validate() throws {
        func bad(_ m: String) -> DatasetInputError { DatasetInputError(message: m) }
        guard threshold.isFinite, (0...1).contains(threshold) else { throw bad("--threshold must be in 0...1, got \(threshold)") }
        guard (0...GenerationOptions.maxBeams).contains(numCaptions) else {
            throw bad("--num-captions must be in 0...\(GenerationOptions.maxBeams), got \(numCaptions)")
        }
        if let keepTop, keepTop < 1 { throw bad("--keep-top must be at least 1, got \(keepTop)") }
        guard (1...BlipCaptioner.maxBatchSize).contains(batchSize) else {
            throw bad("--batch-size must be in 1...\(BlipCaptioner.maxBatchSize), got \(batchSize)")
        }
        guard maxWords >= 1 else { throw bad("--max-words must be at least 1, got \(maxWords)") }
    }

    /// The seed of caption `j` of the sample `key`.
    func rowSeed(key: String, caption j: Int) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a over seed, key, index
        func mix(_ byte: UInt8) { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        for i in 0..<8 { mix(UInt8(truncatingIfNeeded: seed >> (8 * UInt64(i)))) }
        for b in key.utf8 { mix(b) }
        for i in 0..<4 { mix(UInt8(truncatingIfNeeded: j >> (8 * i))) }
        return h
    }
}

/// One text of a sample with its filter scores.
public struct ScoredText: Sendable, Equatable {
    public enum Source: String, Sendable, Equatable { case web, synthetic }
    public var text: String
    public var source: Source
    /// ITM match probability (softmax of the ITM head, class 1).
    public var itm: Double
    /// ITC cosine of the image and text embeddings.
    public var itc: Double
    public var kept = false
}

/// Marks the kept texts: ITM ≥ threshold, then at most `keepTop` by `rankBy` (ties: list order,
/// web caption first). Returns the texts with `kept` set, in their original order.
public func selectTexts(_ texts: [ScoredText], options: CapFiltOptions) -> [ScoredText] {
    var out = texts
    let passing = texts.indices.filter { texts[$0].itm >= options.threshold }
    var keep = passing
    if let n = options.keepTop, passing.count > n {
        let score = { (i: Int) in options.rankBy == .itm ? texts[i].itm : texts[i].itc }
        keep = Array(passing.sorted { score($0) > score($1) || (score($0) == score($1) && $0 < $1) }.prefix(n))
    }
    for i in keep { out[i].kept = true }
    return out
}

/// The best kept text (highest `rankBy` score; ties: list order), the sample's new caption.
func bestKept(_ texts: [ScoredText], rankBy: CapFiltOptions.RankBy) -> ScoredText? {
    let kept = texts.enumerated().filter { $0.element.kept }
    let score = { (t: ScoredText) in rankBy == .itm ? t.itm : t.itc }
    return kept.max { a, b in score(a.element) < score(b.element) || (score(a.element) == score(b.element) && a.offset > b.offset) }?.element
}
