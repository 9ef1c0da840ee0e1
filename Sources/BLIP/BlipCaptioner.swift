import Foundation

/// What to generate for a caption request.
public struct CaptionOptions: Sendable, Equatable {
    /// Conditional captioning prefix (e.g. "a picture of"); nil for unconditional captions.
    public var prompt: String?
    /// Remove the prompt from the returned text, as the official BLIP code does (token ids keep it).
    public var stripPrompt = false
    public var generation: GenerationOptions

    public init(prompt: String? = nil, stripPrompt: Bool = false, generation: GenerationOptions = .init()) {
        self.prompt = prompt
        self.stripPrompt = stripPrompt
        self.generation = generation
    }
}

/// One generated caption.
public struct Caption: Sendable, Equatable {
    /// The text as `processor.decode(ids, skip_special_tokens=True)` gives it (prompt stripped
    /// when asked).
    public var text: String
    /// The whole sequence transformers' `generate` returns: bos, prompt tokens, generated tokens.
    public var tokenIds: [Int]
}

/// Image captioning from a model directory: image pipeline, tokenizer and model together.
///
/// ```swift
/// let captioner = try BlipCaptioner(modelDirectory: URL(fileURLWithPath: "blip-image-captioning-base"))
/// let caption = try captioner.caption(RGBImage(contentsOf: imageURL))
/// print(caption.text)
/// ```
/// Immutable and `Sendable`: share one captioner between threads or requests.
public struct BlipCaptioner: Sendable {
    public let model: BlipForConditionalGeneration
    public let tokenizer: BertTokenizer
    public let imageProcessor: ImageProcessor
    /// Generation defaults from the checkpoint's `generation_config.json` (transformers'
    /// defaults when absent).
    public let defaultGeneration: GenerationOptions

    /// Loads `config.json`, the safetensors weights, the tokenizer files and
    /// `preprocessor_config.json` / `generation_config.json` when present.
    /// `precision` chooses how Linear weights are kept: `.fp32` (exact, the default), `.bf16` or
    /// `.int8` (faster and smaller; see the README's "Precision"); `compute` the threads its
    /// calls use (default: the process's shared pool; see `ComputeSettings`).
    public init(modelDirectory: URL, precision: Precision = .fp32, compute: ComputeSettings = .automatic) throws {
        model = try BlipForConditionalGeneration(directory: modelDirectory, precision: precision, compute: compute)
        tokenizer = try BertTokenizer(directory: modelDirectory)
        imageProcessor = try ImageProcessor(modelDirectory: modelDirectory)
        try checkModelFiles(modelDirectory, config: model.config, tokenizer: tokenizer, imageProcessor: imageProcessor)
        defaultGeneration = try GenerationConfigFile.load(directory: modelDirectory)?.options ?? GenerationOptions()
    }

    /// Pixel values [N, 3, H, W] for `images` (each resized to the configured size; throws when a
    /// processor that keeps sizes gets images of different sizes).
    public func pixelValues(_ images: [RGBImage]) throws -> Tensor { try imageProcessor.batch(images) }

    /// Most images `captions(for:options:)` takes at once (activations grow with the batch).
    public static let maxBatchSize = 1_024

    static func checkBatchSize(_ count: Int) throws {
        guard count <= maxBatchSize else {
            throw BlipModelError.invalidInput("\(count) images in one batch; at most \(maxBatchSize)")
        }
    }

    /// Options with the checkpoint's generation defaults: start from these to change a few.
    public var defaultOptions: CaptionOptions { CaptionOptions(generation: defaultGeneration) }

    /// Captions one image (the best sequence). Without options, the checkpoint's defaults.
    public func caption(_ image: RGBImage, options: CaptionOptions? = nil) throws -> Caption {
        try captions(for: [image], options: options)[0][0]
    }

    /// Captions a batch of images (any sizes): `numReturnSequences` captions per image.
    /// Without options, the checkpoint's defaults. `monitor` streams the steps and can cancel
    /// (`CancellationError`).
    public func captions(for images: [RGBImage], options: CaptionOptions? = nil,
                         monitor: GenerationMonitor? = nil) throws -> [[Caption]] {
        guard !images.isEmpty else { return [] }
        try Self.checkBatchSize(images.count)  // before preprocessing them
        return try captions(pixelValues: pixelValues(images), options: options, monitor: monitor)
    }

    /// Captions preprocessed images (`pixelValues(_:)` [N, 3, H, W]): `numReturnSequences`
    /// captions per image.
    public func captions(pixelValues: Tensor, options: CaptionOptions? = nil,
                         monitor: GenerationMonitor? = nil) throws -> [[Caption]] {
        let options = options ?? defaultOptions
        let promptIds = options.prompt.map { tokenizer.encode($0) }
        let count = pixelValues.shape.first ?? 0
        guard count > 0 else { return [] }
        try Self.checkBatchSize(count)
        let rows = try model.generate(pixelValues: pixelValues, promptIds: promptIds, options: options.generation,
                                      monitor: monitor)
        let perImage = rows.count / count
        let strip = strippedPrompt(options)
        return (0..<count).map { i in
            rows[(i * perImage)..<((i + 1) * perImage)].map { ids in
                Caption(text: text(of: ids, strippingPrompt: strip), tokenIds: ids)
            }
        }
    }

    /// The prompt's decoded text when `options.stripPrompt` asks to remove it from captions.
    func strippedPrompt(_ options: CaptionOptions) -> String? {
        guard options.stripPrompt, let prompt = options.prompt else { return nil }
        let text = tokenizer.decode(tokenizer.encode(prompt), skipSpecialTokens: true)
        return text.isEmpty ? nil : text
    }

    /// The caption text of generated `ids`, without `prompt` when it starts with it.
    func text(of ids: [Int], strippingPrompt prompt: String?) -> String {
        let text = tokenizer.decode(ids, skipSpecialTokens: true)
        guard let prompt, text.hasPrefix(prompt) else { return text }
        return String(text.dropFirst(prompt.count)).trimmingCharacters(in: .whitespaces)
    }
}
