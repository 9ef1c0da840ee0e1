import BLIP
import Foundation

/// Dot products of every query with every gallery vector: [Q][D] · [G][D]^T -> [Q][G]. With
/// unit ITC embeddings (`BlipImageTextMatcher.imageEmbeddings` / `textEmbeddings`) these are the
/// ITC cosines. One GEMM, so a COCO-size evaluation (5k × 25k) takes seconds.
public func similarityMatrix(queries: [[Float]], gallery: [[Float]]) throws -> [[Float]] {
    guard let d = queries.first?.count ?? gallery.first?.count else { return [] }
    guard queries.allSatisfy({ $0.count == d }), gallery.allSatisfy({ $0.count == d }) else {
        throw BlipModelError.invalidInput("all query and gallery vectors must have \(d) values")
    }
    guard !queries.isEmpty, !gallery.isEmpty else { return queries.map { _ in [] } }
    let g = Tensor(gallery.flatMap { $0 }, shape: [gallery.count, d])
    // [Q, D] x [G, D]^T -> [Q, G]
    let scores = Linear(weight: g, bias: nil)(Tensor(queries.flatMap { $0 }, shape: [queries.count, d])).contiguous()
    return (0..<queries.count).map { Array(UnsafeBufferPointer(start: scores.pointer + $0 * gallery.count, count: gallery.count)) }
}

/// Indices of `scores` from best to worst: descending score, equal scores by ascending index,
/// NaN last.
public func rankedIndices(_ scores: [Float]) -> [Int] {
    scores.indices.sorted { ranksBefore(scores, $0, $1) }
}

/// Whether item `i` ranks ahead of item `j` (higher score; ties by lower index; NaN lowest).
@inline(__always)
private func ranksBefore(_ s: [Float], _ i: Int, _ j: Int) -> Bool {
    let a = s[i].isNaN ? -Float.infinity : s[i], b = s[j].isNaN ? -Float.infinity : s[j]
    if a != b { return a > b }
    if s[i].isNaN != s[j].isNaN { return !s[i].isNaN }
    return i < j
}

/// Position (0 = first) of the best-ranked relevant item in `scores`, or nil when `relevant`
/// is empty.
public func bestRelevantRank(_ scores: [Float], relevant: Set<Int>) -> Int? {
    // The rank of item r is the number of items ranked ahead of it: no full sort needed.
    relevant.lazy.map { r in scores.indices.reduce(0) { $0 + (ranksBefore(scores, $1, r) ? 1 : 0) } }.min()
}

/// Recall@K of a retrieval: `similarity[q][g]` scores gallery item g for query q, `relevant[q]`
/// holds the gallery items that are right for q. As BLIP's official evaluation
/// (`itm_eval` in train_retrieval.py), a query is a hit at K when any relevant item ranks within
/// its top K (ties broken by gallery index); the result is the fraction of hits (0...1) per K.
///
/// Text→image: queries are texts, the gallery images (`relevant[t] = [image of t]`);
/// image→text: queries are images, the gallery texts (`relevant[i]` = its captions).
/// A query without relevant items counts as a miss.
public func recallAtK(similarity: [[Float]], relevant: [Set<Int>], ks: [Int]) throws -> [Int: Double] {
    guard similarity.count == relevant.count else {
        throw BlipModelError.invalidInput("\(similarity.count) similarity rows but \(relevant.count) relevance sets")
    }
    if let bad = ks.first(where: { $0 < 1 }) {
        throw BlipModelError.invalidInput("K must be at least 1, got \(bad)")
    }
    return try recall(similarity, relevant, ks)
}

private func recall(_ similarity: [[Float]], _ relevant: [Set<Int>], _ ks: [Int]) throws -> [Int: Double] {
    let gallery = similarity.first?.count ?? 0
    var ranks = [Int?]()
    ranks.reserveCapacity(similarity.count)
    for (q, row) in similarity.enumerated() {
        guard row.count == gallery else {
            throw BlipModelError.invalidInput("similarity row \(q) has \(row.count) scores, row 0 has \(gallery)")
        }
        if let bad = relevant[q].first(where: { $0 < 0 || $0 >= gallery }) {
            throw BlipModelError.invalidInput("relevant item \(bad) of query \(q) is outside the gallery (0..<\(gallery))")
        }
        ranks.append(bestRelevantRank(row, relevant: relevant[q]))
    }
    var out = [Int: Double]()
    for k in ks {
        let hits = ranks.reduce(0) { $0 + (($1.map { $0 < k }) == true ? 1 : 0) }
        out[k] = similarity.isEmpty ? 0 : Double(hits) / Double(similarity.count)
    }
    return out
}

