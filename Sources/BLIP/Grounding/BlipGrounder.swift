import Foundation

/// Visual grounding from an mmpretrain checkpoint (`blip-base_8xb16_refcoco_*.pth`): image
/// processor (the checkpoint's size, BLIP's bicubic resize and CLIP normalisation), BERT
/// tokenizer (padded to the longest, at most 128 tokens, as mmpretrain) and `BlipForGrounding`.
public struct BlipGrounder: Sendable {
    public let model: BlipForGrounding
    public let tokenizer: BertTokenizer
    public let imageProcessor: ImageProcessor

    public init(checkpoint url: URL, tokenizerDirectory: URL, config: BlipConfig? = nil, precision: Precision = .fp32,
                compute: ComputeSettings = .automatic) throws {
        let checkpoint = try OfficialBlipCheckpoint(url: url, task: .grounding, config: config)
        tokenizer = try BertTokenizer(directory: tokenizerDirectory)
        // The special ids are the tokenizer's (the config from shapes assumes bert-base-uncased's).
        var modelConfig = checkpoint.config
        modelConfig.textConfig.bosTokenId = tokenizer.bosTokenId ?? modelConfig.textConfig.bosTokenId
        modelConfig.textConfig.padTokenId = tokenizer.padTokenId
        modelConfig.textConfig.sepTokenId = tokenizer.sepTokenId
        model = try BlipForGrounding(config: modelConfig, weights: checkpoint.weights, tokenizer: tokenizer,
                                     precision: precision, compute: compute)
        let side = checkpoint.config.visionConfig.imageSize
        imageProcessor = ImageProcessor(size: .fixed(height: side, width: side))
    }

    /// The box `phrase` refers to in `image`; `pixels` is x1, y1, x2, y2 in the image's pixels.
    public func ground(_ image: RGBImage, phrase: String) throws -> (box: GroundingBox, pixels: [Float]) {
        let ids = tokenizer.encode(phrase, maxLength: 128)
        let box = try model.boxes(pixelValues: imageProcessor.batch([image]), ids: [ids], attentionMask: [ids.map { _ in 1 }])[0]
        let w = Float(image.width), h = Float(image.height)
        return (box, [box.normalized[0] * w, box.normalized[1] * h, box.normalized[2] * w, box.normalized[3] * h])
    }
}
