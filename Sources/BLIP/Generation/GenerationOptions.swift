import Foundation

/// How beam search decides it is done. Mirrors transformers' `early_stopping` (`False`, `True`,
/// `"never"`).
public enum EarlyStopping: Sendable, Equatable {
    /// `False`: stop when the best running beam, scored at the current length, cannot beat the
    /// worst finished one (transformers' default heuristic).
    case heuristic
    /// `True`: stop as soon as `numBeams` hypotheses are finished.
    case eager
    /// `"never"`: the canonical beam search bound.
    case never
}

/// Text generation settings with transformers' `generate` semantics and defaults.
public struct GenerationOptions: Sendable, Equatable {
    /// New tokens at most (takes precedence over `maxLength`). Default: 20 new tokens.
    public var maxNewTokens: Int?
    /// Total length at most, prompt included (transformers' `max_length`).
    public var maxLength: Int?
    /// New tokens before the end-of-sequence token is allowed.
    public var minNewTokens: Int?
    /// Total length before the end-of-sequence token is allowed (transformers' `min_length`).
    public var minLength: Int?
    public var numBeams = 1
    public var lengthPenalty: Double = 1
    public var earlyStopping: EarlyStopping = .heuristic
    public var numReturnSequences = 1
    /// Multinomial sampling instead of greedy choice (with `numBeams == 1`).
    public var doSample = false
    /// Keep the `topK` most likely tokens when sampling (0: off). transformers' default is 50.
    public var topK = 50
    /// Nucleus sampling: keep the smallest set of tokens whose probability reaches `topP`.
    public var topP: Double = 1
    public var temperature: Double = 1
    /// Seed of the sampling random generator (random when nil).
    public var seed: UInt64?
    /// One seed per generated row (images × `numReturnSequences`, in that order) when sampling:
    /// each row draws from its own generator, so its text depends on its seed and its image
    /// only, not on what else shares the batch (dataset tools seed a row by the sample's key).
    /// Overrides `seed`.
    public var rowSeeds: [UInt64]?
    /// Penalty for tokens already in the sequence (1: off), as in CTRL / transformers.
    public var repetitionPenalty: Double = 1

    public init() {}

    /// Most beams (and sequences returned per input) the library runs: beam search keeps a KV
    /// cache per beam, so this bounds memory.
    public static let maxBeams = 64
    /// Most new tokens, or total tokens (`max_length` / `min_length`), any option may ask for.
    /// The model's `max_position_embeddings` is the tighter limit at generation time.
    public static let maxTokens = 65_536

    /// Checks value ranges; throws `BlipModelError.invalidInput` naming the bad option and the
    /// limit. Non-finite numbers (NaN, infinity) are refused for every floating-point option.
    public func validate() throws {
        func bad(_ m: String) -> BlipModelError { .invalidInput("invalid generation option: \(m)") }
        let limit = Self.maxTokens
        if numBeams < 1 { throw bad("num_beams must be at least 1, got \(numBeams)") }
        if numBeams > Self.maxBeams { throw bad("num_beams must be at most \(Self.maxBeams), got \(numBeams)") }
        if numReturnSequences < 1 { throw bad("num_return_sequences must be at least 1, got \(numReturnSequences)") }
        if numReturnSequences > Self.maxBeams {
            throw bad("num_return_sequences must be at most \(Self.maxBeams), got \(numReturnSequences)")
        }
        if numReturnSequences > numBeams && !doSample {
            throw bad("num_return_sequences (\(numReturnSequences)) must be between 1 and num_beams (\(numBeams))")
        }
        for (name, value) in [("max_new_tokens", maxNewTokens), ("max_length", maxLength)] {
            guard let value else { continue }
            if value < 1 { throw bad("\(name) must be at least 1, got \(value)") }
            if value > limit { throw bad("\(name) must be at most \(limit), got \(value)") }
        }
        for (name, value) in [("min_new_tokens", minNewTokens), ("min_length", minLength)] {
            guard let value else { continue }
            if value < 0 { throw bad("\(name) must be non-negative, got \(value)") }
            if value > limit { throw bad("\(name) must be at most \(limit), got \(value)") }
        }
        if let minNewTokens, let maxNewTokens, minNewTokens > maxNewTokens {
            throw bad("min_new_tokens (\(minNewTokens)) must not exceed max_new_tokens (\(maxNewTokens))")
        }
        if let minLength, let maxLength, minLength > maxLength {
            throw bad("min_length (\(minLength)) must not exceed max_length (\(maxLength))")
        }
        if !temperature.isFinite || temperature <= 0 { throw bad("temperature must be a finite number > 0, got \(temperature)") }
        if !topP.isFinite || topP <= 0 || topP > 1 { throw bad("top_p must be in (0, 1], got \(topP)") }
        if topK < 0 { throw bad("top_k must be non-negative, got \(topK)") }
        if !repetitionPenalty.isFinite || repetitionPenalty <= 0 {
            throw bad("repetition_penalty must be a finite number > 0, got \(repetitionPenalty)")
        }
        if !lengthPenalty.isFinite { throw bad("length_penalty must be a finite number, got \(lengthPenalty)") }
        if doSample && numBeams > 1 { throw bad("sampling with beams (beam-sample) is not supported") }
    }

