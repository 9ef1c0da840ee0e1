import BLIP
import Foundation

/// BLIP's official retrieval evaluation (`evaluation()` of train_retrieval.py / LAVIS): ITC
/// similarity of every image with every text, then the best `kTest` candidates of each image
/// (image → text) and of each text (text → image) re-scored as ITM match logit ([ENC] first) +
/// ITC; other pairs score -100. Run image by image: each image is encoded once more and matched
/// against every text it is a candidate for in either direction, so no image's states are kept.
public struct RetrievalEvaluation {
    public let matcher: BlipImageTextMatcher
    public let kTest: Int

    public init(matcher: BlipImageTextMatcher, kTest: Int = 256) {
        self.matcher = matcher
        self.kTest = kTest
    }

    /// The two score matrices: [images][texts] and [texts][images].
    public struct Scores {
        public var imageToText: [[Float]]
        public var textToImage: [[Float]]
    }

    /// Pairs each image is re-scored with: its top-k texts, and the texts that have it in their top k.
    public func candidates(similarity: [[Float]]) -> (i2t: [[Int]], t2i: [[Int]]) {
        let images = similarity.count, texts = similarity.first?.count ?? 0
        let i2t = similarity.map { Array(rankedIndices($0).prefix(kTest)) }
        let t2i = (0..<texts).map { t in Array(rankedIndices((0..<images).map { similarity[$0][t] }).prefix(kTest)) }
        return (i2t, t2i)
    }

    /// Re-scores with ITM; `loadImage(i)` reads image i again, `done(i, texts, logits)` is called
    /// after each image (for a resumable log) and `known(i)` returns logits a previous run logged.
    public func rerank(similarity: [[Float]], texts: [String], loadImage: (Int) throws -> RGBImage,
                       known: (Int) -> [Int: Float]? = { _ in nil },
                       done: (Int, [Int: Float]) throws -> Void = { _, _ in }) throws -> Scores {
        let images = similarity.count
        let (i2t, t2i) = candidates(similarity: similarity)
        var wanted = [Set<Int>](repeating: [], count: images)
        for (i, ts) in i2t.enumerated() { wanted[i].formUnion(ts) }
        for (t, imgs) in t2i.enumerated() { for i in imgs { wanted[i].insert(t) } }
        var logits = [[Int: Float]](repeating: [:], count: images)
        for i in 0..<images {
            if let previous = known(i), Set(previous.keys).isSuperset(of: wanted[i]) {
                logits[i] = previous
                continue
            }
            let order = wanted[i].sorted()
            let encoding = try matcher.encode(loadImage(i))
            let l = try matcher.itmLogits(encoding, texts: order.map { texts[$0] }, mode: .official)
            for (t, row) in zip(order, l) { logits[i][t] = row.count > 1 ? row[1] : .nan }
            try done(i, logits[i])
        }
        var scoresI2T = [[Float]](repeating: [Float](repeating: -100, count: texts.count), count: images)
        var scoresT2I = [[Float]](repeating: [Float](repeating: -100, count: images), count: texts.count)
        for (i, ts) in i2t.enumerated() { for t in ts { scoresI2T[i][t] = logits[i][t]! + similarity[i][t] } }
        for (t, imgs) in t2i.enumerated() { for i in imgs { scoresT2I[t][i] = logits[i][t]! + similarity[i][t] } }
        return Scores(imageToText: scoresI2T, textToImage: scoresT2I)
    }
}
