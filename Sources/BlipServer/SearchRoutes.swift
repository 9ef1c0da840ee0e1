import BLIP
import Foundation
import Hummingbird

/// One image found by `/search`.
public struct SearchHit: Sendable, Equatable {
    /// 1-based.
    public var rank: Int
    /// The image's absolute path, as indexed.
    public var path: String
    /// ITC cosine with the query.
    public var itc: Double
    /// ITM match probability (re-ranked text queries only).
    public var itm: Double?

    public init(rank: Int, path: String, itc: Double, itm: Double? = nil) {
        self.rank = rank
        self.path = path
        self.itc = itc
        self.itm = itm
    }
}

/// Hits best first, and the re-rank candidates whose image could not be read again.
public struct SearchResponse: Sendable, Equatable {
    public var hits: [SearchHit]
    public var failures: [String]

    public init(hits: [SearchHit], failures: [String]) {
        self.hits = hits
        self.failures = failures
    }
}

/// Search over an image index (`blip serve --index`), run on the matching model's thread.
public protocol ImageSearchService: Sendable {
    /// The index file, as `/info` shows it.
    var indexPath: String { get }
    func imageCount() throws -> Int
    /// The `topK` images best described by `text`; `rerank` > 0 re-scores the best K with ITM.
    func search(text: String, topK: Int, rerank: Int) throws -> SearchResponse
    /// The `topK` images most like `image`.
    func search(image: RGBImage, topK: Int) throws -> SearchResponse
    /// Whether `path` is an indexed image (only those are served as thumbnails).
    func contains(path: String) throws -> Bool
}

/// `POST /search` JSON body: a text or an image (base64), how many hits, optional ITM re-ranking.
struct SearchRequest: Decodable {
    var text: String?
    var image: String?
    var topK: Int?
    var rerank: Int?

    enum CodingKeys: String, CodingKey, CaseIterable { case text, image, topK = "top_k", rerank }

    init(from decoder: Decoder) throws {
        try rejectUnknownFields(decoder, known: CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        text = try c.decodeIfPresent(String.self, forKey: .text)
        image = try c.decodeIfPresent(String.self, forKey: .image)
        topK = try c.decodeIfPresent(Int.self, forKey: .topK)
        rerank = try c.decodeIfPresent(Int.self, forKey: .rerank)
    }
}

/// Longest side of a thumbnail at most (`GET /thumbnail?size=`).
let maxThumbnailSide = 512
/// Hits one `/search` returns at most.
let maxSearchResults = 100
/// Images one `/search` re-ranks at most (each is read and encoded again).
let maxSearchRerank = 64

extension BlipServer {
    /// `POST /search`: `{"hits": [{"rank", "path", "itc", "itm"?, "thumbnail"}], "images", "failures"?,
    /// "inference_time_ms"}`; `thumbnail` is the hit's `GET /thumbnail` URL.
    func search(_ request: Request) async throws -> Response {
        guard let service = services.search, let thread = searchThread else {
            throw APIError(.notFound, "index_not_loaded", "no image index is loaded (start the server with --index FILE)")
        }
        let body = try await readBody(request)
        let started = ContinuousClock.now
        let payload = try decodeJSONBody(SearchRequest.self, from: body)
        let topK = payload.topK ?? 12
        let rerank = payload.rerank ?? 0
        guard (1...maxSearchResults).contains(topK) else {
            throw APIError.unprocessable("top_k must be between 1 and \(maxSearchResults), got \(topK)", type: "invalid_parameter")
        }
        guard (0...maxSearchRerank).contains(rerank) else {
            throw APIError.unprocessable("rerank must be between 0 and \(maxSearchRerank), got \(rerank)", type: "invalid_parameter")
        }
        let (response, count): (SearchResponse, Int)
        switch (payload.text, payload.image) {
        case let (text?, nil):
            let query = try checkText(text, field: "text", limits: limits)
            (response, count) = try await thread.run { (try service.search(text: query, topK: topK, rerank: rerank), try service.imageCount()) }
        case let (nil, image?):
            if rerank > 0 { throw APIError.unprocessable("rerank applies to text queries only", type: "invalid_parameter") }
            let decoded = try await decodeImage(base64: image, field: "image")
            (response, count) = try await thread.run { (try service.search(image: decoded, topK: topK), try service.imageCount()) }
        default:
            throw APIError.unprocessable("give exactly one of \"text\" or \"image\" (base64)", type: "missing_field")
        }
        var object: [String: Any] = [
            "hits": response.hits.map { hit -> [String: Any] in
                var h: [String: Any] = ["rank": hit.rank, "path": hit.path, "itc": hit.itc, "thumbnail": thumbnailURL(hit.path)]
                if let itm = hit.itm { h["itm"] = itm }
                return h
            },
            "images": count, "inference_time_ms": milliseconds(since: started),
        ]
        if !response.failures.isEmpty { object["failures"] = response.failures }
        return jsonResponse(object)
    }

    func thumbnailURL(_ path: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~/")
        return "/thumbnail?path=" + (path.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")
    }

    /// `GET /thumbnail?path=P&size=S`: a JPEG of the indexed image P fitting S×S (default 256, at
    /// most 512). Only paths the index holds are served (404 otherwise).
    func thumbnail(_ request: Request) async throws -> Response {
        guard let service = services.search else {
            throw APIError(.notFound, "index_not_loaded", "no image index is loaded (start the server with --index FILE)")
        }
        guard let path = request.uri.queryParameters.get("path"), !path.isEmpty else {
            throw APIError.unprocessable("give the image as ?path=", type: "missing_field")
        }
        let sizeText = request.uri.queryParameters.get("size") ?? "256"
        guard let size = Int(sizeText), (16...maxThumbnailSide).contains(size) else {
            throw APIError.unprocessable("size must be between 16 and \(maxThumbnailSide)", type: "invalid_parameter")
        }
        guard try service.contains(path: path) else {
            throw APIError(.notFound, "not_indexed", "\(path) is not an image of the index")
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe)
        } catch {
            throw APIError(.notFound, "image_gone", "\(path) cannot be read any more (run `blip index prune`)")
        }
        let image = try await decodeWithinBudget(data, source: path)
        let jpeg = try await decoder.run { try image.thumbnail(maxSide: size).jpegData(quality: 85) }
        return Response(status: .ok, headers: [.contentType: "image/jpeg", .cacheControl: "max-age=300"],
                        body: .init(byteBuffer: ByteBuffer(bytes: jpeg)))
    }
}