    /// The total length limit for a prompt of `promptLength` tokens, as transformers computes it.
    func maxTotalLength(promptLength: Int, maxPositions: Int) -> Int {
        if let maxNewTokens { return promptLength + maxNewTokens }
        if let maxLength { return maxLength }
        return min(promptLength + 20, maxPositions)
    }

    /// The minimum total length before end-of-sequence is allowed.
    func minTotalLength(promptLength: Int) -> Int {
        var m = minLength ?? 0
        if let minNewTokens { m = max(m, promptLength + minNewTokens) }
        return m
    }
}

/// Defaults from a checkpoint's `generation_config.json` (keys transformers writes).
public struct GenerationConfigFile: Decodable, Sendable {
    public var maxLength: Int?
    public var maxNewTokens: Int?
    public var minLength: Int?
    public var minNewTokens: Int?
    public var numBeams: Int?
    public var lengthPenalty: Double?
    public var earlyStopping: EarlyStoppingValue?
    public var doSample: Bool?
    public var topK: Int?
    public var topP: Double?
    public var temperature: Double?
    public var repetitionPenalty: Double?
    public var numReturnSequences: Int?

    /// `early_stopping` is a bool or the string "never".
    public enum EarlyStoppingValue: Decodable, Sendable {
        case bool(Bool), string(String)
        public init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let b = try? c.decode(Bool.self) { self = .bool(b) } else { self = .string(try c.decode(String.self)) }
        }
    }

    enum CodingKeys: String, CodingKey {
        case maxLength = "max_length", maxNewTokens = "max_new_tokens", minLength = "min_length"
        case minNewTokens = "min_new_tokens", numBeams = "num_beams", lengthPenalty = "length_penalty"
        case earlyStopping = "early_stopping", doSample = "do_sample", topK = "top_k", topP = "top_p"
        case temperature, repetitionPenalty = "repetition_penalty", numReturnSequences = "num_return_sequences"
    }

    /// Reads `generation_config.json` from `directory` when it exists.
    public static func load(directory: URL) throws -> GenerationConfigFile? {
        let url = directory.appendingPathComponent("generation_config.json")
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let file = try decodeJSONFile(GenerationConfigFile.self, from: url)
        do {
            try file.options.validate()
        } catch BlipModelError.invalidInput(let message) {
            throw BlipModelError.invalidJSON(file: url.path, reason: message)
        }
        return file
    }

    /// Options with this file's values as defaults.
    public var options: GenerationOptions {
        var o = GenerationOptions()
        o.maxLength = maxLength
        o.maxNewTokens = maxNewTokens
        o.minLength = minLength.flatMap { $0 > 0 ? $0 : nil }
        o.minNewTokens = minNewTokens
        if let numBeams { o.numBeams = numBeams }
        if let lengthPenalty { o.lengthPenalty = lengthPenalty }
        switch earlyStopping {
        case .bool(true): o.earlyStopping = .eager
        case .string("never"): o.earlyStopping = .never
        default: break
        }
        if let doSample { o.doSample = doSample }
        if let topK { o.topK = topK }
        if let topP { o.topP = topP }
        if let temperature { o.temperature = temperature }
        if let repetitionPenalty { o.repetitionPenalty = repetitionPenalty }
        if let numReturnSequences { o.numReturnSequences = numReturnSequences }
        return o
    }
}
