import Foundation

/// How well one text matches one image.
public struct ImageTextMatch: Sendable, Equatable {
    /// softmax(itm_head(…))[1]: the image-grounded text encoder's probability that the text
    /// describes the image (transformers `use_itm_head=True`, after softmax).
    public var itmProbability: Float
    /// Cosine of the unit ITC image and text vectors (transformers `use_itm_head=False`).
    public var itcCosine: Float
    /// The two ITM logits [no match, match] the probability comes from.
    public var itmLogits: [Float]

    public init(itmProbability: Float, itcCosine: Float, itmLogits: [Float]) {
        self.itmProbability = itmProbability
        self.itcCosine = itcCosine
        self.itmLogits = itmLogits
    }
}

/// Image-text matching and retrieval embeddings from a model directory: image pipeline,
/// tokenizer and `BlipForImageTextRetrieval` together.
///
/// ```swift
/// let matcher = try BlipImageTextMatcher(modelDirectory: URL(fileURLWithPath: "blip-itm-base-coco"))
/// let image = try matcher.encode(RGBImage(contentsOf: imageURL))  // vision encoder once
/// for m in try matcher.match(image, texts: ["a dog", "a cat"]) { print(m.itmProbability, m.itcCosine) }
/// ```
/// For search, index `imageEmbeddings` / `textEmbeddings` (unit vectors: the dot product is the
/// ITC cosine) and re-rank the best candidates with `itmProbabilities`.
///
/// Immutable and `Sendable`: share one matcher between threads or requests.
public struct BlipImageTextMatcher: Sendable {
    public let model: BlipForImageTextRetrieval
    public let tokenizer: BertTokenizer
    public let imageProcessor: ImageProcessor
    /// `_name_or_path` from config.json when present, otherwise the directory's name.
    public let modelIdentifier: String

    /// Images through the vision encoder together (memory grows with the batch).
    public var imageBatchSize = 8
    /// Texts through the text encoder together.
    public var textBatchSize = 64
    /// Images whose cross-attention keys and values are held at once when one text is matched
    /// against several images (≈ 42 MB per image for BLIP-base).
    public var itmImageBatchSize = 4

    /// Loads `config.json`, the safetensors weights, the tokenizer files and
    /// `preprocessor_config.json` (BLIP's defaults when absent).
    /// `precision` chooses how Linear weights are kept: `.fp32` (exact, the default), `.bf16` or
    /// `.int8` (faster and smaller; see the README's "Precision").
    public init(modelDirectory: URL, precision: Precision = .fp32, compute: ComputeSettings = .automatic) throws {
        model = try BlipForImageTextRetrieval(directory: modelDirectory, precision: precision, compute: compute)
        tokenizer = try BertTokenizer(directory: modelDirectory)
        imageProcessor = try ImageProcessor(modelDirectory: modelDirectory)
        try checkModelFiles(modelDirectory, config: model.config, tokenizer: tokenizer, imageProcessor: imageProcessor)
        modelIdentifier = directoryModelIdentifier(modelDirectory)
    }

    /// Size of the joint ITC space (config `image_text_hidden_size`, 256 for BLIP checkpoints).
    public var embeddingSize: Int { model.embeddingSize }

    // MARK: - Images

    /// Pixel values [N, 3, H, W] for `images` (each resized to the configured size).
    public func pixelValues(_ images: [RGBImage]) throws -> Tensor { try imageProcessor.batch(images) }

    /// Runs the vision encoder once: the result holds the ITC embedding and the states ITM
    /// cross-attends to.
    public func encode(_ image: RGBImage) throws -> BlipImageEncoding {
        try encode([image])[0]
    }

    /// `encode` for several images, batched.
    public func encode(_ images: [RGBImage]) throws -> [BlipImageEncoding] {
        var out = [BlipImageEncoding]()
        out.reserveCapacity(images.count)
        for chunk in chunks(images.count, max(1, imageBatchSize)) {
            out += model.encodeImages(try pixelValues(Array(images[chunk])))
        }
        return out
    }

    /// Unit-length ITC image vectors (`embeddingSize` each), one per image.
    public func imageEmbeddings(_ images: [RGBImage]) throws -> [[Float]] {
        try encode(images).map(\.embedding)
    }

    // MARK: - Texts

