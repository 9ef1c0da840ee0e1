import BLIP
import BLIPIndex
import Foundation

/// `ImageSearchService` over a `blip index` file, searched with the model it was built with.
public struct IndexSearchService: ImageSearchService {
    public let index: ImageIndex
    public let model: any ImageTextRetrievalModel
    /// Largest image (pixels) read again for re-ranking or a thumbnail.
    public let maxPixels: Int

    /// Opens the index at `path` (never creates one) and checks it was built with `model`.
    public init(indexPath: String, model: any ImageTextRetrievalModel, maxPixels: Int = RGBImage.defaultMaxPixels) throws {
        index = try ImageIndex(path: indexPath, create: false)
        try index.checkCompatible(with: model)
        self.model = model
        self.maxPixels = maxPixels
    }

    public var indexPath: String { index.path }

    public func imageCount() throws -> Int { try index.info().imageCount }

    public func search(text: String, topK: Int, rerank: Int) throws -> SearchResponse {
        let results = try index.search(text: text, embedder: model, topK: topK, rerank: rerank,
                                       reranker: rerank > 0 ? model : nil, maxPixels: maxPixels)
        return SearchResponse(hits: results.hits.map(SearchHit.init), failures: results.failures.map(\.description))
    }

    public func search(image: RGBImage, topK: Int) throws -> SearchResponse {
        SearchResponse(hits: try index.search(image: image, embedder: model, topK: topK).map(SearchHit.init), failures: [])
    }

    public func contains(path: String) throws -> Bool { try index.contains(path: path) }
}

extension SearchHit {
    init(_ hit: ImageHit) {
        self.init(rank: hit.rank, path: hit.path, itc: Double(shortest: hit.itc), itm: hit.itm.map { Double(shortest: $0) })
    }
}