/// Recall@K in both directions for an image × text score matrix where every text belongs to
/// one image (`imageOfText[t]`), as BLIP reports COCO/Flickr retrieval.
public struct RetrievalRecall: Sendable, Equatable {
    /// Image→text: for each image, is any of its texts in the top K texts.
    public var imageToText: [Int: Double]
    /// Text→image: for each text, is its image in the top K images.
    public var textToImage: [Int: Double]

    /// The mean of the two directions' mean recalls, as the official `itm_eval`'s `r_mean`
    /// ((tr_mean + ir_mean) / 2, each the mean over K in ascending order).
    public var meanRecall: Double {
        func mean(_ r: [Int: Double]) -> Double {
            r.isEmpty ? 0 : r.keys.sorted().reduce(0) { $0 + r[$1]! } / Double(r.count)
        }
        return (mean(imageToText) + mean(textToImage)) / 2
    }

    /// The official `itm_eval`'s report, in percent and computed in its order (each recall ×100
    /// first, then the means): txt_r1/5/10, txt_r_mean, img_r1/5/10, img_r_mean, r_mean, for the
    /// Ks 1, 5 and 10 this was computed with.
    public var itmEvalReport: [(String, Double)] {
        func percents(_ r: [Int: Double]) -> [Double] { [1, 5, 10].map { 100 * (r[$0] ?? 0) } }
        let txt = percents(imageToText), img = percents(textToImage)
        let txtMean = txt.reduce(0, +) / 3, imgMean = img.reduce(0, +) / 3
        return zip(["txt_r1", "txt_r5", "txt_r10"], txt).map { ($0, $1) } + [("txt_r_mean", txtMean)]
            + zip(["img_r1", "img_r5", "img_r10"], img).map { ($0, $1) } + [("img_r_mean", imgMean), ("r_mean", (txtMean + imgMean) / 2)]
    }

    /// - Parameter scores: [images][texts] (ITC cosines or ITM-reranked scores).
    public init(scores: [[Float]], imageOfText: [Int], ks: [Int] = [1, 5, 10]) throws {
        try self.init(imageToText: scores, textToImage: nil, imageOfText: imageOfText, ks: ks)
    }

    /// The official `itm_eval(scores_i2t, scores_t2i, txt2img, img2txt)`: the two directions'
    /// matrices may differ (ITM re-ranking fills each direction's top k separately);
    /// `textToImage` [texts][images] defaults to the transpose of `imageToText` [images][texts].
    public init(imageToText scores: [[Float]], textToImage: [[Float]]?, imageOfText: [Int], ks: [Int] = [1, 5, 10]) throws {
        let texts = imageOfText.count
        guard scores.allSatisfy({ $0.count == texts }) else {
            throw BlipModelError.invalidInput("every score row must have \(texts) texts")
        }
        var textsOfImage = [Set<Int>](repeating: [], count: scores.count)
        for (t, i) in imageOfText.enumerated() {
            guard i >= 0 && i < scores.count else {
                throw BlipModelError.invalidInput("text \(t) belongs to image \(i), outside 0..<\(scores.count)")
            }
            textsOfImage[i].insert(t)
        }
        imageToText = try recallAtK(similarity: scores, relevant: textsOfImage, ks: ks)
        if let textToImage {
            guard textToImage.count == texts, textToImage.allSatisfy({ $0.count == scores.count }) else {
                throw BlipModelError.invalidInput("the text-to-image scores must be [\(texts)][\(scores.count)]")
            }
        }
        let t2i = textToImage ?? (0..<texts).map { t in scores.map { $0[t] } }
        self.textToImage = try recallAtK(similarity: t2i, relevant: imageOfText.map { [$0] }, ks: ks)
    }
}
