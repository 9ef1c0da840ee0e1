import Foundation

/// An image encoded once for visual question answering: reuse it for many questions.
public struct VQAImageEncoding: Sendable {
    /// Vision last hidden state [1, N, C].
    public let embeddings: Tensor
    /// The question encoder's cross-attention keys/values of `embeddings`.
    public let crossAttention: CrossAttentionKV
}

/// One generated answer.
public struct VQAAnswer: Sendable, Equatable {
    /// `processor.decode(tokenIds, skip_special_tokens=True)`.
    public var text: String
    /// The sequence transformers' `generate` returns for the question asked alone: [DEC], the
    /// answer tokens, then [SEP] (absent when the length limit stopped it).
    public var tokenIds: [Int]
}

/// One candidate answer scored by `BlipQuestionAnswerer.rankAnswers`.
public struct RankedAnswer: Sendable, Equatable {
    public var answer: String
    /// Softmax of `score` over the re-ranked candidates (the `k` kept ones): they sum to 1.
    public var probability: Float
    /// The label-smoothed log-likelihood of the answer (see `BlipForQuestionAnswering.rankAnswers`).
    public var score: Float
    /// Position of the answer in the candidate list.
    public var candidateIndex: Int
    /// The decoder ids scored: [DEC], the answer tokens, [SEP].
    public var tokenIds: [Int]
}

/// How `BlipQuestionAnswerer.answers` treats a batch of questions of different lengths.
public enum VQABatchMode: Sendable, Equatable {
    /// Each answer equals the answer to its question asked alone (the decoder ignores the
    /// padding of shorter questions).
    case independent
    /// transformers' `generate` on a padded batch: the decoder attends to padded question
    /// positions too, so an answer can depend on the other questions; rows are padded to the
    /// longest answer as transformers pads them.
    case transformers
}

/// Visual question answering from a model directory: image pipeline, tokenizer and model.
///
/// ```swift
/// let vqa = try BlipQuestionAnswerer(modelDirectory: URL(fileURLWithPath: "blip-vqa-base"))
/// let image = try vqa.encode(RGBImage(contentsOf: imageURL))   // vision runs once
/// print(try vqa.answer("how many dogs are there?", image: image).text)
/// print(try vqa.rankAnswers("what color is the car?", image: image, candidates: ["red", "blue"]))
/// ```
/// Immutable and `Sendable`: share one answerer between threads or requests.
public struct BlipQuestionAnswerer: Sendable {
    public let model: BlipForQuestionAnswering
    public let tokenizer: BertTokenizer
    public let imageProcessor: ImageProcessor
    /// Generation defaults from the checkpoint's `generation_config.json` (transformers'
    /// defaults when absent).
    public let defaultGeneration: GenerationOptions

    /// Question length limit of the official rank mode (tokens, special tokens included).
    public static let rankQuestionMaxLength = 35

    /// Loads `config.json`, the safetensors weights, the tokenizer files and
    /// `preprocessor_config.json` / `generation_config.json` when present.
    /// `precision` chooses how Linear weights are kept: `.fp32` (exact, the default), `.bf16` or
    /// `.int8` (faster and smaller; see the README's "Precision").
    public init(modelDirectory: URL, precision: Precision = .fp32, compute: ComputeSettings = .automatic) throws {
        model = try BlipForQuestionAnswering(directory: modelDirectory, precision: precision, compute: compute)
        tokenizer = try BertTokenizer(directory: modelDirectory)
        imageProcessor = try ImageProcessor(modelDirectory: modelDirectory)
        try checkModelFiles(modelDirectory, config: model.config, tokenizer: tokenizer, imageProcessor: imageProcessor)
        defaultGeneration = try GenerationConfigFile.load(directory: modelDirectory)?.options ?? GenerationOptions()
    }

    /// Pixel values [1, 3, H, W] of `image`.
    public func pixelValues(_ image: RGBImage) -> Tensor {
        let (w, h) = imageProcessor.outputSize(forWidth: image.width, height: image.height)
        return Tensor(imageProcessor.pixelValues(for: image), shape: [1, 3, h, w])
    }

    /// Runs the vision model once; the result answers any number of questions.
    public func encode(_ image: RGBImage) throws -> VQAImageEncoding {
        try encode(pixelValues: pixelValues(image))
    }

    /// As `encode(_:)` from pixel values [1, 3, H, W].
    public func encode(pixelValues: Tensor) throws -> VQAImageEncoding {
        guard pixelValues.rank == 4, pixelValues.shape[0] == 1 else {
            throw BlipModelError.invalidInput("pixel values must be [1, 3, H, W], got \(pixelValues.shape)")
        }
        try model.visionModel.checkInput(pixelValues)
        let embeds = model.imageEmbeddings(pixelValues)
        return VQAImageEncoding(embeddings: embeds, crossAttention: model.imageCrossAttention(embeds))
    }

