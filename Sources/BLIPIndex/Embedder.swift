import BLIP
import Foundation

/// What the index needs from an image-text retrieval model: BLIP's ITC (image-text contrastive) embeddings.
///
/// `BlipImageTextMatcher` (BLIP module) is adapted to this protocol by the `blip` CLI; tests use a fake.
public protocol ImageEmbedder: Sendable {
    /// Names the model (e.g. "Salesforce/blip-itm-base-coco"). Stored in the index: an index built with one
    /// model refuses to be extended or searched with another.
    var modelIdentifier: String { get }
    /// Identifiers an older version of this program stored for the same model (e.g. its name):
    /// an index holding one of them is accepted, and `add` rewrites it to `modelIdentifier`.
    /// Default: none.
    var legacyIdentifiers: [String] { get }
    /// Length of every ITC vector (256 for BLIP's and BLIP-2's projections).
    var dimension: Int { get }
    /// ITC vectors per image: 1 for BLIP, one per Q-Former query (32) for BLIP-2, whose image-text
    /// score is the best query's cosine. Default: 1.
    var vectorsPerImage: Int { get }
    /// One embedding per image, in order: `vectorsPerImage` L2-normalised vectors of length
    /// `dimension`, concatenated.
    func embed(images: [RGBImage]) throws -> [[Float]]
    /// One L2-normalised embedding of length `dimension` per text, in order.
    func embed(texts: [String]) throws -> [[Float]]
    /// The embedding of a video from its sampled frames (`imageVectorLength` floats). Default:
    /// an error (the model embeds images only).
    func embed(videoFrames: [RGBImage]) throws -> [Float]
}

/// What the index embeds for one file: an image, or a video's sampled frames.
enum IndexMedia: Sendable {
    case image(RGBImage)
    case video([RGBImage])

    /// Frames sampled from a video, as official BLIP's zero-shot video retrieval does.
    static let videoFrames = 8

    /// The image (or the video's first frame).
    var first: RGBImage? {
        switch self {
        case .image(let image): return image
        case .video(let frames): return frames.first
        }
    }
    var width: Int { first?.width ?? 0 }
    var height: Int { first?.height ?? 0 }
}

/// Optional second stage: BLIP's ITM (image-text matching) head re-scores the best ITC candidates.
///
/// Both methods return the ITM *match probability* (softmax of the ITM head's two logits, class 1, in [0, 1]),
/// which is what the match API gives. The final score of a re-ranked hit is `itm + itc`, as in BLIP's
/// official retrieval evaluation (`score_matrix[i, topk] = itm + topk_sim`); note that the official code adds
/// the raw class-1 *logit* rather than the probability, so orderings can differ slightly from it.
public protocol ImageTextReranker: Sendable {
    /// ITM match probability of `text` with each image, in order.
    func itmScores(images: [RGBImage], text: String) throws -> [Float]
    /// ITM match probability of each text with `image`, in order.
    func itmScores(image: RGBImage, texts: [String]) throws -> [Float]
    /// ITM match probability of `text` with a video's sampled frames (the ITM head over all their
    /// states concatenated, as official zero-shot video retrieval). Default: an error.
    func itmScore(videoFrames: [RGBImage], text: String) throws -> Float
}

extension ImageTextReranker {
    public func itmScore(videoFrames: [RGBImage], text: String) throws -> Float {
        throw ImageIndexError.invalidArgument("this re-ranker does not score videos")
    }
}

extension ImageEmbedder {
    public var legacyIdentifiers: [String] { [] }
    public func embed(videoFrames: [RGBImage]) throws -> [Float] {
        throw ImageIndexError.invalidArgument("model \"\(modelIdentifier)\" does not embed videos")
    }
    public var vectorsPerImage: Int { 1 }
    /// Floats stored per image (`vectorsPerImage × dimension`): the index's `dimension` column.
    public var imageVectorLength: Int { vectorsPerImage * dimension }
}

/// A model that both embeds (ITC) and re-ranks (ITM), as `BlipImageTextMatcher` does.
public typealias ImageTextRetrievalModel = ImageEmbedder & ImageTextReranker

/// Errors of the retrieval index. Each describes itself in one line.
public enum ImageIndexError: Error, LocalizedError, Equatable, Sendable {
    /// The index was built with another model or embedding size.
    case modelMismatch(indexPath: String, indexModel: String, indexDimension: Int, model: String, dimension: Int)
    /// The index file does not exist (search, info and prune never create one).
    case indexNotFound(String)
    /// The file exists but is not a SQLite database holding an index.
    case notAnIndex(path: String, detail: String)
    /// The embedder broke its contract (wrong count or length of vectors).
    case badEmbeddings(model: String, detail: String)
    /// A search argument is out of range.
    case invalidArgument(String)
    /// The reranker returned the wrong number of scores.
    case badRerankScores(expected: Int, got: Int)

    public var errorDescription: String? {
        switch self {
        case let .modelMismatch(path, indexModel, indexDimension, model, dimension):
            return "\(path): the index was built with model \"\(indexModel)\" (\(indexDimension)-d embeddings); "
                + "it cannot be used with \"\(model)\" (\(dimension)-d). Use another index file."
        case let .indexNotFound(path):
            return "\(path): no such index (create one with `blip index add`)"
        case let .notAnIndex(path, detail):
            return "\(path): not a BLIP index: \(detail)"
        case let .badEmbeddings(model, detail):
            return "model \"\(model)\" returned unusable embeddings: \(detail)"
        case let .invalidArgument(message):
            return message
        case let .badRerankScores(expected, got):
            return "the re-ranker returned \(got) scores for \(expected) pairs"
        }
    }
}
