import BLIP
import Foundation

/// `CaptionService` backed by a `BlipCaptioner` (BlipForConditionalGeneration).
public struct CaptionerService: CaptionService {
    public let captioner: BlipCaptioner
    public let description: ModelDescription

    public init(captioner: BlipCaptioner, source: String) {
        self.captioner = captioner
        self.description = ModelDescription(source: source, task: "caption", precision: captioner.model.precision.rawValue,
                                            threads: captioner.model.compute.threads)
    }

    /// Loads the captioning model in `modelDirectory`.
    /// Loads the model in `modelDirectory`; `source` (default: the directory) is what `/info` shows,
    /// e.g. the hub id the directory was resolved from.
    public init(modelDirectory: URL, source: String? = nil, precision: Precision = .fp32,
                compute: ComputeSettings = .automatic) throws {
        self.init(captioner: try BlipCaptioner(modelDirectory: modelDirectory, precision: precision, compute: compute), source: source ?? modelDirectory.path)
    }

    public var defaultGeneration: GenerationOptions { captioner.defaultGeneration }

    public func captions(for images: [RGBImage], prompt: String?, options: GenerationOptions) throws -> [String] {
        let results = try captioner.captions(for: images, options: CaptionOptions(prompt: prompt, generation: options))
        return results.map { $0.first?.text ?? "" }
    }

    public func captionSequences(for images: [RGBImage], prompt: String?, options: GenerationOptions) throws -> [[String]] {
        try captioner.captions(for: images, options: CaptionOptions(prompt: prompt, generation: options)).map { $0.map(\.text) }
    }

    public func captionStreaming(_ image: RGBImage, prompt: String?, options: GenerationOptions,
                                 isCancelled: @escaping @Sendable () -> Bool,
                                 onText: @escaping @Sendable (String) -> Void) throws -> String {
        try captioner.captionStreaming(image, options: CaptionOptions(prompt: prompt, generation: options),
                                       isCancelled: isCancelled, onText: onText).text
    }
}
