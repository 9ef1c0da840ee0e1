import Foundation

/// BLIP-2 image-text matching and contrastive scores. Port of transformers
/// `Blip2ForImageTextRetrieval`: ITM runs the queries and the text through the Q-Former
/// together (the queries cross-attending to the image) and averages the ITM head over the query
/// outputs; ITC compares the projected query outputs with the projected [CLS] output of the
/// text alone and keeps the best query (max of the cosines).
public struct Blip2ForImageTextRetrieval: Sendable {
    public let config: Blip2Config
    public let visionModel: BlipVisionModel
    public let qformer: Blip2QFormerModel
    let queryTokens: Tensor  // [1, Q, C]
    let wordEmbeddings: Embedding  // [V, C]
    let positionEmbeddings: Tensor  // [P, C]
    let visionProjection: Linear
    let textProjection: Linear
    let itmHead: Linear
    public let compute: ComputeSettings
    /// How the Linear weights are kept.
    public let precision: Precision

    public init(config: Blip2Config, weights: WeightStore, precision: Precision = .fp32,
                compute: ComputeSettings = .automatic) throws {
        let q = config.qformerConfig, c = q.hiddenSize
        guard q.useQformerTextInput else {
            throw BlipModelError.unsupportedModel("qformer_config.use_qformer_text_input is false: not an image-text retrieval model")
        }
        let loader = WeightLoader(store: weights, precision: precision)
        let w = loader.scope("")
        self.config = config
        self.compute = compute
        self.precision = precision
        visionModel = try BlipVisionModel(w.scope("vision_model"), config: config.visionConfig)
        qformer = try Blip2QFormerModel(w.scope("qformer"), config: q)
        queryTokens = try w.tensor("query_tokens", shape: [1, config.numQueryTokens, c])
        wordEmbeddings = Embedding(weight: try w.tensor("embeddings.word_embeddings.weight", shape: [q.vocabSize, c]))
        positionEmbeddings = try w.tensor("embeddings.position_embeddings.weight", shape: [q.maxPositionEmbeddings, c])
        visionProjection = try w.linear("vision_projection", in: c, out: config.imageTextHiddenSize)
        textProjection = try w.linear("text_projection", in: c, out: config.imageTextHiddenSize)
        itmHead = try w.linear("itm_head", in: c, out: 2)
        try loader.finish()
    }

    public init(directory: URL, precision: Precision = .fp32, compute: ComputeSettings = .automatic) throws {
        try self.init(config: Blip2Config.load(directory: directory), weights: try openCheckpoint(directory: directory),
                      precision: precision, compute: compute)
    }

    /// Word + absolute position embeddings of `ids` [B, T] (`Blip2TextEmbeddings`, no LayerNorm:
    /// the Q-Former's own LayerNorm follows).
    func textEmbeddings(_ ids: [[Int]]) throws -> Tensor {
        let t = ids.first?.count ?? 0
        guard t <= positionEmbeddings.shape[0], ids.allSatisfy({ $0.count == t && $0.allSatisfy { (0..<config.qformerConfig.vocabSize).contains($0) } }) else {
            throw BlipModelError.invalidInput("text ids must be equal-length rows of at most \(positionEmbeddings.shape[0]) ids in the vocabulary")
        }
        let x = wordEmbeddings(ids), c = x.shape[2]
        for b in 0..<ids.count {
            for j in 0..<t {
                let row = x.mutablePointer + (b * t + j) * c, pos = positionEmbeddings.pointer + j * c
                for k in 0..<c { row[k] += pos[k] }
            }
        }
        return x
    }

    func queries(batch b: Int) -> Tensor {
        let q = config.numQueryTokens, c = config.qformerConfig.hiddenSize
        let tokens = Tensor(uninitializedShape: [b, q, c])
        for i in 0..<b { (tokens.mutablePointer + i * q * c).update(from: queryTokens.pointer, count: q * c) }
        return tokens
    }

    /// The vision encoder's last hidden states [B, N, Cv] of `pixelValues` [B, 3, H, W]: what ITM
    /// cross-attends to and ITC's queries read (run it once per image, score many texts).
    public func imageStates(pixelValues: Tensor) throws -> Tensor {
        try visionModel.checkInput(pixelValues)
        return compute.run { visionModel(pixelValues) }
    }

