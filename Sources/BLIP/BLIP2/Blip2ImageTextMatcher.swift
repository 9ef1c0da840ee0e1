import Foundation

/// BLIP-2 image-text matching and retrieval embeddings from a model directory
/// (`Salesforce/blip2-itm-vit-g`): image processor, BERT tokenizer and
/// `Blip2ForImageTextRetrieval` together, as transformers' `Blip2Processor` + the model's
/// `use_image_text_matching_head=True` (ITM) and `False` (ITC) forwards compute them.
///
/// The processor's `<image>` tokens (when `image_token_index` is set) are stripped again by the
/// model before the Q-Former, so the text goes in as the tokenizer gives it: `[CLS] … [SEP]`.
/// ITC keeps one unit vector per query (`vectorsPerImage` = `num_query_tokens`); the score with a
/// text is the best query's cosine, as the model's `logits_per_image`.
///
/// ```swift
/// let matcher = try Blip2ImageTextMatcher(modelDirectory: URL(fileURLWithPath: "blip2-itm-vit-g"))
/// for m in try matcher.match(image, texts: ["a dog", "a cat"]) { print(m.itmProbability, m.itcCosine) }
/// ```
public struct Blip2ImageTextMatcher: ImageTextMatching {
    public let model: Blip2ForImageTextRetrieval
    public let tokenizer: BertTokenizer
    public let imageProcessor: ImageProcessor
    public let modelIdentifier: String
    public var imageBatchSize = 8
    public var textBatchSize = 64

    /// Loads config.json, the safetensors weights, the BERT tokenizer files and the image
    /// processor's configuration.
    public init(modelDirectory: URL, precision: Precision = .fp32, compute: ComputeSettings = .automatic) throws {
        model = try Blip2ForImageTextRetrieval(directory: modelDirectory, precision: precision, compute: compute)
        tokenizer = try BertTokenizer(directory: modelDirectory)
        imageProcessor = try ImageProcessor(modelDirectory: modelDirectory)
        try imageProcessor.checkCompatible(with: model.config.visionConfig,
                                           source: modelDirectory.appendingPathComponent("preprocessor_config.json").path)
        // No tokenizer-size check: the processor's `<image>` token lies past the Q-Former's
        // vocabulary (the model strips it); an id outside it is an error when the text is encoded.
        modelIdentifier = directoryModelIdentifier(modelDirectory)
    }

    public var embeddingSize: Int { model.config.imageTextHiddenSize }
    public var vectorsPerImage: Int { model.config.numQueryTokens }
    public var precision: Precision { model.precision }
    public var compute: ComputeSettings { model.compute }

    /// The vision encoder's states [N, Np, Cv] of `images` (each resized to the configured size).
    public func imageStates(_ images: [RGBImage]) throws -> Tensor {
        try model.imageStates(pixelValues: imageProcessor.batch(images))
    }

    public func imageEmbeddings(_ images: [RGBImage]) throws -> [[Float]] {
        var out = [[Float]]()
        out.reserveCapacity(images.count)
        for chunk in chunks(images.count, imageBatchSize) {
            out += try model.imageFeatures(imageStates: imageStates(Array(images[chunk]))).map { $0.flatMap { $0 } }
        }
        return out
    }

    public func textEmbeddings(_ texts: [String]) throws -> [[Float]] {
        var out = [[Float]]()
        out.reserveCapacity(texts.count)
        for chunk in chunks(texts.count, textBatchSize) {
            let batch = try encodeTexts(Array(texts[chunk]))
            out += try model.textFeatures(ids: batch.inputIds, attentionMask: batch.attentionMask)
        }
        return out
    }

    public func match(images: [RGBImage], texts: [[String]], mode: ITMInputMode) throws -> [[ImageTextMatch]] {
        guard images.count == texts.count else { throw BlipModelError.invalidInput("one list of texts per image") }
        guard mode == .transformers else {
            throw BlipModelError.invalidInput("BLIP-2 has no [ENC] token: ITM input is the tokenizer's [CLS] … [SEP] only")
        }
        var out = [[ImageTextMatch]]()
        for chunk in chunks(images.count, imageBatchSize) {
            let states = try imageStates(Array(images[chunk]))  // [B, Np, Cv]
            let features = try model.imageFeatures(imageStates: states)  // [B][Q][D]
            for (row, i) in chunk.enumerated() {
                let image = states.slice(0, row..<(row + 1)).contiguous()  // [1, Np, Cv]
                var matches = [ImageTextMatch]()
                for textChunk in chunks(texts[i].count, textBatchSize) {
                    let batch = try encodeTexts(Array(texts[i][textChunk]))
                    let logits = try model.itmLogits(imageStates: repeated(image, batch.inputIds.count),
                                                     ids: batch.inputIds, attentionMask: batch.attentionMask)
                    let textFeatures = try model.textFeatures(ids: batch.inputIds, attentionMask: batch.attentionMask)
                    let itc = model.itcScores(imageFeatures: [features[row]], textFeatures: textFeatures)[0]
                    for k in logits.indices {
                        matches.append(ImageTextMatch(itmProbability: BlipForImageTextRetrieval.matchProbability(logits[k]),
                                                      itcCosine: itc[k], itmLogits: logits[k]))
                    }
                }
                out.append(matches)
            }
        }
        return out
    }

    public func itmProbabilities(images: [RGBImage], text: String, mode: ITMInputMode) throws -> [Float] {
        guard mode == .transformers else {
            throw BlipModelError.invalidInput("BLIP-2 has no [ENC] token: ITM input is the tokenizer's [CLS] … [SEP] only")
        }
        let batch = try encodeTexts([text])
        var out = [Float]()
        for chunk in chunks(images.count, imageBatchSize) {
            let logits = try model.itmLogits(imageStates: imageStates(Array(images[chunk])),
                                             ids: Array(repeating: batch.inputIds[0], count: chunk.count),
                                             attentionMask: Array(repeating: batch.attentionMask[0], count: chunk.count))
            out += logits.map(BlipForImageTextRetrieval.matchProbability)
        }
        return out
    }

    /// Padded ids and masks of `texts`, at most the Q-Former's position count long.
    private func encodeTexts(_ texts: [String]) throws -> (inputIds: [[Int]], attentionMask: [[Int]]) {
        let batch = tokenizer.encodeBatch(texts, maxLength: model.config.qformerConfig.maxPositionEmbeddings)
        return (batch.inputIds, batch.attentionMask)
    }
}

/// `image` [1, N, C] repeated `count` times: [count, N, C].
private func repeated(_ image: Tensor, _ count: Int) -> Tensor {
    let n = image.shape[1] * image.shape[2]
    let out = Tensor(uninitializedShape: [count, image.shape[1], image.shape[2]])
    for i in 0..<count { (out.mutablePointer + i * n).update(from: image.pointer, count: n) }
    return out
}
