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
}

extension CaptionService {
    public func captionSequences(for images: [RGBImage], prompt: String?, options: GenerationOptions) throws -> [[String]] {
        try captions(for: images, prompt: prompt, options: options).map { [$0] }
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
    /// Unit ITC embeddings of images (`POST /embed`), one per image.
    func embeddings(images: [RGBImage]) throws -> [[Float]]
    /// Unit ITC embeddings of texts (`POST /embed`), one per text.
    func embeddings(texts: [String]) throws -> [[Float]]
}

extension MatchService {
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

    public init(caption: (any CaptionService)? = nil, questionAnswering: (any QuestionAnsweringService)? = nil,
                match: (any MatchService)? = nil) {
        self.caption = caption
        self.questionAnswering = questionAnswering
        self.match = match
    }
}
