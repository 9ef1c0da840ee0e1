import Foundation

/// One NLVR2 verdict: whether the sentence is true of the image pair.
public struct NLVRVerdict: Sendable, Equatable {
    /// softmax(logits)[1] > 0.5: the sentence holds for the pair.
    public var isTrue: Bool { probabilityTrue > 0.5 }
    /// softmax of the [false, true] logits, class 1.
    public var probabilityTrue: Float
    public var logits: [Float]
}

/// NLVR2 from an official checkpoint: image processor (the checkpoint's size, BLIP's bicubic
/// resize and CLIP normalisation, as official `nlvr` transforms), BERT tokenizer (`[ENC]` first,
/// padded to the longest, as LAVIS's `BlipNLVR.forward`) and `BlipForNLVR`.
public struct BlipNLVRClassifier: Sendable {
    public let model: BlipForNLVR
    public let tokenizer: BertTokenizer
    public let imageProcessor: ImageProcessor

    /// `checkpoint`: an official NLVR2 `.pth` (`model_base_nlvr.pth`); `tokenizerDirectory`: the
    /// BLIP tokenizer files (any transformers BLIP directory: bert-base-uncased with `[DEC]`, `[ENC]`).
    public init(checkpoint url: URL, tokenizerDirectory: URL, config: BlipConfig? = nil, imageSize: Int? = nil,
                precision: Precision = .fp32, compute: ComputeSettings = .automatic) throws {
        let checkpoint = try OfficialBlipCheckpoint(url: url, task: .nlvr, imageSize: imageSize, config: config)
        model = try BlipForNLVR(config: checkpoint.config, weights: checkpoint.weights, precision: precision, compute: compute)
        tokenizer = try BertTokenizer(directory: tokenizerDirectory)
        guard tokenizer.encTokenId != nil else {
            throw BlipModelError.unsupportedModel("the tokenizer in \(tokenizerDirectory.path) has no [ENC] token, which NLVR2 puts first")
        }
        guard tokenizer.count <= checkpoint.config.textConfig.vocabSize else {
            throw BlipModelError.unsupportedModel("the tokenizer in \(tokenizerDirectory.path) has \(tokenizer.count) tokens, "
                + "the checkpoint's text encoder \(checkpoint.config.textConfig.vocabSize)")
        }
        let side = checkpoint.config.visionConfig.imageSize
        imageProcessor = ImageProcessor(size: .fixed(height: side, width: side))
    }

    /// The ids the model sees for `sentence`: the tokenizer's, `[ENC]` in place of `[CLS]`.
    public func inputIds(_ sentence: String) -> [Int] {
        var ids = tokenizer.encode(sentence)
        if let enc = tokenizer.encTokenId, !ids.isEmpty { ids[0] = enc }
        return ids
    }

    /// Whether `sentence` is true of the pair (`left`, `right`).
    public func classify(left: RGBImage, right: RGBImage, sentence: String) throws -> NLVRVerdict {
        let ids = inputIds(sentence)
        let logits = try model.logits(left: imageProcessor.batch([left]), right: imageProcessor.batch([right]),
                                      ids: [ids], attentionMask: [ids.map { _ in 1 }])[0]
        return NLVRVerdict(probabilityTrue: BlipForImageTextRetrieval.matchProbability(logits), logits: logits)
    }
}
