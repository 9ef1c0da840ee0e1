import Foundation

/// Bounds on the `config.json` values that size memory or index tensors. They are far above
/// every published BLIP checkpoint (ViT-L: hidden 1024, 24 layers, image 384) and stop a hostile
/// or mistyped file from allocating until the process dies, dividing by zero, or indexing
/// outside an embedding table.
public enum BlipConfigLimits {
    public static let maxHiddenSize = 16_384
    public static let maxIntermediateSize = 131_072
    public static let maxLayers = 256
    public static let maxAttentionHeads = 1_024
    public static let maxVocabSize = 1 << 20
    public static let maxPositionEmbeddings = 65_536
    public static let maxImageSize = 4_096
}

/// The first problem in a list of named integer checks.
private func firstRangeProblem(_ checks: [(String, Int, ClosedRange<Int>)]) -> String? {
    for (name, value, range) in checks where !range.contains(value) {
        return "\(name) must be between \(range.lowerBound) and \(range.upperBound), got \(value)"
    }
    return nil
}

extension BlipVisionConfig {
    /// The first value out of its sane range (`prefix` names the section, e.g. "vision_config"),
    /// or nil when every value is usable.
    public func problem(prefix: String = "vision_config") -> String? {
        typealias L = BlipConfigLimits
        if let p = firstRangeProblem([
            ("\(prefix).hidden_size", hiddenSize, 1...L.maxHiddenSize),
            ("\(prefix).intermediate_size", intermediateSize, 1...L.maxIntermediateSize),
            ("\(prefix).num_hidden_layers", numHiddenLayers, 0...L.maxLayers),
            ("\(prefix).num_attention_heads", numAttentionHeads, 1...L.maxAttentionHeads),
            ("\(prefix).image_size", imageSize, 1...L.maxImageSize),
            ("\(prefix).patch_size", patchSize, 1...max(1, imageSize)),
        ]) { return p }
        if hiddenSize % numAttentionHeads != 0 {
            return "\(prefix).hidden_size \(hiddenSize) is not divisible by num_attention_heads \(numAttentionHeads)"
        }
        if !layerNormEps.isFinite || layerNormEps < 0 {
            return "\(prefix).layer_norm_eps must be a finite non-negative number, got \(layerNormEps)"
        }
        return nil
    }
}

extension BlipTextConfig {
    /// The first value out of its sane range, token ids outside the vocabulary included, or nil.
    public func problem(prefix: String = "text_config") -> String? {
        typealias L = BlipConfigLimits
        if let p = firstRangeProblem([
            ("\(prefix).vocab_size", vocabSize, 1...L.maxVocabSize),
            ("\(prefix).hidden_size", hiddenSize, 1...L.maxHiddenSize),
            ("\(prefix).encoder_hidden_size", encoderHiddenSize, 1...L.maxHiddenSize),
            ("\(prefix).intermediate_size", intermediateSize, 1...L.maxIntermediateSize),
            ("\(prefix).num_hidden_layers", numHiddenLayers, 0...L.maxLayers),
            ("\(prefix).num_attention_heads", numAttentionHeads, 1...L.maxAttentionHeads),
            ("\(prefix).max_position_embeddings", maxPositionEmbeddings, 2...L.maxPositionEmbeddings),
        ]) { return p }
        if hiddenSize % numAttentionHeads != 0 {
            return "\(prefix).hidden_size \(hiddenSize) is not divisible by num_attention_heads \(numAttentionHeads)"
        }
        for (name, id) in [("bos_token_id", bosTokenId), ("eos_token_id", eosTokenId),
                           ("pad_token_id", padTokenId), ("sep_token_id", sepTokenId)]
        where !(0..<vocabSize).contains(id) {
            return "\(prefix).\(name) \(id) is outside the vocabulary (0..<\(vocabSize), vocab_size \(vocabSize))"
        }
        if !layerNormEps.isFinite || layerNormEps < 0 {
            return "\(prefix).layer_norm_eps must be a finite non-negative number, got \(layerNormEps)"
        }
        return nil
    }
}

extension BlipConfig {
    /// The first value of the whole config out of its sane range, or nil.
    public func problem() -> String? {
        if let p = visionConfig.problem() { return p }
        if let p = textConfig.problem() { return p }
        return firstRangeProblem([
            ("projection_dim", projectionDim, 1...BlipConfigLimits.maxHiddenSize),
            ("image_text_hidden_size", imageTextHiddenSize, 1...BlipConfigLimits.maxHiddenSize),
        ])
    }
}

extension WeightScope {
    /// The layer indices present under `name` (`encoder.layers` → {0, 1, ...}), read from the
    /// tensor names alone, before anything is allocated.
    /// Whether the checkpoint holds the tensor `name` (under this scope).
    func has(_ name: String) -> Bool { loader.store.tensorNames.contains(key(name)) }

    /// Marks `name` used without loading it (a tied copy the model reads elsewhere).
    func markUsed(_ name: String) { loader.markUsed(key(name)) }

    func childIndices(_ name: String) -> Set<Int> {
        let prefix = key(name) + "."
        var indices = Set<Int>()
        for tensor in loader.store.tensorNames where tensor.hasPrefix(prefix) {
            let rest = tensor.dropFirst(prefix.count)
            if let dot = rest.firstIndex(of: "."), let i = Int(rest[..<dot]) { indices.insert(i) }
        }
        return indices
    }

    /// Throws unless the checkpoint holds exactly layers `0..<count` under `name`.
    func requireLayers(_ name: String, count: Int, configField: String) throws {
        let present = childIndices(name)
        guard present == Set(0..<count) else {
            throw BlipModelError.unsupportedModel(
                "\(configField) is \(count) but the checkpoint has \(present.count) layer(s) under \(key(name))")
        }
    }
}

/// Checks that a pipeline's files agree with `config.json`: the preprocessor makes the images
/// the vision model expects, and every tokenizer id is inside the model's vocabulary.
func checkModelFiles(_ directory: URL, config: BlipConfig, tokenizer: BertTokenizer, imageProcessor: ImageProcessor) throws {
    try imageProcessor.checkCompatible(
        with: config.visionConfig, source: directory.appendingPathComponent("preprocessor_config.json").path)
    let vocab = config.textConfig.vocabSize
    guard tokenizer.count <= vocab else {
        throw BlipModelError.unsupportedModel(
            "the tokenizer files in \(directory.path) have \(tokenizer.count) tokens, but config.json text_config.vocab_size is \(vocab)")
    }
}
