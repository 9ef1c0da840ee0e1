import BLIP
import Foundation

/// One image found by a search.
public struct ImageHit: Sendable, Equatable {
    /// 1-based.
    public let rank: Int
    public let path: String
    /// Cosine similarity of the ITC embeddings.
    public let itc: Float
    /// ITM match probability, for re-ranked hits only.
    public let itm: Float?
    /// `itc + itm` for re-ranked hits, `itc` otherwise. Re-ranked hits always come first.
    public var score: Float { itc + (itm ?? 0) }
}

/// One text of a list, ranked against an image.
public struct TextHit: Sendable, Equatable {
    /// 1-based.
    public let rank: Int
    /// 0-based position of the text in the list.
    public let index: Int
    public let text: String
    public let itc: Float
    public let itm: Float?
    public var score: Float { itc + (itm ?? 0) }
}

/// Hits, plus the candidates that could not be re-ranked (their image could not be read; they keep their
/// ITC rank after the re-ranked ones).
public struct SearchResults<Hit: Sendable & Equatable>: Sendable, Equatable {
    public let hits: [Hit]
    public let failures: [IndexFailure]
}

/// Images re-ranked by one ITM call at most; bounds the decoded images held at once.
let rerankChunk = 16

func validateSearch(topK: Int, rerank: Int, reranker: (any ImageTextReranker)?) throws {
    guard topK >= 1 else { throw ImageIndexError.invalidArgument("top-k must be at least 1 (got \(topK))") }
    guard rerank >= 0 else { throw ImageIndexError.invalidArgument("rerank must be 0 or more (got \(rerank))") }
    if rerank > 0 && reranker == nil {
        throw ImageIndexError.invalidArgument("re-ranking needs an ITM model")
    }
}

extension ImageIndex {
    /// The `topK` indexed images most similar to `text` by ITC cosine (brute force over all embeddings).
    ///
    /// Brute force is one SIMD dot product per indexed image over a matrix loaded once per `ImageIndex`:
    /// 50,000 images × 256 dimensions is about 50 MB and a few milliseconds, fine for tens of thousands of
    /// images; larger galleries would want an approximate nearest-neighbour index.
    ///
    /// With `rerank` K > 0, the best `max(K, topK)` ITC candidates are fetched and the first K re-scored
    /// `itc + itm` with `reranker` (BLIP's official two-stage retrieval); re-ranked hits come first.
    /// Re-ranking reads and encodes those K images again; `progress(done, K)` follows it.
    public func search(text: String, embedder: any ImageEmbedder, topK: Int = 10, rerank: Int = 0,
                       reranker: (any ImageTextReranker)? = nil,
                       maxPixels: Int = RGBImage.defaultMaxPixels,
                       progress: ((Int, Int) -> Void)? = nil) throws -> SearchResults<ImageHit> {
        try validateSearch(topK: topK, rerank: rerank, reranker: reranker)
        let matrix = try matrix(for: embedder)
        if matrix.rows == 0 { return SearchResults(hits: [], failures: []) }
        let query = try Self.validated(embedder.embed(texts: [text]), count: 1, embedder: embedder, images: false)[0]
        let scores = Ranking.bestDotProducts(matrix: matrix.values, rows: matrix.rows, vectorsPerRow: embedder.vectorsPerImage,
                                             query: query)
        let candidates = Ranking.topIndices(scores, k: max(topK, rerank))
        let itc = candidates.map { scores[$0] }
        var itm = [Float?](repeating: nil, count: candidates.count)
        var failures: [IndexFailure] = []
        if let reranker, rerank > 0 {
            var start = 0
            let head = min(rerank, candidates.count)
            while start < head {
                let end = min(start + rerankChunk, head)
                var images: [RGBImage] = []
                var slots: [Int] = []
                for slot in start..<end {
                    let path = matrix.paths[candidates[slot]]
                    do {
                        let url = URL(fileURLWithPath: path)
                        if VideoFrames.isVideo(url) {  // scored on its own: all its frames' states
                            let frames = try VideoFrames.load(url, frames: IndexMedia.videoFrames, maxPixels: maxPixels)
                            itm[slot] = try reranker.itmScore(videoFrames: frames, text: text)
                            continue
                        }
                        images.append(try RGBImage(contentsOf: url, maxPixels: maxPixels))
                        slots.append(slot)
                    } catch {
                        failures.append(IndexFailure(path: path, reason: Self.reason(error, path: path)))
                    }
                }
                if !images.isEmpty {
                    let s = try reranker.itmScores(images: images, text: text)
                    guard s.count == images.count else {
                        throw ImageIndexError.badRerankScores(expected: images.count, got: s.count)
                    }
                    for (slot, value) in zip(slots, s) { itm[slot] = value }
                }
                start = end
                progress?(start, head)
            }
        }
        let order = rerankOrder(itc: itc, itm: itm)
        let hits = order.prefix(topK).enumerated().map { rank, i in
            ImageHit(rank: rank + 1, path: matrix.paths[candidates[i]], itc: itc[i], itm: itm[i])
        }
        return SearchResults(hits: hits, failures: failures)
    }

