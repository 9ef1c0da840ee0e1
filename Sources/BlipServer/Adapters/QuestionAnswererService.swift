import BLIP
import Foundation

/// `QuestionAnsweringService` backed by a `BlipQuestionAnswerer` (BlipForQuestionAnswering):
/// each image is encoded once, then all its questions are answered in one batch (each answer as
/// if asked alone: `VQABatchMode.independent`).
public struct QuestionAnswererService: QuestionAnsweringService {
    public let answerer: BlipQuestionAnswerer
    public let description: ModelDescription

    public init(answerer: BlipQuestionAnswerer, source: String) {
        self.answerer = answerer
        self.description = ModelDescription(source: source, task: "vqa", precision: answerer.model.precision.rawValue,
                                            threads: answerer.model.compute.threads)
    }

    /// Loads the question-answering model in `modelDirectory`.
    /// Loads the model in `modelDirectory`; `source` (default: the directory) is what `/info` shows,
    /// e.g. the hub id the directory was resolved from.
    public init(modelDirectory: URL, source: String? = nil, precision: Precision = .fp32,
                compute: ComputeSettings = .automatic) throws {
        self.init(answerer: try BlipQuestionAnswerer(modelDirectory: modelDirectory, precision: precision, compute: compute), source: source ?? modelDirectory.path)
    }

    public var defaultGeneration: GenerationOptions { answerer.defaultGeneration }

    public func answers(for jobs: [QuestionJob], options: GenerationOptions) throws -> [[String]] {
        try jobs.map { job in
            let encoding = try answerer.encode(job.image)
            return try answerer.answers(job.questions, image: encoding, options: options).map(\.text)
        }
    }

    public func answerStreaming(_ image: RGBImage, question: String, options: GenerationOptions,
                                isCancelled: @escaping @Sendable () -> Bool,
                                onText: @escaping @Sendable (String) -> Void) throws -> String {
        try answerer.answerStreaming(question, image: answerer.encode(image), options: options,
                                     isCancelled: isCancelled, onText: onText).text
    }

    public func rankAnswers(_ image: RGBImage, question: String, candidates: [String], k: Int) throws -> [RankedCandidate] {
        try answerer.rankAnswers(question, image: answerer.encode(image), candidates: candidates, k: k)
            .map { RankedCandidate(answer: $0.answer, probability: Double(shortest: $0.probability)) }
    }
}
