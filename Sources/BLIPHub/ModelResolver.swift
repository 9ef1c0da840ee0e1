import Foundation

/// Turns a `--model` argument into a model directory: an existing local path as given, else a hub id
/// (`OWNER/NAME[@REVISION]`) resolved through the Hugging Face cache, downloading missing files.
public enum ModelResolver {
    /// The model used when none is named (captioning).
    public static let defaultModel = "Salesforce/blip-image-captioning-base"
    /// The visual question answering model used when none is named.
    public static let defaultVQAModel = "Salesforce/blip-vqa-base"
    /// The image-text matching / retrieval model used when none is named.
    public static let defaultRetrievalModel = "Salesforce/blip-itm-base-coco"

    /// The files a BLIP model directory needs. The weights are `model.safetensors`, or
    /// `model.safetensors.index.json` plus the shards it lists (handled by `resolve`).
    public static let modelFiles: [HubFile] = [
        HubFile("config.json"),
        HubFile("preprocessor_config.json", required: false),
        HubFile("tokenizer_config.json", required: false),
        HubFile("vocab.txt", required: false),
        HubFile("tokenizer.json", required: false),
        HubFile("special_tokens_map.json", required: false),
        HubFile("generation_config.json", required: false),
        HubFile("model.safetensors", required: false),
    ]

    /// The further files a BLIP-2 model may have: its processor and its language model's
    /// tokenizer (GPT-2 BPE or SentencePiece). Fetched only when config.json says `blip-2`.
    public static let blip2Files: [HubFile] = [
        HubFile("processor_config.json", required: false), HubFile("vocab.json", required: false),
        HubFile("merges.txt", required: false), HubFile("spiece.model", required: false),
        HubFile("added_tokens.json", required: false),
    ]

    /// The tokenizer files of a BLIP model (bert-base-uncased with `[DEC]` and `[ENC]`).
    public static let tokenizerFiles: [HubFile] = [
        HubFile("tokenizer_config.json", required: false), HubFile("vocab.txt", required: false),
        HubFile("tokenizer.json", required: false), HubFile("special_tokens_map.json", required: false),
    ]

    /// A directory with the tokenizer files of `spec`: the local path as given, else the hub
    /// snapshot of the id with only its tokenizer files fetched (not the weights).
    public static func resolveTokenizer(_ spec: String, client: HubClient = HubClient()) throws -> URL {
        let path = (spec as NSString).expandingTildeInPath
        if isLocalPath(spec) || spec.hasPrefix("/") || spec.hasPrefix(".") || spec.hasPrefix("~") { return URL(fileURLWithPath: path) }
        guard let id = HubModelID(spec) else { return URL(fileURLWithPath: path) }
        return try client.snapshot(id, files: tokenizerFiles).directory
    }

    /// True when `spec` names an existing file or directory (which always wins over a hub id).
    public static func isLocalPath(_ spec: String) -> Bool {
        FileManager.default.fileExists(atPath: (spec as NSString).expandingTildeInPath)
    }

    /// The model directory for `spec`: the local path when it exists (or looks like a path: absolute,
    /// `./`, `../`, `~`), else the hub snapshot of the id, with every model file present in the cache.
    public static func resolve(_ spec: String, client: HubClient = HubClient()) throws -> URL {
        let path = (spec as NSString).expandingTildeInPath
        let looksLikePath = spec.hasPrefix("/") || spec.hasPrefix(".") || spec.hasPrefix("~")
        if isLocalPath(spec) || looksLikePath { return URL(fileURLWithPath: path) }
        guard let id = HubModelID(spec) else { return URL(fileURLWithPath: path) }
        return try resolve(id, client: client)
    }

    /// `resolve(_:client:)` for async code: the blocking work (file system, downloads) runs on a
    /// Dispatch worker, not on the caller's executor.
    public static func resolve(_ spec: String, client: HubClient = HubClient()) async throws -> URL {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try resolve(spec, client: client) as URL })
            }
        }
    }

    /// The snapshot directory of `id` holding the model files (downloaded when missing).
    public static func resolve(_ id: HubModelID, client: HubClient) throws -> URL {
        let (directory, present) = try client.snapshot(id, files: modelFiles)
        let commit = directory.lastPathComponent
        if let data = FileManager.default.contents(atPath: directory.appendingPathComponent("config.json").path),
           let config = try? JSONSerialization.jsonObject(with: data) as? [String: Any], config["model_type"] as? String == "blip-2" {
            for file in blip2Files { _ = try client.file(file.name, repo: id.repo, revision: commit, required: false) }
        }
        if !present.contains("model.safetensors") {
            guard let index = try client.file("model.safetensors.index.json", repo: id.repo, revision: commit,
                                              required: false).url
            else {
                // A repository with PyTorch weights only: read by the restricted unpickler.
                if try client.file("pytorch_model.bin", repo: id.repo, revision: commit, required: false).url != nil {
                    return directory
                }
                if client.environment.offline {
                    throw HubError.notCached(repo: id.repo, revision: id.revision, file: "model.safetensors",
                                             reason: "HF_HUB_OFFLINE is set (download it once online)")
                }
                throw HubError.fileNotFound(repo: id.repo, revision: id.revision, file: "model.safetensors")
            }
            for shard in try shards(index) {
                _ = try client.file(shard, repo: id.repo, revision: commit, required: true)
            }
        }
        return directory
    }

    /// The distinct shard files a `model.safetensors.index.json` lists in its `weight_map`.
    static func shards(_ index: URL) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: index.path),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let map = json["weight_map"] as? [String: String]
        else {
            throw HubError.badResponse(url: index.path, message: "not a safetensors index (no weight_map)")
        }
        return Array(Set(map.values)).sorted()
    }
}