    /// Unit-length ITC text vectors (`embeddingSize` each), one per text: the dot product with
    /// an image embedding is the ITC cosine.
    public func textEmbeddings(_ texts: [String]) throws -> [[Float]] {
        var out = [[Float]]()
        out.reserveCapacity(texts.count)
        for chunk in chunks(texts.count, max(1, textBatchSize)) {
            let batch = tokenizer.encodeBatch(Array(texts[chunk]))
            let feats = try model.textFeatures(inputIds: batch.inputIds, attentionMask: batch.attentionMask)
            out += rows(feats)
        }
        return out
    }

    // MARK: - Matching

    /// ITM probability and ITC cosine of every text against one encoded image (texts padded
    /// and run as one batch; the image's cross-attention keys and values are computed once).
    ///
    /// `mode` selects the first ITM token: the tokenizer's [CLS] (transformers, default) or
    /// [ENC] (the official BLIP retrieval evaluation). ITC always uses [CLS].
    public func match(_ image: BlipImageEncoding, texts: [String], mode: ITMInputMode = .transformers) throws -> [ImageTextMatch] {
        try checkEmbedding(image)
        var out = [ImageTextMatch]()
        out.reserveCapacity(texts.count)
        for chunk in chunks(texts.count, max(1, textBatchSize)) {
            let batch = tokenizer.encodeBatch(Array(texts[chunk]))
            let logits = try model.itmLogits(
                [image], inputIds: try itmIds(batch.inputIds, mode: mode), attentionMask: batch.attentionMask)
            let probabilities = BlipForImageTextRetrieval.matchProbabilities(logits)
            let textFeats = rows(try model.textFeatures(inputIds: batch.inputIds, attentionMask: batch.attentionMask))
            let l = rows(logits)
            for k in 0..<textFeats.count {
                out.append(ImageTextMatch(itmProbability: probabilities[k], itcCosine: dot(image.embedding, textFeats[k]),
                                          itmLogits: l[k]))
            }
        }
        return out
    }

    /// The ITM head's logits [no match, match] of every text against one encoded image (no ITC:
    /// the official retrieval evaluation adds the match logit to the ITC cosine it has).
    public func itmLogits(_ image: BlipImageEncoding, texts: [String], mode: ITMInputMode = .transformers) throws -> [[Float]] {
        try checkEmbedding(image)
        var out: [[Float]] = []
        out.reserveCapacity(texts.count)
        for chunk in chunks(texts.count, max(1, textBatchSize)) {
            let batch = tokenizer.encodeBatch(Array(texts[chunk]))
            out += rows(try model.itmLogits([image], inputIds: try itmIds(batch.inputIds, mode: mode), attentionMask: batch.attentionMask))
        }
        return out
    }

    /// ITM probability of one text against each image, in the order given (re-ranking the
    /// candidates of a contrastive search).
    public func itmProbabilities(images: [BlipImageEncoding], text: String, mode: ITMInputMode = .transformers) throws -> [Float] {
        guard !images.isEmpty else { return [] }
        let ids = try itmIds([tokenizer.encode(text)], mode: mode)
        var out = [Float]()
        out.reserveCapacity(images.count)
        for chunk in chunks(images.count, max(1, itmImageBatchSize)) {
            let logits = try model.itmLogits(Array(images[chunk]), inputIds: ids)
            out += BlipForImageTextRetrieval.matchProbabilities(logits)
        }
        return out
    }

    // MARK: - Helpers

    private func itmIds(_ ids: [[Int]], mode: ITMInputMode) throws -> [[Int]] {
        guard mode == .official else { return ids }
        guard let enc = tokenizer.encTokenId else {
            throw BlipModelError.invalidInput("the tokenizer has no [ENC] token, needed for official ITM input")
        }
        return model.itmInputIds(ids, mode: mode, encTokenId: enc)
    }

    private func checkEmbedding(_ image: BlipImageEncoding) throws {
        guard image.embedding.count == embeddingSize else {
            throw BlipModelError.invalidInput(
                "image encoding has a \(image.embedding.count)-float embedding, the model's is \(embeddingSize)")
        }
    }
}

/// Index ranges of at most `size` (at least 1) covering 0..<count.
func chunks(_ count: Int, _ size: Int) -> [Range<Int>] {
    let size = max(1, size)
    return stride(from: 0, to: count, by: size).map { $0..<min($0 + size, count) }
}

/// The rows of a [B, D] tensor.
private func rows(_ x: Tensor) -> [[Float]] {
    let c = x.contiguous()
    let d = c.shape[1]
    return (0..<c.shape[0]).map { Array(UnsafeBufferPointer(start: c.pointer + $0 * d, count: d)) }
}

private func dot(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
}
