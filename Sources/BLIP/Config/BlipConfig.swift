import Foundation

/// Errors about a model directory or its configuration files.
public enum BlipModelError: Error, CustomStringConvertible, Equatable, LocalizedError {
    case notADirectory(String)
    case missingFile(String)
    case invalidJSON(file: String, reason: String)
    case unsupportedModel(String)
    case missingWeight(String)
    case unusedWeights([String])
    case shapeMismatch(name: String, expected: [Int], actual: [Int])
    case invalidInput(String)

    public var description: String {
        switch self {
        case .notADirectory(let p): return "\(p) is not a model directory"
        case .missingFile(let p): return "missing file \(p)"
        case .invalidJSON(let f, let r): return "\(f) is not valid: \(r)"
        case .unsupportedModel(let m): return m
        case .missingWeight(let n): return "weight \(n) is missing from the checkpoint"
        case .unusedWeights(let names):
            let shown = names.prefix(5).joined(separator: ", ")
            return "checkpoint has \(names.count) weight(s) the model does not use: \(shown)\(names.count > 5 ? ", ..." : "")"
        case .shapeMismatch(let n, let e, let a): return "weight \(n) has shape \(a), expected \(e)"
        case .invalidInput(let m): return m
        }
    }

    public var errorDescription: String? { description }
}

/// Throws `notADirectory` unless `url` is an existing directory.
public func requireModelDirectory(_ url: URL) throws {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), isDir.boolValue else {
        throw BlipModelError.notADirectory(url.path)
    }
}

extension ImageProcessor {
    /// The processor of a model directory: its `preprocessor_config.json`, else the
    /// `image_processor` of `processor_config.json` (as transformers 5 saves a processor), or
    /// BLIP's defaults when neither is there.
    public init(modelDirectory: URL) throws {
        try requireModelDirectory(modelDirectory)
        let file = modelDirectory.appendingPathComponent("preprocessor_config.json")
        let combined = modelDirectory.appendingPathComponent("processor_config.json")
        if !FileManager.default.fileExists(atPath: file.path), let data = try? Data(contentsOf: combined),
           let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
           let nested = root["image_processor"] as? [String: Any] {
            try self.init(configData: JSONSerialization.data(withJSONObject: nested), source: combined.path + " (image_processor)")
            return
        }
        try self.init(configFile: FileManager.default.fileExists(atPath: file.path) ? file : nil)
    }
}

/// Decodes a JSON file into `T`, naming the file in every error.
func decodeJSONFile<T: Decodable>(_ type: T.Type, from url: URL) throws -> T {
    let data: Data
    do {
        data = try Data(contentsOf: url)
    } catch {
        throw BlipModelError.missingFile(url.path)
    }
    do {
        return try JSONDecoder().decode(T.self, from: data)
    } catch let DecodingError.typeMismatch(_, ctx), let DecodingError.valueNotFound(_, ctx) {
        let path = ctx.codingPath.map(\.stringValue).joined(separator: ".")
        throw BlipModelError.invalidJSON(file: url.path, reason: "\(path): \(ctx.debugDescription)")
    } catch let DecodingError.dataCorrupted(ctx) {
        if let number = JSONNumberProblem.find(T.self, in: data) {
            throw BlipModelError.invalidJSON(file: url.path, reason: number.description)
        }
        let path = ctx.codingPath.map(\.stringValue).joined(separator: ".")
        let reason = ctx.underlyingError.map { ($0 as NSError).localizedDescription } ?? ctx.debugDescription
        throw BlipModelError.invalidJSON(file: url.path, reason: path.isEmpty ? reason : "\(path): \(reason)")
    } catch let DecodingError.keyNotFound(key, ctx) {
        let path = (ctx.codingPath + [key]).map(\.stringValue).joined(separator: ".")
        throw BlipModelError.invalidJSON(file: url.path, reason: "missing field \(path)")
    } catch let error as BlipModelError {
        throw error
    } catch {
        throw BlipModelError.invalidJSON(file: url.path, reason: "\(error)")
    }
}

/// Vision transformer configuration (`vision_config` of config.json). Port of transformers
/// `BlipVisionConfig`; missing keys take its defaults.
public struct BlipVisionConfig: Codable, Sendable, Equatable {
    public var hiddenSize = 768
    public var intermediateSize = 3072
    public var numHiddenLayers = 12
    public var numAttentionHeads = 12
    public var imageSize = 384
    public var patchSize = 16
    public var hiddenAct = "gelu"
    public var layerNormEps = 1e-5

    enum CodingKeys: String, CodingKey {
        case hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
        case numHiddenLayers = "num_hidden_layers", numAttentionHeads = "num_attention_heads"
        case imageSize = "image_size", patchSize = "patch_size", hiddenAct = "hidden_act"
        case layerNormEps = "layer_norm_eps"
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = BlipVisionConfig()
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? d.hiddenSize
        intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? d.intermediateSize
        numHiddenLayers = try c.decodeIfPresent(Int.self, forKey: .numHiddenLayers) ?? d.numHiddenLayers
        numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads) ?? d.numAttentionHeads
        imageSize = try c.decodeIfPresent(Int.self, forKey: .imageSize) ?? d.imageSize
        patchSize = try c.decodeIfPresent(Int.self, forKey: .patchSize) ?? d.patchSize
        hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? d.hiddenAct
        layerNormEps = try c.decodeIfPresent(Double.self, forKey: .layerNormEps) ?? d.layerNormEps
    }

    /// Patches along one side of the configured image.
    public var gridSize: Int { imageSize / patchSize }
    /// Tokens per image: one class token plus the patches.
    public var numPositions: Int { gridSize * gridSize + 1 }
}

