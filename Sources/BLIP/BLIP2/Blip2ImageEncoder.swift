import Foundation

/// The image side of BLIP-2: vision model, learned query tokens, Q-Former and the projection
/// into the language model's embedding space — what transformers'
/// `Blip2ForConditionalGeneration` computes before the language model (`get_image_features`).
public struct Blip2ImageEncoder: Sendable {
    public let config: Blip2Config
    public let visionModel: BlipVisionModel
    public let qformer: Blip2QFormerModel
    let queryTokens: Tensor  // [1, Q, C]
    let languageProjection: Linear
    public let compute: ComputeSettings

    /// Loads `vision_model.*`, `query_tokens`, `qformer.*` and `language_projection.*` from
    /// `weights`; every other tensor must belong to the language model (`language_model.*`).
    public init(config: Blip2Config, weights: WeightStore, precision: Precision = .fp32,
                compute: ComputeSettings = .automatic) throws {
        let loader = WeightLoader(store: weights, precision: precision)
        try self.init(loader.scope(""), config: config, compute: compute)
        let unused = weights.tensorNames.filter { !loader.used.contains($0) && !$0.hasPrefix("language_model.")
            && !WeightLoader.ignoredSuffixes.contains(where: $0.hasSuffix) }
        if !unused.isEmpty { throw BlipModelError.unusedWeights(unused.sorted()) }
    }

    /// The image side from the checkpoint's root scope (the caller checks unused weights).
    init(_ w: WeightScope, config: Blip2Config, compute: ComputeSettings) throws {
        self.config = config
        self.compute = compute
        visionModel = try BlipVisionModel(w.scope("vision_model"), config: config.visionConfig)
        qformer = try Blip2QFormerModel(w.scope("qformer"), config: config.qformerConfig)
        queryTokens = try w.tensor("query_tokens", shape: [1, config.numQueryTokens, config.qformerConfig.hiddenSize])
        languageProjection = try w.linear("language_projection", in: config.qformerConfig.hiddenSize, out: config.textHiddenSize)
    }

    /// Loads `config.json` and the safetensors weights of a BLIP-2 model directory.
    public init(directory: URL, precision: Precision = .fp32, compute: ComputeSettings = .automatic) throws {
        try self.init(config: Blip2Config.load(directory: directory), weights: try openCheckpoint(directory: directory),
                      precision: precision, compute: compute)
    }

    /// The Q-Former outputs of a batch: pixels [B, 3, H, W] -> (vision states [B, N, Cv],
    /// query outputs [B, Q, C], projected queries [B, Q, D]).
    public func encode(pixelValues: Tensor) throws -> (vision: Tensor, queries: Tensor, projected: Tensor) {
        try visionModel.checkInput(pixelValues)
        return compute.run {
            let vision = visionModel(pixelValues)  // [B, N, Cv]
            let b = pixelValues.shape[0], q = config.numQueryTokens, c = config.qformerConfig.hiddenSize
            let tokens = Tensor(uninitializedShape: [b, q, c])
            for i in 0..<b { tokens.mutablePointer.advanced(by: i * q * c).update(from: queryTokens.pointer, count: q * c) }
            let queries = qformer(queryEmbeds: tokens, imageEmbeds: vision)  // [B, Q, C]
            return (vision, queries, languageProjection(queries))  // [B, Q, D]
        }
    }
}