    /// Answers one question about an encoded image. Without options, the checkpoint's defaults.
    public func answer(_ question: String, image: VQAImageEncoding, options: GenerationOptions? = nil) throws -> VQAAnswer {
        try answers([question], image: image, options: options)[0]
    }

    /// Answers one question about an image (encodes it first).
    public func answer(_ question: String, image: RGBImage, options: GenerationOptions? = nil) throws -> VQAAnswer {
        try answer(question, image: encode(image), options: options)
    }

    /// Answers several questions about one encoded image in one batch: one answer per question
    /// (with `numReturnSequences > 1`, the first returned sequence, i.e. the best beam).
    /// `monitor` streams the steps and can cancel (`CancellationError`).
    public func answers(_ questions: [String], image: VQAImageEncoding, options: GenerationOptions? = nil,
                        batchMode: VQABatchMode = .independent, monitor: GenerationMonitor? = nil) throws -> [VQAAnswer] {
        guard !questions.isEmpty else { return [] }
        if let empty = questions.firstIndex(where: { $0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }) {
            throw BlipModelError.invalidInput("question \(empty + 1) is empty: ask something about the image")
        }
        let options = options ?? defaultGeneration
        try options.validate()
        let batch = tokenizer.encodeBatch(questions)
        let states = try model.encodeQuestions(batch.inputIds, attentionMask: batch.attentionMask,
                                               image: image.crossAttention)
        let cross = model.questionCrossAttention(
            states, attentionMask: batchMode == .independent ? batch.attentionMask : nil)
        let rows = try model.generate(question: cross, options: options, monitor: monitor)
        let perQuestion = rows.count / questions.count
        let eos = model.config.textConfig.sepTokenId
        return (0..<questions.count).map { q in
            var ids = rows[q * perQuestion]
            if batchMode == .independent, let end = ids.dropFirst().firstIndex(of: eos) {
                ids.removeSubrange((end + 1)...)  // drop the batch's padding after [SEP]
            }
            return VQAAnswer(text: tokenizer.decode(ids, skipSpecialTokens: true), tokenIds: ids)
        }
    }

    /// Ranks `candidates` for `question` with the official BLIP rank mode: the `k` candidates
    /// whose first token the decoder finds most likely are re-scored by their whole
    /// (label-smoothed) log-likelihood; returns those `k`, best first (ties: list order), with
    /// `probability` = softmax over their scores.
    ///
    /// As in the official code, the question is truncated to 35 tokens and starts with [ENC]
    /// instead of [CLS] (transformers' `generate` keeps [CLS]); `labelSmoothing` 0.1 is the
    /// official value (0: plain log-likelihood).
    public func rankAnswers(_ question: String, image: VQAImageEncoding, candidates: [String], k: Int = 128,
                            labelSmoothing: Double = 0.1) throws -> [RankedAnswer] {
        guard !candidates.isEmpty else { throw BlipModelError.invalidInput("no candidate answers to rank") }
        guard !question.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw BlipModelError.invalidInput("the question is empty: ask something about the image")
        }
        guard let enc = tokenizer.encTokenId else {
            throw BlipModelError.unsupportedModel("the tokenizer has no [ENC] token (needed by rank mode)")
        }
        var questionIds = tokenizer.encode(question, maxLength: Self.rankQuestionMaxLength)
        questionIds[0] = enc
        let states = try model.encodeQuestions([questionIds], image: image.crossAttention)
        let bos = model.config.textConfig.bosTokenId
        let candidateIds = candidates.map { [bos] + tokenizer.encode($0).dropFirst() }
        let ranking = try model.rankAnswers(question: model.questionCrossAttention(states), candidateIds: candidateIds,
                                            k: k, labelSmoothing: labelSmoothing)
        let maxScore = Double(ranking.scores.max()!)
        let weights = ranking.scores.map { exp(Double($0) - maxScore) }
        let total = weights.reduce(0, +)
        let order = ranking.scores.indices.sorted {
            ranking.scores[$0] > ranking.scores[$1] || (ranking.scores[$0] == ranking.scores[$1] && $0 < $1)
        }
        return order.map { j in
            let index = ranking.topK[j]
            return RankedAnswer(answer: candidates[index], probability: Float(weights[j] / total),
                                score: ranking.scores[j], candidateIndex: index, tokenIds: candidateIds[index])
        }
    }
}
