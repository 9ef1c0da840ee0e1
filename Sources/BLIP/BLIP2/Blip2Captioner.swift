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

    /// `tokenizer` nil: the directory's own, GPT-2 byte-level BPE for OPT models and SentencePiece
    /// Unigram (tokenizer.json, or spiece.model alone) for Flan-T5 models.
    public init(modelDirectory: URL, tokenizer: (any Blip2TextTokenizer)? = nil, precision: Precision = .fp32,
                compute: ComputeSettings = .automatic) throws {
        model = try Blip2ForConditionalGeneration(directory: modelDirectory, precision: precision, compute: compute)
        if let tokenizer {
            self.tokenizer = tokenizer
        } else {
            switch model.languageModel {
            case .opt: self.tokenizer = try ByteLevelBPETokenizer(directory: modelDirectory)
            case .t5: self.tokenizer = try UnigramTokenizer(directory: modelDirectory)
            }
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
        try generate([image], prompt: prompt, options: options, monitor: monitor)[0]
    }

    /// `generate(_:prompt:options:monitor:)` for several images in one batch (they must
    /// preprocess to one size): per image its `numReturnSequences` texts, best first.
    public func generate(_ images: [RGBImage], prompt: String? = nil, options: GenerationOptions? = nil,
                         monitor: GenerationMonitor? = nil) throws -> [[String]] {
        guard !images.isEmpty else { return [] }
        let options = options ?? defaultGeneration
        let rows = try model.generate(pixelValues: imageProcessor.batch(images), prompt: promptIds(prompt), options: options,
                                      monitor: monitor)
        let n = max(1, rows.count / images.count)
        return (0..<images.count).map { i in rows[(i * n)..<min((i + 1) * n, rows.count)].map(text) }
    }

    /// BLIP-2's VQA prompt, as its model cards ask: `Question: … Answer:`.
    public static func questionPrompt(_ question: String) -> String { "Question: \(question) Answer:" }

    /// Answers to `question` about each image: the text generated after ``questionPrompt(_:)``
    /// (OPT's output repeats the prompt; it is cut off here).
    public func answers(_ images: [RGBImage], question: String, options: GenerationOptions? = nil,
                        monitor: GenerationMonitor? = nil) throws -> [[String]] {
        let prompt = Self.questionPrompt(question)
        return try generate(images, prompt: prompt, options: options, monitor: monitor).map { $0.map { answer($0, prompt: prompt) } }
    }

    /// One text of one image, calling `onText` with the text so far after every token (and last
    /// with the final text); with `question`, the answer after the prompt as ``answers(_:question:options:monitor:)``.
    /// Stops with `CancellationError` once `isCancelled` returns true.
    public func generateStreaming(_ image: RGBImage, prompt: String? = nil, question: String? = nil,
                                  options: GenerationOptions? = nil,
                                  isCancelled: @escaping @Sendable () -> Bool = { false },
                                  onText: @escaping @Sendable (String) -> Void) throws -> String {
        let prompt = question.map(Self.questionPrompt) ?? prompt
        let last = LastText()
        let finish = { @Sendable (ids: [Int]) -> String in
            let t = self.text(ids)
            return question != nil ? self.answer(t, prompt: prompt ?? "") : t
        }
        let monitor = GenerationMonitor(onStep: { rows in
            guard let ids = rows.first else { return }
            let text = finish(ids)
            if last.replace(with: text) { onText(text) }
        }, isCancelled: isCancelled)
        var single = options ?? defaultGeneration
        single.numReturnSequences = 1
        let rows = try model.generate(pixelValues: imageProcessor.batch([image]), prompt: promptIds(prompt), options: single,
                                      monitor: monitor)
        let final = finish(rows.first ?? [])
        if last.replace(with: final) { onText(final) }
        return final
    }

    private func text(_ ids: [Int]) -> String {
        tokenizer.decode(ids, skipSpecialTokens: true).trimmingCharacters(in: .whitespaces)
    }

    private func answer(_ text: String, prompt: String) -> String {
        text.hasPrefix(prompt) ? String(text.dropFirst(prompt.count)).trimmingCharacters(in: .whitespaces) : text
    }
}

extension ByteLevelBPETokenizer: Blip2TextTokenizer {}