/// BERT text model configuration (`text_config`). Port of transformers `BlipTextConfig`.
public struct BlipTextConfig: Codable, Sendable, Equatable {
    public var vocabSize = 30524
    public var hiddenSize = 768
    public var encoderHiddenSize = 768
    public var intermediateSize = 3072
    public var numHiddenLayers = 12
    public var numAttentionHeads = 8
    public var maxPositionEmbeddings = 512
    public var hiddenAct = "gelu"
    public var layerNormEps = 1e-12
    public var bosTokenId = 30522
    public var eosTokenId = 2
    public var padTokenId = 0
    public var sepTokenId = 102

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", encoderHiddenSize = "encoder_hidden_size"
        case intermediateSize = "intermediate_size", numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads", maxPositionEmbeddings = "max_position_embeddings"
        case hiddenAct = "hidden_act", layerNormEps = "layer_norm_eps", bosTokenId = "bos_token_id"
        case eosTokenId = "eos_token_id", padTokenId = "pad_token_id", sepTokenId = "sep_token_id"
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = BlipTextConfig()
        vocabSize = try c.decodeIfPresent(Int.self, forKey: .vocabSize) ?? d.vocabSize
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? d.hiddenSize
        encoderHiddenSize = try c.decodeIfPresent(Int.self, forKey: .encoderHiddenSize) ?? d.encoderHiddenSize
        intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? d.intermediateSize
        numHiddenLayers = try c.decodeIfPresent(Int.self, forKey: .numHiddenLayers) ?? d.numHiddenLayers
        numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads) ?? d.numAttentionHeads
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? d.maxPositionEmbeddings
        hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? d.hiddenAct
        layerNormEps = try c.decodeIfPresent(Double.self, forKey: .layerNormEps) ?? d.layerNormEps
        bosTokenId = try c.decodeIfPresent(Int.self, forKey: .bosTokenId) ?? d.bosTokenId
        eosTokenId = try c.decodeIfPresent(Int.self, forKey: .eosTokenId) ?? d.eosTokenId
        padTokenId = try c.decodeIfPresent(Int.self, forKey: .padTokenId) ?? d.padTokenId
        sepTokenId = try c.decodeIfPresent(Int.self, forKey: .sepTokenId) ?? d.sepTokenId
    }
}

/// The whole `config.json` of a BLIP checkpoint. Port of transformers `BlipConfig`.
public struct BlipConfig: Codable, Sendable, Equatable {
    public var textConfig = BlipTextConfig()
    public var visionConfig = BlipVisionConfig()
    public var projectionDim = 512
    public var imageTextHiddenSize = 256
    public var modelType = "blip"
    public var architectures: [String]? = nil

    enum CodingKeys: String, CodingKey {
        case textConfig = "text_config", visionConfig = "vision_config", projectionDim = "projection_dim"
        case imageTextHiddenSize = "image_text_hidden_size", modelType = "model_type", architectures
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        textConfig = try c.decodeIfPresent(BlipTextConfig.self, forKey: .textConfig) ?? BlipTextConfig()
        visionConfig = try c.decodeIfPresent(BlipVisionConfig.self, forKey: .visionConfig) ?? BlipVisionConfig()
        projectionDim = try c.decodeIfPresent(Int.self, forKey: .projectionDim) ?? 512
        imageTextHiddenSize = try c.decodeIfPresent(Int.self, forKey: .imageTextHiddenSize) ?? 256
        modelType = try c.decodeIfPresent(String.self, forKey: .modelType) ?? "blip"
        architectures = try c.decodeIfPresent([String].self, forKey: .architectures)
    }

    /// Reads `config.json` in `directory` and checks that it describes a BLIP model.
    public static func load(directory: URL) throws -> BlipConfig {
        try requireModelDirectory(directory)
        return try load(file: directory.appendingPathComponent("config.json"))
    }

    /// Reads a config.json file and checks that it describes a BLIP model.
    public static func load(file url: URL) throws -> BlipConfig {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw BlipModelError.missingFile(url.path)
        }
        if configModelType(url.deletingLastPathComponent(), file: url.lastPathComponent) == "blip-2" {
            throw BlipModelError.unsupportedModel("\(url.path): a BLIP-2 model (model_type \"blip-2\") where a BLIP model is needed "
                + "(caption, vqa, match, embed, index and serve take both)")
        }
        let config = try decodeJSONFile(BlipConfig.self, from: url)
        guard config.modelType == "blip" else {
            throw BlipModelError.unsupportedModel(
                "\(url.path): model_type is \"\(config.modelType)\", expected \"blip\"")
        }
        if let problem = config.problem() { throw BlipModelError.invalidJSON(file: url.path, reason: problem) }
        return config
    }
}
