import BLIP
import Foundation

/// What the server knows about a loaded model (shown by `GET /info`).
public struct ModelDescription: Sendable, Equatable, Codable {
    /// Model directory (or a hub id), as given on the command line.
    public var source: String
    /// The kind of model: "caption", "vqa" or "itm".
    public var task: String
    /// The precision its Linear weights run in ("fp32", "bf16", "int8").
    public var precision: String?
    /// Threads its calls use (its own compute settings).
    public var threads: Int?

    public init(source: String, task: String, precision: String? = nil, threads: Int? = nil) {
        self.source = source
        self.task = task
        self.precision = precision
        self.threads = threads
    }
}

/// Image captioning behind the server. Batch in, batch out: one caption per image.
///
/// Called on a dedicated model thread (never on the event loop); implementations may block.
public protocol CaptionService: Sendable {
    var description: ModelDescription { get }
    /// The checkpoint's generation defaults; request options override them.
    var defaultGeneration: GenerationOptions { get }
    /// One caption per image. `prompt` conditions the captions (nil: unconditional).
    func captions(for images: [RGBImage], prompt: String?, options: GenerationOptions) throws -> [String]
    /// `options.numReturnSequences` captions per image, best first (the default gives
    /// `captions(for:prompt:options:)`'s one).
    func captionSequences(for images: [RGBImage], prompt: String?, options: GenerationOptions) throws -> [[String]]
    /// One caption of one image, calling `onText` with the text so far as tokens are generated
    /// and last with the final caption (`"stream": true`). Stops with `CancellationError` once
    /// `isCancelled` returns true (the client went away).
    func captionStreaming(_ image: RGBImage, prompt: String?, options: GenerationOptions,
                          isCancelled: @escaping @Sendable () -> Bool,
                          onText: @escaping @Sendable (String) -> Void) throws -> String
}

extension CaptionService {
    public func captionSequences(for images: [RGBImage], prompt: String?, options: GenerationOptions) throws -> [[String]] {
        try captions(for: images, prompt: prompt, options: options).map { [$0] }
    }

    /// Default: no token steps, only the final caption.
    public func captionStreaming(_ image: RGBImage, prompt: String?, options: GenerationOptions,
                                 isCancelled: @escaping @Sendable () -> Bool,
                                 onText: @escaping @Sendable (String) -> Void) throws -> String {
        let caption = try captions(for: [image], prompt: prompt, options: options).first ?? ""
        onText(caption)
        return caption
    }
}

/// One image with the questions asked about it (the image is encoded once for all of them).
public struct QuestionJob: Sendable {
    public var image: RGBImage
    public var questions: [String]

    public init(image: RGBImage, questions: [String]) {
        self.image = image
        self.questions = questions
    }
}

/// Visual question answering behind the server. Batch in, batch out: for each job, one answer per
/// question, in order. Called on a dedicated model thread; implementations may block.
public protocol QuestionAnsweringService: Sendable {
    var description: ModelDescription { get }
    var defaultGeneration: GenerationOptions { get }
    func answers(for jobs: [QuestionJob], options: GenerationOptions) throws -> [[String]]
    /// One answer, streamed as `CaptionService.captionStreaming` streams a caption.
    func answerStreaming(_ image: RGBImage, question: String, options: GenerationOptions,
                         isCancelled: @escaping @Sendable () -> Bool,
                         onText: @escaping @Sendable (String) -> Void) throws -> String
    /// The official BLIP rank mode: `candidates` ranked for `question`, the best `k` kept, best
    /// first, with probabilities summing to 1 over them.
    func rankAnswers(_ image: RGBImage, question: String, candidates: [String], k: Int) throws -> [RankedCandidate]
}

/// One candidate answer of the rank mode.
public struct RankedCandidate: Sendable, Equatable {
    public var answer: String
    public var probability: Double

    public init(answer: String, probability: Double) {
        self.answer = answer
        self.probability = probability
    }
}

extension QuestionAnsweringService {
    /// Default: no token steps, only the final answer.
    public func answerStreaming(_ image: RGBImage, question: String, options: GenerationOptions,
                                isCancelled: @escaping @Sendable () -> Bool,
                                onText: @escaping @Sendable (String) -> Void) throws -> String {
        let answer = try answers(for: [QuestionJob(image: image, questions: [question])], options: options).first?.first ?? ""
        onText(answer)
        return answer
    }

    public func rankAnswers(_ image: RGBImage, question: String, candidates: [String], k: Int) throws -> [RankedCandidate] {
        throw APIError.unprocessable("this question-answering model does not rank candidate answers", type: "unsupported")
    }
}

/// One image with the texts to score against it.
public struct MatchJob: Sendable {
    public var image: RGBImage
    public var texts: [String]

    public init(image: RGBImage, texts: [String]) {
        self.image = image
        self.texts = texts
    }
}

/// The scores of one (image, text) pair.
public struct MatchScore: Sendable, Equatable, Codable {
    /// Probability that the text matches the image (ITM head, softmax over {no, yes}).
    public var itmProbability: Double
    /// Cosine similarity of the projected image and text embeddings (ITC).
    public var itcCosine: Double

    public init(itmProbability: Double, itcCosine: Double) {
        self.itmProbability = itmProbability
        self.itcCosine = itcCosine
    }

    enum CodingKeys: String, CodingKey {
        case itmProbability = "itm_probability", itcCosine = "itc_cosine"
    }
}

/// Image-text matching behind the server. Batch in, batch out: for each job one score per text.
/// Called on a dedicated model thread; implementations may block.
public protocol MatchService: Sendable {
    var description: ModelDescription { get }
    func scores(for jobs: [MatchJob]) throws -> [[MatchScore]]
    /// Unit ITC embeddings of images (`POST /embed`), one per image: `vectorsPerImage` vectors
    /// concatenated.
    func embeddings(images: [RGBImage]) throws -> [[Float]]
    /// ITC vectors per image embedding: 1 for BLIP, one per Q-Former query (32) for BLIP-2.
    var vectorsPerImage: Int { get }
    /// Unit ITC embeddings of texts (`POST /embed`), one per text.
    func embeddings(texts: [String]) throws -> [[Float]]
}

extension MatchService {
    public var vectorsPerImage: Int { 1 }

    public func embeddings(images: [RGBImage]) throws -> [[Float]] {
        throw APIError.unprocessable("this matching model does not provide embeddings", type: "unsupported")
    }

    public func embeddings(texts: [String]) throws -> [[Float]] {
        throw APIError.unprocessable("this matching model does not provide embeddings", type: "unsupported")
    }
}

/// The models a server runs; any of them may be absent (its endpoints then answer 404/422).
public struct BlipServices: Sendable {
    public var caption: (any CaptionService)?
    public var questionAnswering: (any QuestionAnsweringService)?
    public var match: (any MatchService)?
    /// Image search over an index (`/search`, `/thumbnail`).
    public var search: (any ImageSearchService)?

    public init(caption: (any CaptionService)? = nil, questionAnswering: (any QuestionAnsweringService)? = nil,
                match: (any MatchService)? = nil, search: (any ImageSearchService)? = nil) {
        self.caption = caption
        self.questionAnswering = questionAnswering
        self.match = match
        self.search = search
    }
}
