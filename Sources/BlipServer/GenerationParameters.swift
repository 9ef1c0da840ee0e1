import BLIP
import Foundation

/// Generation options a request may set (snake_case JSON keys, transformers' names). Values left
/// out keep the model's defaults.
public struct GenerationParameters: Decodable, Sendable, Equatable {
    public var maxNewTokens: Int?
    public var minNewTokens: Int?
    public var numBeams: Int?
    public var lengthPenalty: Double?
    public var repetitionPenalty: Double?
    public var doSample: Bool?
    public var topK: Int?
    public var topP: Double?
    public var temperature: Double?
    public var seed: UInt64?
    /// Captions per image (beam search: at most num_beams; sampling: independent samples).
    public var numReturnSequences: Int?

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case maxNewTokens = "max_new_tokens", minNewTokens = "min_new_tokens", numBeams = "num_beams"
        case lengthPenalty = "length_penalty", repetitionPenalty = "repetition_penalty", doSample = "do_sample"
        case topK = "top_k", topP = "top_p", temperature, seed, numReturnSequences = "num_return_sequences"
    }

    /// The JSON keys understood (also form field names of the multipart endpoints).
    static let keys: [String] = CodingKeys.allCases.map(\.rawValue)

    /// `self` with the values `other` sets taking precedence.
    func overridden(by other: GenerationParameters?) -> GenerationParameters {
        guard let o = other else { return self }
        var r = self
        r.maxNewTokens = o.maxNewTokens ?? maxNewTokens
        r.minNewTokens = o.minNewTokens ?? minNewTokens
        r.numBeams = o.numBeams ?? numBeams
        r.lengthPenalty = o.lengthPenalty ?? lengthPenalty
        r.repetitionPenalty = o.repetitionPenalty ?? repetitionPenalty
        r.doSample = o.doSample ?? doSample
        r.topK = o.topK ?? topK
        r.topP = o.topP ?? topP
        r.temperature = o.temperature ?? temperature
        r.seed = o.seed ?? seed
        r.numReturnSequences = o.numReturnSequences ?? numReturnSequences
        return r
    }

    /// Form fields (strings) to parameters; throws 422 naming a bad value.
    static func fromForm(_ fields: [String: String]) throws -> GenerationParameters {
        var p = GenerationParameters()
        func int(_ k: CodingKeys) throws -> Int? {
            guard let s = fields[k.rawValue] else { return nil }
            guard let v = Int(s.trimmingCharacters(in: .whitespaces)) else { throw APIError.unprocessable("\(k.rawValue) must be an integer, got \"\(s.prefix(40))\"") }
            return v
        }
        func double(_ k: CodingKeys) throws -> Double? {
            guard let s = fields[k.rawValue] else { return nil }
            guard let v = Double(s.trimmingCharacters(in: .whitespaces)) else { throw APIError.unprocessable("\(k.rawValue) must be a number, got \"\(s.prefix(40))\"") }
            guard v.isFinite else {
                throw APIError.unprocessable("\(k.rawValue) must be a finite number, got \"\(s.prefix(40))\"", type: "invalid_parameter")
            }
            return v
        }
        p.maxNewTokens = try int(.maxNewTokens)
        p.minNewTokens = try int(.minNewTokens)
        p.numBeams = try int(.numBeams)
        p.topK = try int(.topK)
        p.numReturnSequences = try int(.numReturnSequences)
        p.lengthPenalty = try double(.lengthPenalty)
        p.repetitionPenalty = try double(.repetitionPenalty)
        p.topP = try double(.topP)
        p.temperature = try double(.temperature)
        if let s = fields[CodingKeys.seed.rawValue] {
            guard let v = UInt64(s.trimmingCharacters(in: .whitespaces)) else { throw APIError.unprocessable("seed must be a non-negative integer") }
            p.seed = v
        }
        p.doSample = try formBool(fields, CodingKeys.doSample.rawValue)
        return p
    }

    /// A boolean form field ("true"/"false", "1"/"0", "on"/"off", "yes"/"no"); nil when absent.
    static func formBool(_ fields: [String: String], _ key: String) throws -> Bool? {
        guard let s = fields[key]?.lowercased() else { return nil }
        switch s {
        case "true", "1", "on", "yes": return true
        case "false", "0", "off", "no", "": return false
        default: throw APIError.unprocessable("\(key) must be true or false", type: "invalid_parameter")
        }
    }

    /// The model's defaults with these values applied, validated against the model's rules and
    /// the server's caps. `sequences`: the endpoint returns several sequences (captions); elsewhere
    /// `num_return_sequences` above 1 is refused. Throws 422 naming the bad option.
    func resolve(defaults: GenerationOptions, limits: ServerLimits, sequences: Bool = false) throws -> GenerationOptions {
        var g = defaults
        if let maxNewTokens { g.maxNewTokens = maxNewTokens }
        if let minNewTokens { g.minNewTokens = minNewTokens }
        if let numBeams { g.numBeams = numBeams }
        if let lengthPenalty { g.lengthPenalty = lengthPenalty }
        if let repetitionPenalty { g.repetitionPenalty = repetitionPenalty }
        if let doSample { g.doSample = doSample }
        if let topK { g.topK = topK }
        if let topP { g.topP = topP }
        if let temperature { g.temperature = temperature }
        if let seed { g.seed = seed }
        // One answer per input unless the endpoint returns several captions.
        g.numReturnSequences = 1
        if let n = numReturnSequences {
            guard sequences || n == 1 else {
                throw APIError.unprocessable("num_return_sequences applies to captions only", type: "invalid_parameter")
            }
            guard n <= limits.maxBeamsLimit else {
                throw APIError.unprocessable("num_return_sequences must be at most \(limits.maxBeamsLimit)", type: "invalid_parameter")
            }
            g.numReturnSequences = n
        }
        if let m = g.maxNewTokens, m > limits.maxNewTokensLimit {
            throw APIError.unprocessable("max_new_tokens must be at most \(limits.maxNewTokensLimit)", type: "invalid_parameter")
        }
        if g.maxNewTokens == nil, let m = g.maxLength, m > limits.maxNewTokensLimit + 32 {
            g.maxNewTokens = limits.maxNewTokensLimit
        }
        if let m = g.minNewTokens, m > limits.maxNewTokensLimit {
            throw APIError.unprocessable("min_new_tokens must be at most \(limits.maxNewTokensLimit)", type: "invalid_parameter")
        }
        if g.numBeams > limits.maxBeamsLimit {
            throw APIError.unprocessable("num_beams must be at most \(limits.maxBeamsLimit)", type: "invalid_parameter")
        }
        do {
            try g.validate()
        } catch BlipModelError.invalidInput(let message) {
            throw APIError.unprocessable(message, type: "invalid_parameter")
        }
        return g
    }
}
