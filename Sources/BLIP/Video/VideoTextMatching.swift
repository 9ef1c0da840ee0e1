import Foundation

/// How well a text describes a video, as official BLIP's zero-shot text-video retrieval
/// (`eval_retrieval_video.py`) scores it.
public struct VideoTextMatch: Sendable, Equatable {
    /// Cosine of the normalised mean of the frames' projected [CLS] features with the text's ITC vector.
    public var itc: Float
    /// ITM logits [no match, match] over the frames' states concatenated, `[ENC]` first.
    public var itmLogits: [Float]
    /// itm logit[1] + itc: the official retrieval score.
    public var score: Float { itmLogits[1] + itc }
    /// softmax(itmLogits)[1].
    public var itmProbability: Float { BlipForImageTextRetrieval.matchProbability(itmLogits) }
}

extension BlipImageTextMatcher {
    /// Encodes a video's frames as official BLIP does for zero-shot retrieval: each frame through
    /// the ViT; ITC vector = normalize(mean over frames of vision_proj(CLS)); ITM states = every
    /// frame's states concatenated ([frames × tokens, C]).
    public func encodeVideo(_ frames: [RGBImage]) throws -> BlipImageEncoding {
        guard !frames.isEmpty else { throw BlipModelError.invalidInput("a video needs at least one frame") }
        let c = model.config.visionConfig.hiddenSize
        var states = [Float](), mean = [Float](repeating: 0, count: embeddingSize), tokens = 0
        for start in stride(from: 0, to: frames.count, by: max(1, imageBatchSize)) {
            let batch = Array(frames[start..<min(start + max(1, imageBatchSize), frames.count)])
            let embeds = model.imageEmbeddings(try pixelValues(batch)).contiguous()  // [F, N, C]
            let n = embeds.shape[1]
            tokens += batch.count * n
            states += embeds.scalars
            let cls = Tensor(uninitializedShape: [batch.count, c])
            for f in 0..<batch.count { (cls.mutablePointer + f * c).update(from: embeds.pointer + f * n * c, count: c) }
            let projected = model.compute.run { model.visionProj(cls) }  // [F, D], not normalised per frame
            for f in 0..<batch.count { for k in 0..<embeddingSize { mean[k] += projected.pointer[f * embeddingSize + k] } }
        }
        let norm = max(mean.reduce(0) { $0 + $1 * $1 }.squareRoot() / Float(frames.count), 1e-12)
        let embedding = mean.map { $0 / Float(frames.count) / norm }
        return try BlipImageEncoding(states: states, tokens: tokens, width: c, embedding: embedding)
    }

    /// The official zero-shot retrieval scores of every text against a video's frames.
    public func matchVideo(_ frames: [RGBImage], texts: [String]) throws -> [VideoTextMatch] {
        let video = try encodeVideo(frames)
        let logits = try itmLogits(video, texts: texts, mode: .official)
        let features = try textEmbeddings(texts)
        return zip(logits, features).map { l, t in
            VideoTextMatch(itc: zip(video.embedding, t).reduce(0) { $0 + $1.0 * $1.1 }, itmLogits: l)
        }
    }
}

extension BlipQuestionAnswerer {
    /// Encodes a video for questions as BLIP's zero-shot video QA does: every frame through the ViT,
    /// the question encoder cross-attending to all frames' states concatenated ([1, frames × N, C]).
    public func encodeVideo(_ frames: [RGBImage]) throws -> VQAImageEncoding {
        guard !frames.isEmpty else { throw BlipModelError.invalidInput("a video needs at least one frame") }
        let states = try frames.map { frame -> Tensor in
            let pixels = pixelValues(frame)
            try model.visionModel.checkInput(pixels)
            return model.imageEmbeddings(pixels)  // [1, N, C]
        }
        let video = Tensor.concat(states, dim: 1)  // [1, F·N, C]
        return VQAImageEncoding(embeddings: video, crossAttention: model.imageCrossAttention(video))
    }
}