    /// The `topK` indexed images most similar to `image` by ITC cosine of the image embeddings.
    public func search(image: RGBImage, embedder: any ImageEmbedder, topK: Int = 10) throws -> [ImageHit] {
        try validateSearch(topK: topK, rerank: 0, reranker: nil)
        let matrix = try matrix(for: embedder)
        if matrix.rows == 0 { return [] }
        let query = try Self.validated(embedder.embed(images: [image]), count: 1, embedder: embedder, images: true)[0]
        // The cosine of the concatenated vectors: for BLIP-2, the mean of the 32 per-query cosines.
        let scale = 1 / Float(embedder.vectorsPerImage)
        let scores = Ranking.dotProducts(matrix: matrix.values, rows: matrix.rows, query: query).map { $0 * scale }
        return Ranking.topIndices(scores, k: topK).enumerated().map { rank, i in
            ImageHit(rank: rank + 1, path: matrix.paths[i], itc: scores[i], itm: nil)
        }
    }

    /// Ranks a list of texts (captions, labels...) by how well they describe `image`: ITC cosine, then
    /// optionally ITM re-ranking of the best `rerank` texts (score `itc + itm`), as for image search.
    /// Needs no index. Texts are embedded `textBatch` at a time.
    public static func rankTexts(_ texts: [String], image: RGBImage, embedder: any ImageEmbedder, topK: Int = 10,
                                 rerank: Int = 0, reranker: (any ImageTextReranker)? = nil,
                                 textBatch: Int = 64) throws -> [TextHit] {
        try validateSearch(topK: topK, rerank: rerank, reranker: reranker)
        if texts.isEmpty { return [] }
        let imageVector = try validated(embedder.embed(images: [image]), count: 1, embedder: embedder, images: true)[0]
        var matrix: [Float] = []
        matrix.reserveCapacity(texts.count * embedder.dimension)
        var start = 0
        while start < texts.count {
            let chunk = Array(texts[start..<min(start + max(textBatch, 1), texts.count)])
            for v in try validated(embedder.embed(texts: chunk), count: chunk.count, embedder: embedder, images: false) {
                matrix.append(contentsOf: v)
            }
            start += chunk.count
        }
        let d = embedder.dimension
        let scores = stride(from: 0, to: imageVector.count, by: d).reduce(into: [Float](repeating: -.infinity, count: texts.count)) { best, start in
            let s = Ranking.dotProducts(matrix: matrix, rows: texts.count, query: Array(imageVector[start..<(start + d)]))
            for i in best.indices { best[i] = max(best[i], s[i]) }
        }
        let candidates = Ranking.topIndices(scores, k: max(topK, rerank))
        let itc = candidates.map { scores[$0] }
        var itm = [Float?](repeating: nil, count: candidates.count)
        if let reranker, rerank > 0 {
            let head = Array(candidates.prefix(rerank))
            let s = try reranker.itmScores(image: image, texts: head.map { texts[$0] })
            guard s.count == head.count else { throw ImageIndexError.badRerankScores(expected: head.count, got: s.count) }
            for (slot, value) in s.enumerated() { itm[slot] = value }
        }
        let order = rerankOrder(itc: itc, itm: itm)
        return order.prefix(topK).enumerated().map { rank, i in
            TextHit(rank: rank + 1, index: candidates[i], text: texts[candidates[i]], itc: itc[i], itm: itm[i])
        }
    }
}
