import Foundation

/// A language model `TextGenerator` decodes from: the logits of the next token after feeding
/// ids (the first call feeds the prompts), with a self-attention cache it can reorder by row.
public protocol AutoregressiveDecoder: Sendable {
    /// What every step also reads, computed once per input: BLIP's image cross-attention keys
    /// and values; BLIP-2's prompt embeddings with the image queries in them.
    associatedtype Context
    /// Inputs (images) `context` holds; rows beyond one per input map onto them in order.
    func inputCount(_ context: Context) -> Int
    /// Positions the model has (prompt plus new tokens must fit).
    var maxPositions: Int { get }
    func makeCache(batch: Int, capacity: Int) -> TextKVCache
    /// Feeds `ids` [B, T] after the cached tokens; logits of the last position [B, vocab].
    func nextTokenLogits(_ ids: [[Int]], cache: inout TextKVCache, context: Context) -> Tensor
}

extension BlipTextLMHeadModel: AutoregressiveDecoder {
    public func inputCount(_ context: CrossAttentionKV) -> Int { context.imageBatch }
    public var maxPositions: Int { config.maxPositionEmbeddings }
    public func nextTokenLogits(_ ids: [[Int]], cache: inout TextKVCache, context: CrossAttentionKV) -> Tensor {
        nextTokenLogits(ids, cache: &cache, cross: context)
    }
}

/// Autoregressive decoding over any `AutoregressiveDecoder` with transformers' `generate`
/// semantics: greedy, multinomial sampling and beam search, with a self-attention KV cache and
/// the per-input context (e.g. image cross-attention keys/values) computed once and shared by
/// every beam of an input.
public struct TextGenerator<Decoder: AutoregressiveDecoder>: Sendable {
    public let decoder: Decoder
    public let eosTokenId: Int
    public let padTokenId: Int

    public init(decoder: Decoder, eosTokenId: Int, padTokenId: Int) {
        self.decoder = decoder
        self.eosTokenId = eosTokenId
        self.padTokenId = padTokenId
    }

    /// Generates continuations of `prompts` (one equal-length row per input of `context`).
    /// Returns `numReturnSequences` rows per image: prompt + generated tokens, padded like
    /// transformers pads them (greedy/sampling: pad token; beam search: see `BeamSearch`).
    /// `monitor` streams the steps and can cancel (`CancellationError`).
    public func generate(prompts: [[Int]], promptMask: [[Int]]? = nil, context: Decoder.Context,
                         options: GenerationOptions, monitor: GenerationMonitor? = nil) throws -> [[Int]] {
        try options.validate()
        guard !prompts.isEmpty, let promptLength = prompts.first?.count, promptLength > 0,
              prompts.allSatisfy({ $0.count == promptLength }) else {
            throw BlipModelError.invalidInput("prompts must be non-empty rows of equal length")
        }
        guard prompts.count == decoder.inputCount(context) else {
            throw BlipModelError.invalidInput("\(prompts.count) prompts for \(decoder.inputCount(context)) images")
        }
        // One rule for every option set: the prompt must leave room for at least one new token,
        // and prompt plus the new tokens asked for must fit the position embeddings.
        let maxPositions = decoder.maxPositions
        guard promptLength < maxPositions else {
            throw BlipModelError.invalidInput(
                "prompt of \(promptLength) tokens leaves no room to generate: the model has max_position_embeddings \(maxPositions), so the prompt must be at most \(maxPositions - 1) tokens")
        }
        let maxLength = options.maxTotalLength(promptLength: promptLength, maxPositions: maxPositions)
        guard maxLength <= maxPositions else {
            throw BlipModelError.invalidInput(
                "prompt plus new tokens (\(promptLength) + \(maxLength - promptLength)) exceeds max_position_embeddings (\(maxPositions))")
        }
        if promptLength >= maxLength { return prompts }
        let processing = LogitsProcessing(options: options, eosTokenId: eosTokenId,
                                          minTotalLength: options.minTotalLength(promptLength: promptLength))
        if options.numBeams > 1 {
            return try BeamSearch(generator: self, processing: processing, maxLength: maxLength, monitor: monitor)
                .run(prompts: prompts, promptMask: promptMask, context: context)
        }
        if options.numReturnSequences > 1 {
            // Several samples per image: expand rows, as transformers does.
            let rows = prompts.indices.flatMap { Array(repeating: $0, count: options.numReturnSequences) }
            // Rows map onto inputs in order (BLIP's attention reads them through queriesPerKV).
            return try decodeSequences(prompts: rows.map { prompts[$0] }, promptMask: promptMask.map { m in rows.map { m[$0] } },
                                       context: context, processing: processing, maxLength: maxLength, monitor: monitor)
        }
        return try decodeSequences(prompts: prompts, promptMask: promptMask, context: context, processing: processing,
                                   maxLength: maxLength, monitor: monitor)
    }

    /// Greedy or sampled decoding of every row until end-of-sequence or `maxLength`.
    func decodeSequences(prompts: [[Int]], promptMask: [[Int]]?, context: Decoder.Context,
                         processing: LogitsProcessing, maxLength: Int, monitor: GenerationMonitor?) throws -> [[Int]] {
        let b = prompts.count
        var sequences = prompts
        var cache = decoder.makeCache(batch: b, capacity: maxLength)
        if let promptMask { cache.appendMask(promptMask) }
        var logits = decoder.nextTokenLogits(prompts, cache: &cache, context: context)
        var unfinished = [Bool](repeating: true, count: b)
        var rng = SeededGenerator(seed: processing.options.seed ?? UInt64.random(in: 0...UInt64.max))
        var rowGenerators = processing.options.rowSeeds.map { $0.map(SeededGenerator.init(seed:)) }
        if let seeds = processing.options.rowSeeds, seeds.count != b, processing.options.doSample {
            throw BlipModelError.invalidInput("\(seeds.count) row seeds for \(b) generated rows")
        }
        let vocab = logits.shape[1]
        while true {
            try monitor?.checkCancelled()
            var next = [Int](repeating: padTokenId, count: b)
            for r in 0..<b where unfinished[r] {
                let row = UnsafeMutableBufferPointer(start: logits.mutablePointer + r * vocab, count: vocab)
                processing.process(row, sequence: sequences[r])
                if processing.options.doSample {
                    processing.warp(row)
                    if rowGenerators != nil {
                        next[r] = sampleIndex(UnsafeBufferPointer(row), using: &rowGenerators![r])
                    } else {
                        next[r] = sampleIndex(UnsafeBufferPointer(row), using: &rng)
                    }
                } else {
                    next[r] = argmax(UnsafePointer(row.baseAddress!), count: vocab)
                }
            }
            for r in 0..<b {
                sequences[r].append(next[r])
                if next[r] == eosTokenId { unfinished[r] = false }
            }
            monitor?.onStep?(sequences)
            if !unfinished.contains(true) || sequences[0].count >= maxLength { break }
            logits = decoder.nextTokenLogits(next.map { [$0] }, cache: &cache, context: context)
        }
        return sequences
    }
}

extension TextGenerator where Decoder == BlipTextLMHeadModel {
    /// `generate(prompts:promptMask:context:...)` with BLIP's image cross-attention.
    public func generate(prompts: [[Int]], promptMask: [[Int]]? = nil, cross: CrossAttentionKV,
                         options: GenerationOptions, monitor: GenerationMonitor? = nil) throws -> [[Int]] {
        try generate(prompts: prompts, promptMask: promptMask, context: cross, options: options, monitor: monitor)
    }
}
