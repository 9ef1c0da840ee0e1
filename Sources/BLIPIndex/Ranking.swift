import Foundation

/// Brute-force cosine ranking over a contiguous row-major matrix of normalised embeddings.
public enum Ranking {
    /// `matrix` (rows × dimension, row-major) · `query`: one dot product per row.
    public static func dotProducts(matrix: [Float], rows: Int, query: [Float]) -> [Float] {
        let d = query.count
        precondition(matrix.count == rows * d, "Ranking: matrix has \(matrix.count) values, expected \(rows) × \(d)")
        var out = [Float](repeating: 0, count: rows)
        if rows == 0 { return out }
        matrix.withUnsafeBufferPointer { m in
            query.withUnsafeBufferPointer { q in
                out.withUnsafeMutableBufferPointer { o in
                    let mp = m.baseAddress!, qp = q.baseAddress!
                    let wide = d / 8 * 8
                    for r in 0..<rows {
                        let row = mp + r * d
                        var acc = SIMD8<Float>(repeating: 0)
                        var j = 0
                        while j < wide {
                            let a = UnsafeRawPointer(row + j).loadUnaligned(as: SIMD8<Float>.self)
                            let b = UnsafeRawPointer(qp + j).loadUnaligned(as: SIMD8<Float>.self)
                            acc.addProduct(a, b)
                            j += 8
                        }
                        var s = acc.sum()
                        while j < d {
                            s += row[j] * qp[j]
                            j += 1
                        }
                        o[r] = s
                    }
                }
            }
        }
        return out
    }

    /// Per row of `matrix` (rows × `vectorsPerRow` vectors of `query.count` floats), the largest dot
    /// product of one of its vectors with `query` (BLIP-2's ITC: the best query's cosine).
    public static func bestDotProducts(matrix: [Float], rows: Int, vectorsPerRow: Int, query: [Float]) -> [Float] {
        let all = dotProducts(matrix: matrix, rows: rows * vectorsPerRow, query: query)
        if vectorsPerRow == 1 { return all }
        return (0..<rows).map { r in all[(r * vectorsPerRow)..<((r + 1) * vectorsPerRow)].max() ?? -.infinity }
    }

    /// Indices of the `k` largest scores, best first; ties keep the lower index first (deterministic).
    public static func topIndices(_ scores: [Float], k: Int) -> [Int] {
        let k = min(k, scores.count)
        if k <= 0 { return [] }
        func better(_ a: Int, _ b: Int) -> Bool { scores[a] > scores[b] || (scores[a] == scores[b] && a < b) }
        if k * 8 >= scores.count {
            return Array(scores.indices.sorted(by: better).prefix(k))
        }
        // Bounded selection: keep the best k in a sorted buffer; most rows fail the first comparison.
        var best: [Int] = []
        best.reserveCapacity(k + 1)
        for i in scores.indices {
            if best.count == k, !better(i, best[k - 1]) { continue }
            var lo = 0, hi = best.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if better(best[mid], i) { lo = mid + 1 } else { hi = mid }
            }
            best.insert(i, at: lo)
            if best.count > k { best.removeLast() }
        }
        return best
    }

    /// `v / ‖v‖` (unchanged if the norm is zero).
    public static func normalized(_ v: [Float]) -> [Float] {
        var n: Float = 0
        for x in v { n += x * x }
        n = n.squareRoot()
        return n > 0 ? v.map { $0 / n } : v
    }
}

/// Order of ITC candidates after ITM re-ranking, as BLIP's retrieval evaluation does it: the first
/// `rerank` candidates (by ITC) are scored `itm + itc` and sorted by that; every other candidate keeps its ITC
/// order after them (the official code gives them −100). Candidates whose ITM score is nil (their image could
/// not be read) are treated as not re-ranked.
func rerankOrder(itc: [Float], itm: [Float?]) -> [Int] {
    let reranked = itc.indices.filter { itm[$0] != nil }
    let rest = itc.indices.filter { itm[$0] == nil }
    let sortedReranked = reranked.sorted { a, b in
        let sa = itc[a] + itm[a]!, sb = itc[b] + itm[b]!
        return sa > sb || (sa == sb && a < b)
    }
    return sortedReranked + rest
}
