import BLIP
import Foundation

/// `MatchService` backed by an image-text matcher (BLIP's `BlipForImageTextRetrieval` or BLIP-2's
/// `Blip2ForImageTextRetrieval`): each image is encoded once and scored against all its texts (ITM
/// probability and ITC cosine), with transformers' input convention (`ITMInputMode.transformers`).
public struct ImageTextMatcherService: MatchService {
    public let matcher: any ImageTextMatching
    public let description: ModelDescription

    public init(matcher: any ImageTextMatching, source: String) {
        self.matcher = matcher
        self.description = ModelDescription(source: source, task: "itm", precision: matcher.precision.rawValue,
                                            threads: matcher.compute.threads)
    }

    /// Loads the model in `modelDirectory`; `source` (default: the directory) is what `/info` shows,
    /// e.g. the hub id the directory was resolved from.
    public init(modelDirectory: URL, source: String? = nil, precision: Precision = .fp32,
                compute: ComputeSettings = .automatic) throws {
        self.init(matcher: try loadImageTextMatcher(modelDirectory: modelDirectory, precision: precision, compute: compute),
                  source: source ?? modelDirectory.path)
    }

    public func embeddings(images: [RGBImage]) throws -> [[Float]] { try matcher.imageEmbeddings(images) }

    public var vectorsPerImage: Int { matcher.vectorsPerImage }

    public func embeddings(texts: [String]) throws -> [[Float]] { try matcher.textEmbeddings(texts) }

    public func scores(for jobs: [MatchJob]) throws -> [[MatchScore]] {
        // One vision pass for the batch.
        try matcher.match(images: jobs.map(\.image), texts: jobs.map(\.texts), mode: .transformers).map { matches in
            matches.map { MatchScore(itmProbability: Double(shortest: $0.itmProbability), itcCosine: Double(shortest: $0.itcCosine)) }
        }
    }
}
