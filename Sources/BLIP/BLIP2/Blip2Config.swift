import Foundation

/// Q-Former configuration (`qformer_config`). Port of transformers `Blip2QFormerConfig`.
public struct Blip2QFormerConfig: Codable, Sendable, Equatable {
    public var hiddenSize = 768
    public var numHiddenLayers = 12
    public var numAttentionHeads = 12
    public var intermediateSize = 3072
    public var hiddenAct = "gelu"
    public var layerNormEps = 1e-12
    /// Layers `i` with `i % crossAttentionFrequency == 0` cross-attend to the image.
    public var crossAttentionFrequency = 2
    /// Width of the image states cross-attended to (the vision hidden size).
    public var encoderHiddenSize = 1408
    /// Text positions too (ITM/ITC models): adds the text feed-forward and embeddings.
    public var useQformerTextInput = false
    /// Text embeddings of the retrieval model (`embeddings.*`).
    public var vocabSize = 30522
    public var maxPositionEmbeddings = 512

    enum CodingKeys: String, CodingKey {
        case hiddenSize = "hidden_size", numHiddenLayers = "num_hidden_layers", numAttentionHeads = "num_attention_heads"
        case intermediateSize = "intermediate_size", hiddenAct = "hidden_act", layerNormEps = "layer_norm_eps"
        case crossAttentionFrequency = "cross_attention_frequency", encoderHiddenSize = "encoder_hidden_size"
        case useQformerTextInput = "use_qformer_text_input", vocabSize = "vocab_size"
        case maxPositionEmbeddings = "max_position_embeddings"
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = Blip2QFormerConfig()
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? d.hiddenSize
        numHiddenLayers = try c.decodeIfPresent(Int.self, forKey: .numHiddenLayers) ?? d.numHiddenLayers
        numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads) ?? d.numAttentionHeads
        intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? d.intermediateSize
        hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? d.hiddenAct
        layerNormEps = try c.decodeIfPresent(Double.self, forKey: .layerNormEps) ?? d.layerNormEps
        crossAttentionFrequency = try c.decodeIfPresent(Int.self, forKey: .crossAttentionFrequency) ?? d.crossAttentionFrequency
        encoderHiddenSize = try c.decodeIfPresent(Int.self, forKey: .encoderHiddenSize) ?? d.encoderHiddenSize
        useQformerTextInput = try c.decodeIfPresent(Bool.self, forKey: .useQformerTextInput) ?? d.useQformerTextInput
        vocabSize = try c.decodeIfPresent(Int.self, forKey: .vocabSize) ?? d.vocabSize
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? d.maxPositionEmbeddings
    }

    /// Why the configuration cannot be run, or nil.
    func problem() -> String? {
        if hiddenSize < 1 || numAttentionHeads < 1 || hiddenSize % numAttentionHeads != 0 {
            return "qformer_config.hidden_size \(hiddenSize) must be a positive multiple of num_attention_heads \(numAttentionHeads)"
        }
        if numHiddenLayers < 0 || intermediateSize < 1 || encoderHiddenSize < 1 { return "qformer_config has non-positive sizes" }
        if crossAttentionFrequency < 1 { return "qformer_config.cross_attention_frequency must be at least 1" }
        if hiddenAct != "gelu" { return "qformer_config.hidden_act \(hiddenAct) is not supported (only gelu)" }
        return nil
    }
}

/// BLIP-2 configuration (`model_type: blip-2`). Port of transformers `Blip2Config`: the vision
/// model (an EVA ViT with BLIP's layout), the Q-Former and the language model's config, kept
/// as JSON for the language-model side.
public struct Blip2Config: Sendable, Equatable {
    public var visionConfig: BlipVisionConfig
    public var qformerConfig: Blip2QFormerConfig
    public var numQueryTokens: Int
    /// `text_config.model_type` ("opt", "t5", ...).
    public var textModelType: String
    /// Width of the language model's input embeddings (`language_projection` output).
    public var textHiddenSize: Int
    public var imageTokenIndex: Int?
    /// Width of the ITC space of the retrieval model (`image_text_hidden_size`).
    public var imageTextHiddenSize: Int
    /// `text_config` as it is in config.json (the language model reads its own fields).
    public var textConfigJSON: [String: Any] { (try? JSONSerialization.jsonObject(with: textConfigData)) as? [String: Any] ?? [:] }
    let textConfigData: Data

    /// `config.json` of a model directory.
    public static func load(directory: URL) throws -> Blip2Config {
        let url = directory.appendingPathComponent("config.json")
        guard let data = try? Data(contentsOf: url) else {
            throw BlipModelError.unsupportedModel("\(url.path): cannot read config.json")
        }
        return try Blip2Config(data: data, source: url.path)
    }

    public init(data: Data, source: String = "config.json") throws {
        guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw BlipModelError.unsupportedModel("\(source): not a JSON object")
        }
        guard (root["model_type"] as? String) == "blip-2" else {
            throw BlipModelError.unsupportedModel("\(source): model_type is \(root["model_type"] ?? "missing"), not blip-2")
        }
        func sub<T: Decodable>(_ key: String, _ type: T.Type) throws -> T {
            let object = root[key] ?? [String: Any]()
            return try JSONDecoder().decode(T.self, from: JSONSerialization.data(withJSONObject: object))
        }
        var vision = try sub("vision_config", BlipVisionConfig.self)
        let visionObject = root["vision_config"] as? [String: Any] ?? [:]
        // Blip2VisionConfig's defaults differ from BLIP's (ViT-g/14 at 224).
        if visionObject["hidden_size"] == nil { vision.hiddenSize = 1408 }
        if visionObject["intermediate_size"] == nil { vision.intermediateSize = 6144 }
        if visionObject["num_hidden_layers"] == nil { vision.numHiddenLayers = 39 }
        if visionObject["num_attention_heads"] == nil { vision.numAttentionHeads = 16 }
        if visionObject["image_size"] == nil { vision.imageSize = 224 }
        if visionObject["patch_size"] == nil { vision.patchSize = 14 }
        if visionObject["layer_norm_eps"] == nil { vision.layerNormEps = 1e-6 }
        visionConfig = vision
        qformerConfig = try sub("qformer_config", Blip2QFormerConfig.self)
        numQueryTokens = (root["num_query_tokens"] as? NSNumber)?.intValue ?? 32
        let text = root["text_config"] as? [String: Any] ?? [:]
        textConfigData = (try? JSONSerialization.data(withJSONObject: text, options: [.sortedKeys])) ?? Data("{}".utf8)
        textModelType = text["model_type"] as? String ?? "opt"
        textHiddenSize = (text["hidden_size"] as? NSNumber)?.intValue ?? (text["d_model"] as? NSNumber)?.intValue ?? 2560
        imageTokenIndex = (root["image_token_index"] as? NSNumber)?.intValue
        imageTextHiddenSize = (root["image_text_hidden_size"] as? NSNumber)?.intValue ?? 256
        if let problem = qformerConfig.problem() { throw BlipModelError.unsupportedModel("\(source): \(problem)") }
        guard numQueryTokens >= 1, textHiddenSize >= 1 else {
            throw BlipModelError.unsupportedModel("\(source): num_query_tokens and text_config.hidden_size must be positive")
        }
        guard qformerConfig.encoderHiddenSize == visionConfig.hiddenSize else {
            throw BlipModelError.unsupportedModel(
                "\(source): qformer_config.encoder_hidden_size \(qformerConfig.encoderHiddenSize) is not vision_config.hidden_size \(visionConfig.hiddenSize)")
        }
    }
}