    /// ITM logits [no match, match] of image i with text i (as many texts as images).
    public func itmLogits(pixelValues: Tensor, ids: [[Int]], attentionMask: [[Int]]) throws -> [[Float]] {
        try itmLogits(imageStates: imageStates(pixelValues: pixelValues), ids: ids, attentionMask: attentionMask)
    }

    /// ITM logits [no match, match] of row i of `imageStates` [B, N, Cv] with text i.
    public func itmLogits(imageStates image: Tensor, ids: [[Int]], attentionMask: [[Int]]) throws -> [[Float]] {
        try checkStates(image)
        let b = image.shape[0], q = config.numQueryTokens
        guard ids.count == b, attentionMask.count == b,
              zip(ids, attentionMask).allSatisfy({ $0.count == $1.count }) else {
            throw BlipModelError.invalidInput("one text (ids and mask of one length) per image")
        }
        return try compute.run {
            let embeds = concatenateRows(queries(batch: b), try textEmbeddings(ids))  // [B, Q + T, C]
            let mask = attentionMask.map { Array(repeating: 1, count: q) + $0 }
            let out = qformer.forward(embeds, queryLength: q, attentionMask: mask, imageEmbeds: image)
            let logits = itmHead(out.slice(1, 0..<q).contiguous())  // [B, Q, 2]
            return (0..<b).map { i in
                (0..<2).map { k in (0..<q).reduce(Float(0)) { $0 + logits.pointer[(i * q + $1) * 2 + k] } / Float(q) }
            }
        }
    }

    /// Unit ITC vectors of every query output of each image: [B][Q][D].
    public func imageFeatures(pixelValues: Tensor) throws -> [[[Float]]] {
        try imageFeatures(imageStates: imageStates(pixelValues: pixelValues))
    }

    /// Unit ITC vectors of every query output of each row of `imageStates` [B, N, Cv]: [B][Q][D].
    public func imageFeatures(imageStates image: Tensor) throws -> [[[Float]]] {
        try checkStates(image)
        return compute.run {
            let b = image.shape[0], q = config.numQueryTokens, d = config.imageTextHiddenSize
            let out = visionProjection(qformer(queryEmbeds: queries(batch: b), imageEmbeds: image))  // [B, Q, D]
            return (0..<b).map { i in (0..<q).map { j in unit(Array(UnsafeBufferPointer(start: out.pointer + (i * q + j) * d, count: d))) } }
        }
    }

    private func checkStates(_ states: Tensor) throws {
        let v = config.visionConfig, n = (v.imageSize / v.patchSize) * (v.imageSize / v.patchSize) + 1
        guard states.shape.count == 3, states.shape[1] == n, states.shape[2] == v.hiddenSize else {
            throw BlipModelError.invalidInput("image states must be [B, \(n), \(v.hiddenSize)], got \(states.shape)")
        }
    }

    /// Unit ITC vectors of the texts' [CLS] outputs (text alone through the Q-Former): [T][D].
    public func textFeatures(ids: [[Int]], attentionMask: [[Int]]) throws -> [[Float]] {
        try compute.run {
            let out = qformer.forward(try textEmbeddings(ids), queryLength: 0, attentionMask: attentionMask, imageEmbeds: nil)
            let t = out.shape[1], c = out.shape[2], d = config.imageTextHiddenSize
            let cls = Tensor(uninitializedShape: [ids.count, c])
            for i in 0..<ids.count { (cls.mutablePointer + i * c).update(from: out.pointer + i * t * c, count: c) }
            let projected = textProjection(cls)
            return (0..<ids.count).map { unit(Array(UnsafeBufferPointer(start: projected.pointer + $0 * d, count: d))) }
        }
    }

    /// ITC scores [images][texts]: the best query's cosine with each text.
    public func itcScores(imageFeatures: [[[Float]]], textFeatures: [[Float]]) -> [[Float]] {
        imageFeatures.map { queries in
            textFeatures.map { text in queries.map { zip($0, text).reduce(0) { $0 + $1.0 * $1.1 } }.max() ?? -.infinity }
        }
    }

    private func unit(_ v: [Float]) -> [Float] {
        let n = max(v.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)  // F.normalize's eps
        return v.map { $0 / n }
    }
}
