import BLIP
import BLIPIndex
import Foundation

/// `BlipImageTextMatcher` seen through the index's protocols: ITC embeddings for `ImageEmbedder`, ITM match
/// probabilities for `ImageTextReranker`.
struct BlipIndexModel: ImageTextRetrievalModel {
    let matcher: BlipImageTextMatcher
    let mode: ITMInputMode
    /// The model's weights fingerprint (`ModelFingerprint`): the same weights anywhere are one model.
    let fingerprint: String

    var modelIdentifier: String { fingerprint }
    /// What indexes written before fingerprints stored: `_name_or_path`, else the directory name.
    var legacyIdentifiers: [String] { [matcher.modelIdentifier] }
    var dimension: Int { matcher.embeddingSize }

    func embed(images: [RGBImage]) throws -> [[Float]] { try matcher.imageEmbeddings(images) }

    func embed(texts: [String]) throws -> [[Float]] { try matcher.textEmbeddings(texts) }

    func itmScores(images: [RGBImage], text: String) throws -> [Float] {
        // The vision encoder runs again here: encodings (≈ 42 MB each for BLIP-base) are not stored.
        try matcher.itmProbabilities(images: matcher.encode(images), text: text, mode: mode)
    }

    func itmScores(image: RGBImage, texts: [String]) throws -> [Float] {
        try matcher.match(matcher.encode(image), texts: texts, mode: mode).map(\.itmProbability)
    }
}

/// The model behind `blip index`: a BLIP image-text retrieval checkpoint (e.g. Salesforce/blip-itm-base-coco).
func makeIndexModel(modelDirectory: URL, itmMode: IndexITMMode, precision: Precision = .fp32,
                    compute: ComputeSettings = .automatic) throws -> any ImageTextRetrievalModel {
    let mode: ITMInputMode = itmMode == .official ? .official : .transformers
    return BlipIndexModel(matcher: try BlipImageTextMatcher(modelDirectory: modelDirectory, precision: precision, compute: compute), mode: mode,
                          fingerprint: try ModelFingerprint.of(directory: modelDirectory))
}
