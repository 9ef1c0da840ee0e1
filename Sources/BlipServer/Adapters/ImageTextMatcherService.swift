import BLIP
import Foundation

/// `MatchService` backed by a `BlipImageTextMatcher` (BlipForImageTextRetrieval): each image is
/// encoded once and scored against all its texts (ITM probability and ITC cosine), with
/// transformers' input convention (`ITMInputMode.transformers`).
public struct ImageTextMatcherService: MatchService {
    public let matcher: BlipImageTextMatcher
    public let description: ModelDescription

    public init(matcher: BlipImageTextMatcher, source: String) {
        self.matcher = matcher
        self.description = ModelDescription(source: source, task: "itm", precision: matcher.model.precision.rawValue,
                                            threads: matcher.model.compute.threads)
    }

    /// Loads the image-text matching model in `modelDirectory`.
    /// Loads the model in `modelDirectory`; `source` (default: the directory) is what `/info` shows,
    /// e.g. the hub id the directory was resolved from.
    public init(modelDirectory: URL, source: String? = nil, precision: Precision = .fp32,
                compute: ComputeSettings = .automatic) throws {
        self.init(matcher: try BlipImageTextMatcher(modelDirectory: modelDirectory, precision: precision, compute: compute), source: source ?? modelDirectory.path)
    }

    public func embeddings(images: [RGBImage]) throws -> [[Float]] { try matcher.imageEmbeddings(images) }

    public func embeddings(texts: [String]) throws -> [[Float]] { try matcher.textEmbeddings(texts) }

    public func scores(for jobs: [MatchJob]) throws -> [[MatchScore]] {
        let encodings = try matcher.encode(jobs.map(\.image))  // one vision pass for the batch
        return try zip(jobs, encodings).map { job, encoding in
            try matcher.match(encoding, texts: job.texts, mode: .transformers).map {
                MatchScore(itmProbability: Double(shortest: $0.itmProbability), itcCosine: Double(shortest: $0.itcCosine))
            }
        }
    }
}
