import Foundation

/// BLIP image captioning: the ViT image encoder and the BERT text decoder that cross-attends to
/// it. Port of transformers `BlipForConditionalGeneration`. An immutable value, safe to share
/// across threads; per-request state (KV caches) lives in the calls.
public struct BlipForConditionalGeneration: Sendable {
    public let config: BlipConfig
    /// The precision its Linear weights were loaded in.
    public let precision: Precision
    /// The threads its calls run on (its own, not the process's: see `ComputeSettings`).
    public let compute: ComputeSettings
    public let visionModel: BlipVisionModel
    public let textDecoder: BlipTextLMHeadModel

    /// Loads the weights strictly: every tensor must be present and every tensor in the store
    /// must be used (except `position_ids` buffers and the tied LM decoder).
    public init(config: BlipConfig, weights: WeightStore, precision: Precision = .fp32,
                compute: ComputeSettings = .automatic) throws {
        let loader = WeightLoader(store: weights, precision: precision)
        self.precision = precision
        self.compute = compute
        self.config = config
        visionModel = try BlipVisionModel(loader.scope("vision_model"), config: config.visionConfig)
        textDecoder = try BlipTextLMHeadModel(loader.scope("text_decoder"), config: config.textConfig)
        guard config.textConfig.encoderHiddenSize == config.visionConfig.hiddenSize else {
            throw BlipModelError.unsupportedModel(
                "text encoder_hidden_size \(config.textConfig.encoderHiddenSize) differs from vision hidden_size \(config.visionConfig.hiddenSize)")
        }
        try loader.finish()
    }

    /// Loads `config.json` and the safetensors weights of a model directory.
    public init(directory: URL, precision: Precision = .fp32, compute: ComputeSettings = .automatic) throws {
        let config = try BlipConfig.load(directory: directory)
        if let arch = config.architectures?.first, !arch.contains("ConditionalGeneration") {
            throw BlipModelError.unsupportedModel(
                "\(directory.path) holds a \(arch), not a captioning model (BlipForConditionalGeneration)")
        }
        try self.init(config: config, weights: try openCheckpoint(directory: directory), precision: precision,
                      compute: compute)
    }

    /// pixel values [B, 3, H, W] -> image embeddings [B, N, C] (vision last_hidden_state).
    public func imageEmbeddings(_ pixelValues: Tensor) -> Tensor { compute.run { visionModel(pixelValues) } }

    /// The decoder's input ids for `prompt` ids as transformers' `generate` builds them: the
    /// first token ([CLS]) becomes bos ([DEC]) and the trailing [SEP] is dropped; no prompt
    /// gives [bos].
    public func decoderPrompt(promptIds: [Int]?) -> [Int] {
        guard var ids = promptIds, ids.count >= 2 else { return [config.textConfig.bosTokenId] }
        ids[0] = config.textConfig.bosTokenId
        return Array(ids.dropLast())
    }

    /// Generates token ids (bos, prompt and new tokens, as transformers returns them) for a
    /// batch of images: `numReturnSequences` rows per image.
    /// `monitor` streams the steps and can cancel (`CancellationError`).
    public func generate(pixelValues: Tensor, promptIds: [Int]? = nil, options: GenerationOptions = .init(),
                         monitor: GenerationMonitor? = nil) throws -> [[Int]] {
        return try compute.run {
            try visionModel.checkInput(pixelValues)
            try monitor?.checkCancelled()
            let embeds = imageEmbeddings(pixelValues)
            return try generate(imageEmbeddings: embeds, promptIds: promptIds, options: options, monitor: monitor)
        }
    }

    /// As `generate(pixelValues:)`, from image embeddings already computed.
    public func generate(imageEmbeddings embeds: Tensor, promptIds: [Int]? = nil,
                         options: GenerationOptions = .init(), monitor: GenerationMonitor? = nil) throws -> [[Int]] {
        return try compute.run {
            let cross = textDecoder.bert.crossAttentionKeysValues(embeds)
            let prompt = decoderPrompt(promptIds: promptIds)
            let generator = TextGenerator(decoder: textDecoder, eosTokenId: config.textConfig.sepTokenId,
                                          padTokenId: config.textConfig.padTokenId)
            return try generator.generate(prompts: Array(repeating: prompt, count: embeds.shape[0]), cross: cross,
                                          options: options, monitor: monitor)
        }
    }

    /// Teacher-forced decoder logits [B, T, vocab] for `inputIds` over the images' embeddings.
    public func decoderLogits(inputIds: [[Int]], imageEmbeddings embeds: Tensor) -> Tensor {
        return compute.run {
            textDecoder.logits(inputIds, cross: textDecoder.bert.crossAttentionKeysValues(embeds))
        }
    }
}
