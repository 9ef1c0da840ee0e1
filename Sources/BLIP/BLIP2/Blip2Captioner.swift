import Foundation

/// What BLIP-2 needs of its language model's tokenizer (GPT-2 BPE for OPT, SentencePiece for
/// Flan-T5).
public protocol Blip2TextTokenizer: Sendable {
    /// Ids of `text`; with `addSpecialTokens`, as the tokenizer's post-processor adds them.
    func encode(_ text: String, addSpecialTokens: Bool) -> [Int]
    /// Text of `ids` (`skipSpecialTokens` drops `<image>`, bos, eos, pad).
    func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String
}

/// BLIP-2 captioning and prompted generation ("Question: … Answer:") from a model directory:
/// image processor, tokenizer and model together, as transformers' `Blip2Processor` +
/// `Blip2ForConditionalGeneration.generate` + `batch_decode(skip_special_tokens=True)` do.
public struct Blip2Captioner: Sendable {
    public let model: Blip2ForConditionalGeneration
    public let tokenizer: any Blip2TextTokenizer
    public let imageProcessor: ImageProcessor
    /// Generation defaults from `generation_config.json` (transformers' defaults when absent).
    public let defaultGeneration: GenerationOptions

    /// `tokenizer` nil: the directory's GPT-2 BPE tokenizer (OPT models).
    public init(modelDirectory: URL, tokenizer: (any Blip2TextTokenizer)? = nil, precision: Precision = .fp32,
                compute: ComputeSettings = .automatic) throws {
        model = try Blip2ForConditionalGeneration(directory: modelDirectory, precision: precision, compute: compute)
        if let tokenizer {
            self.tokenizer = tokenizer
        } else {
            guard case .opt = model.languageModel else {
                throw BlipModelError.unsupportedModel("BLIP-2 Flan-T5 needs a SentencePiece tokenizer, which is not supported yet")
            }
            self.tokenizer = try ByteLevelBPETokenizer(directory: modelDirectory)
        }
        imageProcessor = try ImageProcessor(modelDirectory: modelDirectory)
        try imageProcessor.checkCompatible(with: model.config.visionConfig,
                                           source: modelDirectory.appendingPathComponent("preprocessor_config.json").path)
        defaultGeneration = try GenerationConfigFile.load(directory: modelDirectory)?.options ?? GenerationOptions()
    }

    /// The prompt's ids as the processor gives them after its `<image>` tokens: OPT without
    /// special tokens (`inputIds` adds bos), T5 with them (its `</s>`).
    func promptIds(_ prompt: String?) -> [Int] {
        switch model.languageModel {
        case .opt: return prompt.map { tokenizer.encode($0, addSpecialTokens: false) } ?? []
        case .t5: return tokenizer.encode(prompt ?? "", addSpecialTokens: true)
        }
    }

    /// The text of one image (no prompt: a caption; "Question: … Answer:": an answer). OPT's
    /// output repeats the prompt, as transformers' decoder-only output does; T5's is the
    /// decoder's text alone.
    public func generate(_ image: RGBImage, prompt: String? = nil, options: GenerationOptions? = nil,
                         monitor: GenerationMonitor? = nil) throws -> [String] {
        let (w, h) = imageProcessor.outputSize(forWidth: image.width, height: image.height)
        let pixels = Tensor(imageProcessor.pixelValues(for: image), shape: [1, 3, h, w])
        let rows = try model.generate(pixelValues: pixels, prompt: promptIds(prompt), options: options ?? defaultGeneration,
                                      monitor: monitor)
        return rows.map { tokenizer.decode($0, skipSpecialTokens: true).trimmingCharacters(in: .whitespaces) }
    }
}

extension ByteLevelBPETokenizer: Blip2TextTokenizer {}
