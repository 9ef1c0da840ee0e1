import BLIP
import Foundation

/// `CaptionService` backed by a `Blip2Captioner` (Blip2ForConditionalGeneration): the images of
/// a batch go through the model together; a prompt's text is repeated at the start of OPT's
/// captions, as transformers decodes them.
public struct Blip2CaptionerService: CaptionService {
    public let captioner: Blip2Captioner
    public let description: ModelDescription

    public init(captioner: Blip2Captioner, source: String, task: String = "caption") {
        self.captioner = captioner
        self.description = ModelDescription(source: source, task: task, precision: captioner.model.precision.rawValue,
                                            threads: captioner.model.compute.threads)
    }

    public var defaultGeneration: GenerationOptions { captioner.defaultGeneration }

    public func captions(for images: [RGBImage], prompt: String?, options: GenerationOptions) throws -> [String] {
        try captionSequences(for: images, prompt: prompt, options: options).map { $0.first ?? "" }
    }

    public func captionSequences(for images: [RGBImage], prompt: String?, options: GenerationOptions) throws -> [[String]] {
        try captioner.generate(images, prompt: prompt, options: options)
    }

    public func captionStreaming(_ image: RGBImage, prompt: String?, options: GenerationOptions,
                                 isCancelled: @escaping @Sendable () -> Bool,
                                 onText: @escaping @Sendable (String) -> Void) throws -> String {
        try captioner.generateStreaming(image, prompt: prompt, options: options, isCancelled: isCancelled, onText: onText)
    }
}

/// `QuestionAnsweringService` backed by a `Blip2Captioner`: each question is asked as
/// `Question: … Answer:` and the answer is the text generated after it. BLIP-2 has no rank mode.
public struct Blip2QuestionAnswererService: QuestionAnsweringService {
    public let captioner: Blip2Captioner
    public let description: ModelDescription

    public init(captioner: Blip2Captioner, source: String) {
        self.captioner = captioner
        self.description = ModelDescription(source: source, task: "vqa", precision: captioner.model.precision.rawValue,
                                            threads: captioner.model.compute.threads)
    }

    public var defaultGeneration: GenerationOptions { captioner.defaultGeneration }

    public func answers(for jobs: [QuestionJob], options: GenerationOptions) throws -> [[String]] {
        try jobs.map { job in
            try job.questions.map { try captioner.answers([job.image], question: $0, options: options)[0].first ?? "" }
        }
    }

    public func answerStreaming(_ image: RGBImage, question: String, options: GenerationOptions,
                                isCancelled: @escaping @Sendable () -> Bool,
                                onText: @escaping @Sendable (String) -> Void) throws -> String {
        try captioner.generateStreaming(image, question: question, options: options, isCancelled: isCancelled, onText: onText)
    }

    public func rankAnswers(_ image: RGBImage, question: String, candidates: [String], k: Int) throws -> [RankedCandidate] {
        throw APIError.unprocessable("answer ranking (\"candidates\") needs a BLIP VQA model, not BLIP-2", type: "unsupported")
    }
}
