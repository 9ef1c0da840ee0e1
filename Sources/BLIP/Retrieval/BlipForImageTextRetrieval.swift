import Foundation

/// What an image contributes to retrieval, computed once by the vision encoder and reusable
/// (e.g. stored in an index) for contrastive search and ITM re-ranking without running the ViT
/// again.
public struct BlipImageEncoding: Sendable {
    /// The vision encoder's last hidden state for this image, [tokens, width] (post-LayerNorm,
    /// class token first): what ITM cross-attends to. 577 × 768 for BLIP-base at 384².
    public let states: Tensor
    /// normalize(vision_proj(states[0])): the unit-length ITC vector (image_text_hidden_size).
    public let embedding: [Float]

    public init(states: Tensor, embedding: [Float]) throws {
        guard states.rank == 2 else {
            throw BlipModelError.invalidInput("image states must be [tokens, width], got \(states.shape)")
        }
        self.init(validStates: states, embedding: embedding)
    }

    init(validStates states: Tensor, embedding: [Float]) {
        self.states = states.contiguous()
        self.embedding = embedding
    }

    /// Rebuilds an encoding from stored floats (row-major states).
    public init(states: [Float], tokens: Int, width: Int, embedding: [Float]) throws {
        guard states.count == tokens * width else {
            throw BlipModelError.invalidInput("image states hold \(states.count) floats, expected \(tokens) × \(width)")
        }
        self.init(validStates: Tensor(states, shape: [tokens, width]), embedding: embedding)
    }
}

/// Which token starts the text for image-text matching.
public enum ITMInputMode: Sendable, Equatable {
    /// The tokenizer's ids unchanged ([CLS] first), as transformers' `BlipForImageTextRetrieval`
    /// (`use_itm_head=True`) and the official demo (`blip_itm.py`) run it.
    case transformers
    /// [ENC] in place of the first token ([CLS]), as the official BLIP retrieval training and
    /// evaluation (`blip_retrieval.py`, `train_retrieval.py`) run the ITM head. ITC is unchanged.
    case official
}

/// BLIP image-text retrieval: the ViT image encoder, the BERT text encoder (text only for the
/// contrastive features, cross-attending to the image for matching), the two projections to the
/// joint space and the ITM head. Port of transformers `BlipForImageTextRetrieval`.
///
/// Immutable and `Sendable`.
public struct BlipForImageTextRetrieval: Sendable {
    public let config: BlipConfig
    /// The precision its Linear weights were loaded in.
    public let precision: Precision
    /// The threads its calls run on (its own, not the process's: see `ComputeSettings`).
    public let compute: ComputeSettings
    public let visionModel: BlipVisionModel
    public let textEncoder: BlipTextModel
    /// vision hidden -> image_text_hidden_size
    public let visionProj: Linear
    /// text hidden -> image_text_hidden_size
    public let textProj: Linear
    /// text hidden -> 2 (no match, match)
    public let itmHead: Linear

    /// Loads the weights strictly: every tensor must be present, every tensor in the store used.
    public init(config: BlipConfig, weights: WeightStore, precision: Precision = .fp32,
                compute: ComputeSettings = .automatic) throws {
        let loader = WeightLoader(store: weights, precision: precision)
        self.precision = precision
        self.compute = compute
        guard config.textConfig.encoderHiddenSize == config.visionConfig.hiddenSize else {
            throw BlipModelError.unsupportedModel(
                "text encoder_hidden_size \(config.textConfig.encoderHiddenSize) differs from vision hidden_size \(config.visionConfig.hiddenSize)")
        }
        let names = weights.tensorNames
        if !names.contains(where: { $0.hasPrefix("text_encoder.") }) || !names.contains("itm_head.weight") {
            let has = names.contains { $0.hasPrefix("text_decoder.") } ? " (it has a text_decoder: a captioning or VQA checkpoint)" : ""
            throw BlipModelError.unsupportedModel(
                "checkpoint is not an image-text retrieval model: it lacks text_encoder.* / itm_head.weight\(has)")
        }
        self.config = config
        let joint = config.imageTextHiddenSize
        visionModel = try BlipVisionModel(loader.scope("vision_model"), config: config.visionConfig)
        textEncoder = try BlipTextModel(loader.scope("text_encoder"), config: config.textConfig, crossAttention: true)
        let top = loader.scope("")
        visionProj = try top.linear("vision_proj", in: config.visionConfig.hiddenSize, out: joint)
        textProj = try top.linear("text_proj", in: config.textConfig.hiddenSize, out: joint)
        itmHead = try top.linear("itm_head", in: config.textConfig.hiddenSize, out: 2)
        try loader.finish()
    }

