import BLIP
import Foundation

/// An image-text matcher (BLIP's `BlipImageTextMatcher` or BLIP-2's `Blip2ImageTextMatcher`) seen
/// through the index's protocols: ITC embeddings for `ImageEmbedder`, ITM match probabilities for
/// `ImageTextReranker`. What `blip index` and `blip serve --index` search with.
public struct BlipIndexModel: ImageTextRetrievalModel {
    public let matcher: any ImageTextMatching
    /// Which first token the ITM head sees when re-ranking.
    public let mode: ITMInputMode
    /// The model's weights fingerprint (`ModelFingerprint`): the same weights anywhere are one model.
    public let fingerprint: String

    /// Wraps a loaded matcher; `modelDirectory` is where its weights are (for the fingerprint).
    public init(matcher: any ImageTextMatching, modelDirectory: URL, mode: ITMInputMode = .transformers) throws {
        self.matcher = matcher
        self.mode = mode
        self.fingerprint = try ModelFingerprint.of(directory: modelDirectory)
    }

    /// Loads an image-text retrieval checkpoint (e.g. Salesforce/blip-itm-base-coco, Salesforce/blip2-itm-vit-g).
    public init(modelDirectory: URL, mode: ITMInputMode = .transformers, precision: Precision = .fp32,
                compute: ComputeSettings = .automatic) throws {
        try self.init(matcher: loadImageTextMatcher(modelDirectory: modelDirectory, precision: precision, compute: compute),
                      modelDirectory: modelDirectory, mode: mode)
    }

    public var modelIdentifier: String { fingerprint }
    /// What indexes written before fingerprints stored: `_name_or_path`, else the directory name.
    public var legacyIdentifiers: [String] { [matcher.modelIdentifier] }
    public var dimension: Int { matcher.embeddingSize }
    public var vectorsPerImage: Int { matcher.vectorsPerImage }

    public func embed(images: [RGBImage]) throws -> [[Float]] { try matcher.imageEmbeddings(images) }

    public func embed(texts: [String]) throws -> [[Float]] { try matcher.textEmbeddings(texts) }

    /// A BLIP model's video embedding: the normalised mean of the frames' projected [CLS], as
    /// official zero-shot video retrieval computes its ITC vector.
    public func embed(videoFrames: [RGBImage]) throws -> [Float] {
        guard let blip = matcher as? BlipImageTextMatcher else {
            throw ImageIndexError.invalidArgument("videos need a BLIP retrieval model (BLIP-2 video embeddings are not supported)")
        }
        return try blip.encodeVideo(videoFrames).embedding
    }

    public func itmScores(images: [RGBImage], text: String) throws -> [Float] {
        // The vision encoder runs again here: encodings (≈ 42 MB each for BLIP-base) are not stored.
        try matcher.itmProbabilities(images: images, text: text, mode: mode)
    }

    public func itmScores(image: RGBImage, texts: [String]) throws -> [Float] {
        try matcher.match(image, texts: texts, mode: mode).map(\.itmProbability)
    }

    public func itmScore(videoFrames: [RGBImage], text: String) throws -> Float {
        guard let blip = matcher as? BlipImageTextMatcher else {
            throw ImageIndexError.invalidArgument("videos need a BLIP retrieval model (BLIP-2 video matching is not supported)")
        }
        return BlipForImageTextRetrieval.matchProbability(try blip.itmLogits(blip.encodeVideo(videoFrames), texts: [text], mode: mode)[0])
    }
}
