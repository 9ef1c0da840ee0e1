import BLIP
import Foundation

/// `CaptionService` backed by a `BlipCaptioner` (BlipForConditionalGeneration).
public struct CaptionerService: CaptionService {
    public let captioner: BlipCaptioner
    public let description: ModelDescription

    public init(captioner: BlipCaptioner, source: String) {
        self.captioner = captioner
        self.description = ModelDescription(source: source, task: "caption")
    }

    /// Loads the captioning model in `modelDirectory`.
    public init(modelDirectory: URL) throws {
        self.init(captioner: try BlipCaptioner(modelDirectory: modelDirectory), source: modelDirectory.path)
    }

    public var defaultGeneration: GenerationOptions { captioner.defaultGeneration }

    public func captions(for images: [RGBImage], prompt: String?, options: GenerationOptions) throws -> [String] {
        let results = try captioner.captions(for: images, options: CaptionOptions(prompt: prompt, generation: options))
        return results.map { $0.first?.text ?? "" }
    }
}