    /// Loads `config.json` and the safetensors weights of a model directory.
    public init(directory: URL, precision: Precision = .fp32, compute: ComputeSettings = .automatic) throws {
        let config = try BlipConfig.load(directory: directory)
        if let arch = config.architectures?.first, arch != "BlipForImageTextRetrieval" {
            throw BlipModelError.unsupportedModel(
                "\(directory.path) holds a \(arch), not an image-text matching model (BlipForImageTextRetrieval, e.g. Salesforce/blip-itm-base-coco)")
        }
        try self.init(config: config, weights: try openCheckpoint(directory: directory), precision: precision,
                      compute: compute)
    }

    public var embeddingSize: Int { config.imageTextHiddenSize }

    // MARK: - Images

    /// pixel values [B, 3, H, W] -> image embeddings [B, N, C] (vision last_hidden_state, which
    /// transformers feeds to both heads).
    public func imageEmbeddings(_ pixelValues: Tensor) -> Tensor { compute.run { visionModel(pixelValues) } }

    /// Unit ITC vectors [B, D] of image embeddings [B, N, C]: normalize(vision_proj(class token)).
    public func imageFeatures(imageEmbeddings embeds: Tensor) -> Tensor {
        return compute.run {
            l2Normalized(visionProj(firstToken(embeds)))
        }
    }

    /// The vision encoder plus the ITC projection, per image.
    public func encodeImages(_ pixelValues: Tensor) -> [BlipImageEncoding] {
        return compute.run {
            let embeds = imageEmbeddings(pixelValues)
            let feats = imageFeatures(imageEmbeddings: embeds)
            let d = feats.shape[1]
            let f = feats.scalars
            return (0..<embeds.shape[0]).map { i in
                BlipImageEncoding(validStates: embeds[i].contiguous(), embedding: Array(f[(i * d)..<((i + 1) * d)]))
            }
        }
    }

    // MARK: - Texts

    /// Unimodal text encoder states [B, T, C] (no image), as the ITC branch runs it.
    public func textStates(inputIds: [[Int]], attentionMask: [[Int]]? = nil) throws -> Tensor {
        return try compute.run {
            try validate(inputIds, attentionMask)
            return textEncoder.encode(inputIds, attentionMask: attentionMask, cross: nil)
        }
    }

    /// Unit ITC vectors [B, D]: normalize(text_proj(text_encoder(ids, mask)[:, 0])).
    public func textFeatures(inputIds: [[Int]], attentionMask: [[Int]]? = nil) throws -> Tensor {
        return try compute.run {
            l2Normalized(textProj(firstToken(try textStates(inputIds: inputIds, attentionMask: attentionMask))))
        }
    }

    // MARK: - Image-text matching

    /// `ids` with the first token replaced by [ENC] for `.official`, unchanged for `.transformers`.
    public func itmInputIds(_ ids: [[Int]], mode: ITMInputMode, encTokenId: Int = 30523) -> [[Int]] {
        guard mode == .official else { return ids }
        return ids.map { row in
            var r = row
            if !r.isEmpty { r[0] = encTokenId }
            return r
        }
    }

    /// Text encoder states [B, T, C] cross-attending to image embeddings [I, N, C].
    ///
    /// Pairing: I == B (text b with image b), I == 1 (every text with the one image, whose
    /// cross-attention keys/values are computed once), or B == 1 (the one text with every image;
    /// the result has I rows).
    public func itmStates(imageEmbeddings embeds: Tensor, inputIds: [[Int]], attentionMask: [[Int]]? = nil) throws -> Tensor {
        return try compute.run {
            try validate(inputIds, attentionMask)
            guard embeds.rank == 3, embeds.shape[2] == config.textConfig.encoderHiddenSize else {
                throw BlipModelError.invalidInput(
                    "image embeddings must be [images, tokens, \(config.textConfig.encoderHiddenSize)], got \(embeds.shape)")
            }
            let images = embeds.shape[0]
            var ids = inputIds, mask = attentionMask
            if ids.count == 1 && images > 1 {
                ids = Array(repeating: ids[0], count: images)
                mask = mask.map { Array(repeating: $0[0], count: images) }
            }
            guard images == ids.count || images == 1 else {
                throw BlipModelError.invalidInput("cannot pair \(images) images with \(ids.count) texts (use equal counts, one image or one text)")
            }
            let cross = textEncoder.crossAttentionKeysValues(embeds.contiguous())
            return textEncoder.encode(ids, attentionMask: mask, cross: cross)
        }
    }

    /// ITM logits [B, 2] (no match, match) = itm_head(itmStates[:, 0]); see `itmStates` for how
    /// images and texts pair. `ids` are used as given: pass `itmInputIds(_:mode:)` for [ENC].
    public func itmLogits(imageEmbeddings embeds: Tensor, inputIds: [[Int]], attentionMask: [[Int]]? = nil) throws -> Tensor {
        return try compute.run {
            itmHead(firstToken(try itmStates(imageEmbeddings: embeds, inputIds: inputIds, attentionMask: attentionMask)))
        }
    }

