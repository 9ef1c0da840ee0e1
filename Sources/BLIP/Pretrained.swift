import BLIPHub
import Foundation

// Pipelines from a hub id (or a local directory), as `from_pretrained` takes them: an existing
// directory wins; otherwise the Hugging Face cache, downloading what is missing (HF_ENDPOINT,
// HF_TOKEN, HF_HUB_OFFLINE, see `ModelResolver`). `hub` sets the client, e.g. a download progress
// callback: `hub: HubClient(onProgress: { print($0.file, $0.bytes, $0.totalBytes ?? 0) })`.

extension BlipCaptioner {
    /// The captioner of `model`: a directory or a hub id `OWNER/NAME[@REVISION]`.
    ///
    /// ```swift
    /// let captioner = try BlipCaptioner(pretrained: "Salesforce/blip-image-captioning-base")
    /// ```
    public init(pretrained model: String = ModelResolver.defaultModel, precision: Precision = .fp32,
                compute: ComputeSettings = .automatic, hub: HubClient = HubClient()) throws {
        try self.init(modelDirectory: ModelResolver.resolve(model, client: hub), precision: precision, compute: compute)
    }
}

extension BlipQuestionAnswerer {
    /// The question answerer of `model`: a directory or a hub id.
    public init(pretrained model: String = ModelResolver.defaultVQAModel, precision: Precision = .fp32,
                compute: ComputeSettings = .automatic, hub: HubClient = HubClient()) throws {
        try self.init(modelDirectory: ModelResolver.resolve(model, client: hub), precision: precision, compute: compute)
    }
}

extension BlipImageTextMatcher {
    /// The image-text matcher of `model`: a directory or a hub id.
    public init(pretrained model: String = ModelResolver.defaultRetrievalModel, precision: Precision = .fp32,
                compute: ComputeSettings = .automatic, hub: HubClient = HubClient()) throws {
        try self.init(modelDirectory: ModelResolver.resolve(model, client: hub), precision: precision, compute: compute)
    }
}
