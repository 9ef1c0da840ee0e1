import BLIP
import Foundation

/// Builds the services a model directory provides.
public enum ServiceFactory {
    /// Captioning (BlipForConditionalGeneration) from a model directory.
    public static func caption(modelDirectory: URL, source: String? = nil, precision: Precision = .fp32,
                compute: ComputeSettings = .automatic) throws -> any CaptionService {
        try CaptionerService(modelDirectory: modelDirectory, source: source, precision: precision, compute: compute)
    }

    /// Visual question answering (BlipForQuestionAnswering) from a model directory.
    public static func questionAnswering(modelDirectory: URL, source: String? = nil, precision: Precision = .fp32,
                compute: ComputeSettings = .automatic) throws -> any QuestionAnsweringService {
        try QuestionAnswererService(modelDirectory: modelDirectory, source: source, precision: precision, compute: compute)
    }

    /// Image-text matching (BlipForImageTextRetrieval) from a model directory.
    public static func match(modelDirectory: URL, source: String? = nil, precision: Precision = .fp32,
                compute: ComputeSettings = .automatic) throws -> any MatchService {
        try ImageTextMatcherService(modelDirectory: modelDirectory, source: source, precision: precision, compute: compute)
    }
}
