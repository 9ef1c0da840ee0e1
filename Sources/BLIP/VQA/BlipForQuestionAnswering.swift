import Foundation

/// BLIP visual question answering: the ViT image encoder, a BERT text encoder that reads the
/// question while cross-attending to the image, and a BERT text decoder that writes the answer
/// while cross-attending to the encoded question. Port of transformers
/// `BlipForQuestionAnswering`. An immutable value, safe to share across threads; per-request
/// state (KV caches) lives in the calls.
public struct BlipForQuestionAnswering: Sendable {
    public let config: BlipConfig
    /// The precision its Linear weights were loaded in.
    public let precision: Precision
    /// The threads its calls run on (its own, not the process's: see `ComputeSettings`).
    public let compute: ComputeSettings
    public let visionModel: BlipVisionModel
    /// `text_encoder.*`: bidirectional BERT with cross-attention to the image, no pooler.
    public let textEncoder: BlipTextModel
    /// `text_decoder.*`: causal BERT with cross-attention to the question states, plus LM head.
    public let textDecoder: BlipTextLMHeadModel

    /// Loads the weights strictly: every tensor must be present and every tensor in the store
    /// must be used (except `position_ids` buffers and the tied LM decoder).
    public init(config: BlipConfig, weights: WeightStore, precision: Precision = .fp32,
                compute: ComputeSettings = .automatic) throws {
        let text = config.textConfig
        guard text.encoderHiddenSize == config.visionConfig.hiddenSize else {
            throw BlipModelError.unsupportedModel(
                "text encoder_hidden_size \(text.encoderHiddenSize) differs from vision hidden_size \(config.visionConfig.hiddenSize)")
        }
        // The answer decoder cross-attends to the question states (width hidden_size) through
        // projections of input width encoder_hidden_size, so both must agree (as in transformers).
        guard text.encoderHiddenSize == text.hiddenSize else {
            throw BlipModelError.unsupportedModel(
                "VQA needs text hidden_size (\(text.hiddenSize)) equal to encoder_hidden_size (\(text.encoderHiddenSize))")
        }
        let loader = WeightLoader(store: weights, precision: precision)
        self.precision = precision
        self.compute = compute
        self.config = config
        visionModel = try BlipVisionModel(loader.scope("vision_model"), config: config.visionConfig)
        textEncoder = try BlipTextModel(loader.scope("text_encoder"), config: text, crossAttention: true)
        textDecoder = try BlipTextLMHeadModel(loader.scope("text_decoder"), config: text)
        try loader.finish()
    }

    /// Loads `config.json` and the safetensors weights of a model directory.
    public init(directory: URL, precision: Precision = .fp32, compute: ComputeSettings = .automatic) throws {
        let config = try BlipConfig.load(directory: directory)
        if let arch = config.architectures?.first, !arch.contains("QuestionAnswering") {
            throw BlipModelError.unsupportedModel(
                "\(directory.path) holds a \(arch), not a visual question answering model (BlipForQuestionAnswering)")
        }
        try self.init(config: config, weights: try openCheckpoint(directory: directory), precision: precision,
                      compute: compute)
    }

    /// pixel values [B, 3, H, W] -> image embeddings [B, N, C] (vision last_hidden_state).
    public func imageEmbeddings(_ pixelValues: Tensor) -> Tensor { compute.run { visionModel(pixelValues) } }

    /// The text encoder's cross-attention keys/values of image embeddings [B, N, C], computed
    /// once per image and shared by all its questions.
    public func imageCrossAttention(_ imageEmbeds: Tensor) -> CrossAttentionKV {
        return compute.run {
            textEncoder.crossAttentionKeysValues(imageEmbeds)
        }
    }

    /// Question states [Q, T, C]: the text encoder over question ids [Q, T] (padding mask
    /// optional), bidirectional, cross-attending to every image token (no image mask). Question
    /// row `q` reads image `q / (Q / image.imageBatch)`.
    public func encodeQuestions(_ ids: [[Int]], attentionMask: [[Int]]? = nil, image: CrossAttentionKV) throws -> Tensor {
        return try compute.run {
            try checkLengths(ids, limit: config.textConfig.maxPositionEmbeddings, what: "question")
            guard ids.count % image.imageBatch == 0 else {
                throw BlipModelError.invalidInput("\(ids.count) questions for \(image.imageBatch) images")
            }
            return textEncoder.encode(ids, attentionMask: attentionMask, cross: image)
        }
    }

    /// The answer decoder's cross-attention keys/values of question states [Q, T, C].
    /// `attentionMask` masks padded question positions (equal to asking each question alone).
    /// transformers' `generate` passes none (all ones); its `forward` passes the question mask,
    /// but transformers 5.23 drops cross-attention masks inside `BlipTextAttention`, so its
    /// padded-batch `forward` also attends to [PAD] positions (see scripts/reference_vqa.py).
    public func questionCrossAttention(_ questionStates: Tensor, attentionMask: [[Int]]? = nil) -> CrossAttentionKV {
        return compute.run {
            textDecoder.bert.crossAttentionKeysValues(questionStates, attentionMask: attentionMask)
        }
    }

    /// Generates answer ids for encoded questions, one row per question (times
    /// `numReturnSequences`): [DEC] then the answer tokens and [SEP], padded as transformers
    /// pads a batch (see `TextGenerator`).
    /// `monitor` streams the steps and can cancel (`CancellationError`).
    public func generate(question: CrossAttentionKV, options: GenerationOptions,
                         monitor: GenerationMonitor? = nil) throws -> [[Int]] {
        return try compute.run {
            let text = config.textConfig
            let generator = TextGenerator(decoder: textDecoder, eosTokenId: text.sepTokenId, padTokenId: text.padTokenId)
            return try generator.generate(prompts: Array(repeating: [text.bosTokenId], count: question.imageBatch),
                                          cross: question, options: options, monitor: monitor)
        }
    }

    /// Teacher-forced decoder logits [B, T, vocab] for answer ids [B, T] (optionally padded,
    /// `attentionMask`) over the question cross-attention (B a multiple of its batch).
    public func decoderLogits(answerIds: [[Int]], attentionMask: [[Int]]? = nil, question: CrossAttentionKV) throws -> Tensor {
        return try compute.run {
            try checkLengths(answerIds, limit: config.textConfig.maxPositionEmbeddings, what: "answer")
            guard answerIds.count % question.imageBatch == 0 else {
                throw BlipModelError.invalidInput("\(answerIds.count) answers for \(question.imageBatch) questions")
            }
            return textDecoder.logits(answerIds, cross: question, attentionMask: attentionMask)
        }
    }

    private func checkLengths(_ ids: [[Int]], limit: Int, what: String) throws {
        guard let width = ids.first?.count, width > 0, ids.allSatisfy({ $0.count == width }) else {
            throw BlipModelError.invalidInput("\(what) ids must be non-empty rows of equal length")
        }
        guard width <= limit else {
            throw BlipModelError.invalidInput(
                "\(what) has \(width) tokens, more than max_position_embeddings (\(limit))")
        }
        let vocab = config.textConfig.vocabSize
        if let bad = ids.lazy.flatMap({ $0 }).first(where: { $0 < 0 || $0 >= vocab }) {
            throw BlipModelError.invalidInput("\(what) token id \(bad) is outside the vocabulary (0..<\(vocab))")
        }
    }
}
