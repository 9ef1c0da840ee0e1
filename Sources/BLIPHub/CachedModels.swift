import Foundation

/// A model repository found in the Hugging Face cache (`blip models`).
public struct CachedModel: Sendable, Equatable {
    /// `OWNER/NAME`.
    public var repo: String
    /// Revision name → commit, from `refs/`.
    public var refs: [String: String]
    /// Commits that have a snapshot folder, sorted.
    public var snapshots: [String]
    /// Bytes of the complete blobs (what the repository takes on disk).
    public var sizeBytes: Int64
    /// Snapshot path of each commit's files, for `--model`.
    public var folder: URL
}

extension HubCache {
    /// Every model repository (`models--OWNER--NAME`) under `root`, sorted by repo id. Dataset and
    /// space folders and unreadable entries are skipped.
    public static func cachedModels(root: URL) -> [CachedModel] {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: root.path) else { return [] }
        var models: [CachedModel] = []
        for name in names where name.hasPrefix("models--") {
            let parts = name.dropFirst("models--".count).components(separatedBy: "--")
            guard !parts.isEmpty, parts.allSatisfy({ !$0.isEmpty }) else { continue }
            let repo = parts.joined(separator: "/")
            let cache = HubCache(root: root, repo: repo)
            var refs: [String: String] = [:]
            let refsFolder = cache.folder.appendingPathComponent("refs")
            if let enumerator = fm.enumerator(atPath: refsFolder.path) {
                for case let ref as String in enumerator {
                    let url = refsFolder.appendingPathComponent(ref)
                    var isDirectory: ObjCBool = false
                    guard fm.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue,
                          let commit = cache.commit(for: ref) else { continue }
                    refs[ref] = commit
                }
            }
            let snapshots = ((try? fm.contentsOfDirectory(atPath: cache.folder.appendingPathComponent("snapshots").path)) ?? [])
                .filter { !$0.hasPrefix(".") }.sorted()
            var size: Int64 = 0
            let blobs = cache.folder.appendingPathComponent("blobs")
            for blob in (try? fm.contentsOfDirectory(atPath: blobs.path)) ?? [] where !blob.hasSuffix(".incomplete") {
                let attributes = try? fm.attributesOfItem(atPath: blobs.appendingPathComponent(blob).path)
                size += (attributes?[.size] as? NSNumber)?.int64Value ?? 0
            }
            models.append(CachedModel(repo: repo, refs: refs, snapshots: snapshots, sizeBytes: size,
                                      folder: cache.folder.appendingPathComponent("snapshots")))
        }
        return models.sorted { $0.repo < $1.repo }
    }
}