    /// ITM logits for stored encodings: every text with one image, or one text with every image.
    public func itmLogits(_ images: [BlipImageEncoding], inputIds: [[Int]], attentionMask: [[Int]]? = nil) throws -> Tensor {
        return try compute.run {
            guard let first = images.first else { throw BlipModelError.invalidInput("no images") }
            let n = first.states.shape[0], c = first.states.shape[1]
            guard images.allSatisfy({ $0.states.shape == first.states.shape }) else {
                throw BlipModelError.invalidInput("image encodings of different shapes cannot be batched")
            }
            let embeds: Tensor
            if images.count == 1 {
                embeds = first.states.reshaped([1, n, c])
            } else {
                embeds = Tensor.concat(images.map { $0.states.reshaped([1, n, c]) }, dim: 0)
            }
            return try itmLogits(imageEmbeddings: embeds, inputIds: inputIds, attentionMask: attentionMask)
        }
    }

    /// softmax(logits)[1] for each row of ITM logits [B, 2].
    public static func matchProbabilities(_ logits: Tensor) -> [Float] {
        let l = logits.contiguous()
        return (0..<l.shape[0]).map { b in matchProbability([l.pointer[2 * b], l.pointer[2 * b + 1]]) }
    }

    /// softmax([no, yes])[1] of one pair of two-class logits (ITM, NLVR2): the logistic of their
    /// difference.
    public static func matchProbability(_ logits: [Float]) -> Float { 1 / (1 + exp(logits[0] - logits[1])) }

    /// Cosine similarities [images][texts] of unit feature rows ([I, D] · [T, D]^T).
    public static func cosineMatrix(imageFeatures: Tensor, textFeatures: Tensor) throws -> [[Float]] {
        let a = imageFeatures.contiguous(), b = textFeatures.contiguous()
        guard a.rank == 2, b.rank == 2, a.shape[1] == b.shape[1] else {
            throw BlipModelError.invalidInput("feature matrices must be [rows, D] with one D, got \(a.shape) and \(b.shape)")
        }
        let d = a.shape[1]
        return (0..<a.shape[0]).map { i in
            (0..<b.shape[0]).map { j in dot(a.pointer + i * d, b.pointer + j * d, d) }
        }
    }

    // MARK: - Helpers

    private func validate(_ ids: [[Int]], _ mask: [[Int]]?) throws {
        guard let t = ids.first?.count, t > 0 else { throw BlipModelError.invalidInput("no text tokens") }
        guard ids.allSatisfy({ $0.count == t }) else {
            throw BlipModelError.invalidInput("text rows have different lengths; pad them (BertTokenizer.encodeBatch)")
        }
        guard t <= config.textConfig.maxPositionEmbeddings else {
            throw BlipModelError.invalidInput(
                "text of \(t) tokens is longer than the model's \(config.textConfig.maxPositionEmbeddings) positions")
        }
        let vocab = config.textConfig.vocabSize
        if let bad = ids.lazy.flatMap({ $0 }).first(where: { $0 < 0 || $0 >= vocab }) {
            throw BlipModelError.invalidInput("token id \(bad) is outside the vocabulary (0..<\(vocab))")
        }
        if let mask {
            guard mask.count == ids.count, mask.allSatisfy({ $0.count == t }) else {
                throw BlipModelError.invalidInput("attention mask shape differs from the ids")
            }
        }
    }
}

/// Rows of token 0: x [B, T, C] -> [B, C].
fileprivate func firstToken(_ x: Tensor) -> Tensor {
    x.slice(1, 0..<1).contiguous().reshaped([x.shape[0], x.shape[2]])
}

/// Each row divided by max(‖row‖, 1e-12), as torch.nn.functional.normalize.
fileprivate func l2Normalized(_ x: Tensor) -> Tensor {
    let out = x.contiguous().copied()
    let d = out.shape[out.rank - 1], rows = out.count / max(d, 1)
    let p = out.mutablePointer
    for r in 0..<rows {
        let row = p + r * d
        let norm = max(dot(row, row, d).squareRoot(), 1e-12)
        for j in 0..<d { row[j] /= norm }
    }
    return out
}

/// Dot product with several accumulators (rows of a few hundred floats).
fileprivate func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var s = SIMD8<Float>.zero
    var i = 0
    while i + 8 <= n {
        s += UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self)
            * UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self)
        i += 8
    }
    var total = s.sum()
    while i < n {
        total += a[i] * b[i]
        i += 1
    }
    return total
}
