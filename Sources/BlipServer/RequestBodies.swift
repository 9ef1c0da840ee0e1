import BLIP
import Foundation

/// `POST /api/v1/inference/blip` body: generation options at the top level or under "parameters"
/// (those win). Unknown fields are refused (a misspelt option would otherwise be ignored).
struct InferenceRequest: Decodable {
    var image: String
    var question: String?
    var prompt: String?
    /// Server-sent events, token by token.
    var stream: Bool?
    /// Rank mode: the answers to rank for `question`, and how many to keep.
    var candidates: [String]?
    var k: Int?
    var parameters: GenerationParameters

    enum CodingKeys: String, CodingKey, CaseIterable { case image, question, prompt, stream, candidates, k, parameters }

    init(from decoder: Decoder) throws {
        try rejectUnknownFields(decoder, known: CodingKeys.allCases.map(\.rawValue) + GenerationParameters.keys)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        image = try c.decode(String.self, forKey: .image)
        question = try c.decodeIfPresent(String.self, forKey: .question)
        prompt = try c.decodeIfPresent(String.self, forKey: .prompt)
        stream = try c.decodeIfPresent(Bool.self, forKey: .stream)
        candidates = try c.decodeIfPresent([String].self, forKey: .candidates)
        k = try c.decodeIfPresent(Int.self, forKey: .k)
        let nested = try decodeParameters(c, forKey: .parameters)
        parameters = try GenerationParameters(from: decoder).overridden(by: nested)
    }
}

/// `POST /embed` JSON body: exactly one of an image or a text.
struct EmbedRequest: Decodable {
    var image: String?
    var text: String?

    enum CodingKeys: String, CodingKey, CaseIterable { case image, text }

    init(from decoder: Decoder) throws {
        try rejectUnknownFields(decoder, known: CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        image = try c.decodeIfPresent(String.self, forKey: .image)
        text = try c.decodeIfPresent(String.self, forKey: .text)
    }
}

/// `POST /match` JSON body.
struct MatchRequest: Decodable {
    var image: String
    var texts: [String]

    enum CodingKeys: String, CodingKey, CaseIterable { case image, texts }

    init(from decoder: Decoder) throws {
        try rejectUnknownFields(decoder, known: CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        image = try c.decode(String.self, forKey: .image)
        texts = try c.decode([String].self, forKey: .texts)
    }
}

/// `POST /` (hosted-handler) body.
struct HostedRequest: Decodable {
    struct Inputs: Decodable {
        var texts: [[String]]?
        var images: [HostedImage]

        enum CodingKeys: String, CodingKey, CaseIterable { case texts, images }

        init(from decoder: Decoder) throws {
            try rejectUnknownFields(decoder, known: CodingKeys.allCases.map(\.rawValue))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            texts = try c.decodeIfPresent([[String]].self, forKey: .texts)
            images = try c.decode([HostedImage].self, forKey: .images)
        }
    }
    struct HostedImage: Decodable {
        var b64: String?
        var url: String?

        enum CodingKeys: String, CodingKey, CaseIterable { case b64, url }

        init(from decoder: Decoder) throws {
            try rejectUnknownFields(decoder, known: CodingKeys.allCases.map(\.rawValue))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            b64 = try c.decodeIfPresent(String.self, forKey: .b64)
            url = try c.decodeIfPresent(String.self, forKey: .url)
        }
    }
    var inputs: Inputs
    var parameters: GenerationParameters?

    enum CodingKeys: String, CodingKey, CaseIterable { case inputs, parameters }

    init(from decoder: Decoder) throws {
        try rejectUnknownFields(decoder, known: CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        inputs = try c.decode(Inputs.self, forKey: .inputs)
        parameters = try decodeParameters(c, forKey: .parameters)
    }
}

/// The generation options object at `key` (unknown option names refused), nil when absent or null.
func decodeParameters<K: CodingKey>(_ c: KeyedDecodingContainer<K>, forKey key: K) throws -> GenerationParameters? {
    guard c.contains(key), try !c.decodeNil(forKey: key) else { return nil }
    let nested = try c.superDecoder(forKey: key)
    try rejectUnknownFields(nested, known: GenerationParameters.keys)
    return try GenerationParameters(from: nested)
}
