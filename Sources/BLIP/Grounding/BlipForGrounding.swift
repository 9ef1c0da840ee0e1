import Foundation

/// One grounded phrase: the box the model decodes for it.
public struct GroundingBox: Sendable, Equatable {
    /// The four decoded bin tokens (cx, cy, w, h).
    public var tokens: [Int]
    /// x1, y1, x2, y2 as fractions of the image's width and height, clipped to [0, 1].
    public var normalized: [Float]
}

/// BLIP visual grounding (RefCOCO): the box a phrase refers to. Port of mmpretrain
/// `BlipGrounding.predict` + `GroundingHead.predict`: the ViT encodes the image; the text encoder
/// runs in text mode (no cross-attention); a second BERT, the multimodal encoder, runs over its
/// output with cross-attention to the image; the decoder starts from `[unused339]`, cross-attends
/// to cat(image states, multimodal states) and greedily decodes 4 tokens with every logit outside
/// the 641 bins `[unused340]`…`[unused980]` lowered by 10 000; bins → (cx, cy, w, h) / 640 →
/// x1y1x2y2 clipped to [0, 1]. Weights under mmpretrain's names (`visual_encoder`, read as
/// `vision_model`; `text_encoder`; `multimodal_encoder`; `grounding_head.decoder`), e.g. from
/// `OfficialBlipCheckpoint(url:task: .grounding)`.
public struct BlipForGrounding: Sendable {
    public let config: BlipConfig
    public let visionModel: BlipVisionModel
    public let textEncoder: BlipTextModel
    public let multimodalEncoder: BlipTextModel
    public let decoder: BlipTextLMHeadModel
    /// `[unused339]`, and the id of `[unused340]` (bin 0; the 641 bins are consecutive ids).
    public let prefixTokenId: Int, firstBinTokenId: Int
    public let compute: ComputeSettings

    /// Bins per side: coordinates are multiples of 1/640.
    public static let resolution = 640

    public init(config: BlipConfig, weights: WeightStore, tokenizer: BertTokenizer, precision: Precision = .fp32,
                compute: ComputeSettings = .automatic) throws {
        guard let prefix = tokenizer.id(of: "[unused339]"), let first = tokenizer.id(of: "[unused340]"),
              tokenizer.id(of: "[unused\(340 + Self.resolution)]") == first + Self.resolution,
              first + Self.resolution < config.textConfig.vocabSize else {
            throw BlipModelError.unsupportedModel("the tokenizer has no consecutive box tokens [unused339] … [unused980] "
                + "inside the model's vocabulary (bert-base-uncased has them)")
        }
        let loader = WeightLoader(store: weights, precision: precision)
        let w = loader.scope("")
        self.config = config
        self.compute = compute
        prefixTokenId = prefix
        firstBinTokenId = first
        visionModel = try BlipVisionModel(w.scope("vision_model"), config: config.visionConfig)
        textEncoder = try BlipTextModel(w.scope("text_encoder"), config: config.textConfig)
        multimodalEncoder = try BlipTextModel(w.scope("multimodal_encoder"), config: config.textConfig)
        decoder = try BlipTextLMHeadModel(w.scope("grounding_head.decoder"), config: config.textConfig)
        try loader.finish()
    }

    /// The box of each phrase, phrase i in image i: `pixelValues` [B, 3, H, W], `ids` [B][T] as the
    /// tokenizer gives them (`[CLS]` first), `attentionMask` [B][T].
    public func boxes(pixelValues: Tensor, ids: [[Int]], attentionMask: [[Int]]) throws -> [GroundingBox] {
        try visionModel.checkInput(pixelValues)
        let b = pixelValues.shape[0], t = ids.first?.count ?? 0, vocab = config.textConfig.vocabSize
        guard ids.count == b, attentionMask.count == b, t > 0, t <= config.textConfig.maxPositionEmbeddings,
              zip(ids, attentionMask).allSatisfy({ $0.count == t && $1.count == t }),
              ids.allSatisfy({ $0.allSatisfy { (0..<vocab).contains($0) } }) else {
            throw BlipModelError.invalidInput("one phrase per image: equal-length ids inside the vocabulary, "
                + "at most \(config.textConfig.maxPositionEmbeddings) long, with a mask of the same length")
        }
        return compute.run {
            let image = visionModel(pixelValues)  // [B, N, C]
            let text = textEncoder.encode(ids, attentionMask: attentionMask, cross: nil)  // text mode: [B, T, C]
            let fused = multimodalEncoder.encode(embeddings: text, attentionMask: attentionMask,
                                                 cross: multimodalEncoder.crossAttentionKeysValues(image))  // [B, T, C]
            let n = image.shape[1]
            let merged = Tensor.concat([image, fused], dim: 1)  // [B, N + T, C]
            let mask = attentionMask.map { Array(repeating: 1, count: n) + $0 }
            let cross = decoder.bert.crossAttentionKeysValues(merged, attentionMask: mask)
            var cache = decoder.makeCache(batch: b, capacity: 5)
            var step = Array(repeating: [prefixTokenId], count: b)
            var tokens = Array(repeating: [Int](), count: b)
            for _ in 0..<4 {
                let logits = decoder.nextTokenLogits(step, cache: &cache, cross: cross).contiguous()  // [B, V]
                for r in 0..<b {
                    let row = logits.pointer + r * vocab
                    var best = 0, bestScore = -Float.infinity
                    for v in 0..<vocab {  // first maximum, as torch.argmax
                        let inBin = v >= firstBinTokenId && v <= firstBinTokenId + Self.resolution
                        let score = row[v] + (inBin ? 0 : -10_000)
                        if score > bestScore { best = v; bestScore = score }
                    }
                    tokens[r].append(best)
                    step[r] = [best]
                }
            }
            return tokens.map { box in
                let v = box.map { Float($0 - firstBinTokenId) / Float(Self.resolution) }  // cx, cy, w, h
                let xyxy = [v[0] - v[2] / 2, v[1] - v[3] / 2, v[0] + v[2] / 2, v[1] + v[3] / 2].map { min(max($0, 0), 1) }
                return GroundingBox(tokens: box, normalized: xyxy)
            }
        }
    }
}
