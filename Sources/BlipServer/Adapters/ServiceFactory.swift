import BLIP
import BLIPIndex
import Foundation

/// Builds the services a model directory provides.
public enum ServiceFactory {
    /// Captioning (BlipForConditionalGeneration or Blip2ForConditionalGeneration) from a model directory.
    public static func caption(modelDirectory: URL, source: String? = nil, precision: Precision = .fp32,
                compute: ComputeSettings = .automatic) throws -> any CaptionService {
        if Blip2Config.isBlip2(directory: modelDirectory) {
            return Blip2CaptionerService(
                captioner: try Blip2Captioner(modelDirectory: modelDirectory, precision: precision, compute: compute),
                source: source ?? modelDirectory.path)
        }
        return try CaptionerService(modelDirectory: modelDirectory, source: source, precision: precision, compute: compute)
    }

    /// Visual question answering (BlipForQuestionAnswering, or a BLIP-2 model asked
    /// "Question: … Answer:") from a model directory.
    public static func questionAnswering(modelDirectory: URL, source: String? = nil, precision: Precision = .fp32,
                compute: ComputeSettings = .automatic) throws -> any QuestionAnsweringService {
        if Blip2Config.isBlip2(directory: modelDirectory) {
            return Blip2QuestionAnswererService(
                captioner: try Blip2Captioner(modelDirectory: modelDirectory, precision: precision, compute: compute),
                source: source ?? modelDirectory.path)
        }
        return try QuestionAnswererService(modelDirectory: modelDirectory, source: source, precision: precision, compute: compute)
    }

    /// Image-text matching (BlipForImageTextRetrieval or Blip2ForImageTextRetrieval) from a model directory.
    public static func match(modelDirectory: URL, source: String? = nil, precision: Precision = .fp32,
                compute: ComputeSettings = .automatic) throws -> any MatchService {
        try ImageTextMatcherService(modelDirectory: modelDirectory, source: source, precision: precision, compute: compute)
    }

    /// Image-text matching plus search over the index at `indexPath` (built with this model),
    /// sharing one loaded model.
    public static func matchAndSearch(modelDirectory: URL, indexPath: String, source: String? = nil,
                                      precision: Precision = .fp32, compute: ComputeSettings = .automatic,
                                      maxPixels: Int = RGBImage.defaultMaxPixels) throws -> (any MatchService, any ImageSearchService) {
        let matcher = try loadImageTextMatcher(modelDirectory: modelDirectory, precision: precision, compute: compute)
        let model = try BlipIndexModel(matcher: matcher, modelDirectory: modelDirectory)
        return (ImageTextMatcherService(matcher: matcher, source: source ?? modelDirectory.path),
                try IndexSearchService(indexPath: indexPath, model: model, maxPixels: maxPixels))
    }
}
