import BLIP
import Foundation

/// Builds the services a model directory provides.
public enum ServiceFactory {
    /// Captioning (BlipForConditionalGeneration) from a model directory.
    public static func caption(modelDirectory: URL) throws -> any CaptionService {
        try CaptionerService(modelDirectory: modelDirectory)
    }

    /// Visual question answering (BlipForQuestionAnswering) from a model directory.
    public static func questionAnswering(modelDirectory: URL) throws -> any QuestionAnsweringService {
        try QuestionAnswererService(modelDirectory: modelDirectory)
    }

    /// Image-text matching (BlipForImageTextRetrieval) from a model directory.
    public static func match(modelDirectory: URL) throws -> any MatchService {
        try ImageTextMatcherService(modelDirectory: modelDirectory)
    }
}
