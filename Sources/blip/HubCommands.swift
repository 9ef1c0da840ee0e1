import ArgumentParser
import BLIP
import BLIPHub
import Foundation

/// `blip download`: fetches a model into the Hugging Face cache (as `hf download` does) and prints
/// its snapshot directory.
struct DownloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "download",
        abstract: "Download a model into the Hugging Face cache and print its directory.",
        discussion: "The cache is HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub (shared with "
            + "Python); files come from HF_ENDPOINT with HF_TOKEN. Files already cached are not downloaded again.")

    @Argument(help: "Hub ids OWNER/NAME[@REVISION], e.g. \(ModelResolver.defaultModel).")
    var models: [String]

    func validate() throws {
        if models.isEmpty { throw ValidationError("give at least one hub id") }
        for m in models where HubModelID(m) == nil {
            throw ValidationError("\"\(m)\" is not a hub id (OWNER/NAME[@REVISION])")
        }
    }

    func run() throws {
        try reportingErrors {
            for m in models {
                guard let id = HubModelID(m) else { continue }
                print(try ModelResolver.resolve(id, client: HubClient()).path)
            }
        }
    }
}

/// `blip models`: the models in the Hugging Face cache.
struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List the models in the Hugging Face cache (repo, revisions, size, snapshot directory).")

    @Flag(help: "One JSON object per model.")
    var json = false

    func run() throws {
        try reportingErrors {
            let root = HubEnvironment().cacheDirectory
            let models = HubCache.cachedModels(root: root)
            if models.isEmpty && !json {
                printError("no models cached in \(root.path)")
            }
            for m in models {
                let directory = m.refs["main"].map { m.folder.appendingPathComponent($0).path }
                    ?? m.snapshots.last.map { m.folder.appendingPathComponent($0).path } ?? ""
                if json {
                    try printJSONLine(["repo": m.repo, "refs": m.refs, "snapshots": m.snapshots,
                                       "size_bytes": m.sizeBytes, "directory": directory])
                } else {
                    let refs = m.refs.keys.sorted().joined(separator: ",")
                    let size = String(format: "%.1f MB", Double(m.sizeBytes) / 1e6)
                    print([m.repo, refs.isEmpty ? "-" : refs, size, directory].joined(separator: "\t"))
                }
            }
        }
    }
}
