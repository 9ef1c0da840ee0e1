import Foundation

/// Image-text matching and retrieval embeddings, whatever the model family: BLIP's
/// `BlipImageTextMatcher` (one ITC vector per image) and BLIP-2's `Blip2ImageTextMatcher` (one per
/// Q-Former query; the ITC score is the best query's cosine). What `blip match`, `blip embed`,
/// `blip index` and the server's match and search routes use; ``loadImageTextMatcher(modelDirectory:precision:compute:)``
/// picks the family from config.json.
public protocol ImageTextMatching: Sendable {
    /// `_name_or_path` from config.json when present, otherwise the directory's name.
    var modelIdentifier: String { get }
    /// Length of one ITC vector (config `image_text_hidden_size`: 256 for BLIP and BLIP-2).
    var embeddingSize: Int { get }
    /// ITC vectors per image: 1 for BLIP, `num_query_tokens` (32) for BLIP-2.
    var vectorsPerImage: Int { get }
    /// How the Linear weights are kept.
    var precision: Precision { get }
    /// The threads the model runs on.
    var compute: ComputeSettings { get }
    /// Images through the vision encoder together.
    var imageBatchSize: Int { get set }
    /// Texts through the text encoder together.
    var textBatchSize: Int { get set }

    /// Per image, `vectorsPerImage` unit ITC vectors of `embeddingSize` floats, concatenated: the
    /// ITC score with a text is the largest dot product of one of them with the text's vector.
    func imageEmbeddings(_ images: [RGBImage]) throws -> [[Float]]
    /// One unit ITC vector (`embeddingSize`) per text.
    func textEmbeddings(_ texts: [String]) throws -> [[Float]]
    /// ITM probability and ITC cosine of each image's texts (`texts[i]` against `images[i]`), each
    /// image through the vision encoder once.
    func match(images: [RGBImage], texts: [[String]], mode: ITMInputMode) throws -> [[ImageTextMatch]]
    /// ITM probability of one text against each image, in order (re-ranking search candidates).
    func itmProbabilities(images: [RGBImage], text: String, mode: ITMInputMode) throws -> [Float]
}

extension ImageTextMatching {
    /// ITM probability and ITC cosine of every text against one image.
    public func match(_ image: RGBImage, texts: [String], mode: ITMInputMode = .transformers) throws -> [ImageTextMatch] {
        try match(images: [image], texts: [texts], mode: mode)[0]
    }

    /// The ITC score of an image embedding (``imageEmbeddings(_:)``) with a text embedding: the
    /// best of its `vectorsPerImage` dot products.
    public func itcScore(image: [Float], text: [Float]) -> Float {
        bestDotProduct(image: image, text: text, vectors: vectorsPerImage)
    }
}

/// The best dot product of `text` with one of the `vectors` consecutive vectors of `image`.
public func bestDotProduct(image: [Float], text: [Float], vectors: Int) -> Float {
    let d = text.count
    guard vectors > 0, image.count == vectors * d else { return -.infinity }
    return image.withUnsafeBufferPointer { p in
        (0..<vectors).map { j in (0..<d).reduce(Float(0)) { $0 + p[j * d + $1] * text[$1] } }.max() ?? -.infinity
    }
}

/// Loads the image-text matcher of a model directory: `Blip2ImageTextMatcher` when config.json
/// says `model_type: blip-2`, else `BlipImageTextMatcher`.
public func loadImageTextMatcher(modelDirectory: URL, precision: Precision = .fp32,
                                 compute: ComputeSettings = .automatic) throws -> any ImageTextMatching {
    if Blip2Config.isBlip2(directory: modelDirectory) {
        return try Blip2ImageTextMatcher(modelDirectory: modelDirectory, precision: precision, compute: compute)
    }
    return try BlipImageTextMatcher(modelDirectory: modelDirectory, precision: precision, compute: compute)
}

extension BlipImageTextMatcher: ImageTextMatching {
    public var vectorsPerImage: Int { 1 }
    public var precision: Precision { model.precision }
    public var compute: ComputeSettings { model.compute }

    public func match(images: [RGBImage], texts: [[String]], mode: ITMInputMode) throws -> [[ImageTextMatch]] {
        guard images.count == texts.count else { throw BlipModelError.invalidInput("one list of texts per image") }
        return try zip(try encode(images), texts).map { try match($0, texts: $1, mode: mode) }
    }

    public func itmProbabilities(images: [RGBImage], text: String, mode: ITMInputMode) throws -> [Float] {
        try itmProbabilities(images: encode(images), text: text, mode: mode)
    }
}

/// config.json (or `file`) of a model directory as a JSON object, when it is one.
private func configObject(_ directory: URL, file: String = "config.json") -> [String: Any]? {
    guard let data = try? Data(contentsOf: directory.appendingPathComponent(file)) else { return nil }
    return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
}

/// The model directory's `model_type`, when config.json (or `file`) is readable JSON with one.
func configModelType(_ directory: URL, file: String = "config.json") -> String? {
    configObject(directory, file: file)?["model_type"] as? String
}

/// `_name_or_path` from config.json when present, otherwise the directory's name.
func directoryModelIdentifier(_ directory: URL) -> String {
    if let name = configObject(directory)?["_name_or_path"] as? String, !name.isEmpty { return name }
    return directory.standardizedFileURL.lastPathComponent
}

extension Blip2Config {
    /// Whether the directory's config.json names a BLIP-2 model (`model_type: blip-2`).
    public static func isBlip2(directory: URL) -> Bool { configModelType(directory) == "blip-2" }
}
