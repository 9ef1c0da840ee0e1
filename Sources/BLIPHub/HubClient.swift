import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One file wanted from a hub repository.
public struct HubFile: Sendable, Hashable {
    /// Path inside the repository, e.g. `config.json`.
    public var name: String
    /// A missing required file is an error; a missing optional one is skipped.
    public var required: Bool

    /// A wanted file.
    public init(_ name: String, required: Bool = true) {
        self.name = name
        self.required = required
    }
}

/// How far one file's download is (for progress callbacks).
public struct HubDownloadProgress: Sendable, Equatable {
    /// Path inside the repository, e.g. `model.safetensors`.
    public var file: String
    /// Bytes of the file on disk now (resumed bytes included).
    public var bytes: Int64
    /// The file's size as the hub reports it (nil when unknown).
    public var totalBytes: Int64?

    public init(file: String, bytes: Int64, totalBytes: Int64?) {
        self.file = file
        self.bytes = bytes
        self.totalBytes = totalBytes
    }
}

/// Resolves hub files to local paths the way huggingface_hub's `hf_hub_download` does: the cache
/// first (`refs/REVISION` → `snapshots/COMMIT/FILE`), else downloaded from
/// `{endpoint}/{repo}/resolve/{revision}/{file}` into `blobs/ETAG` and linked into the snapshot.
///
/// Cached files are used without any request. Downloads resume from `blobs/ETAG.incomplete` with an
/// HTTP range, are checked against the size and (LFS) sha256 the hub reports, and are renamed into
/// place only when complete. Calls block; the client is a value and may be shared across threads.
public struct HubClient: Sendable {
    /// Cache, endpoint, token and offline settings.
    public var environment: HubEnvironment
    /// Called as downloads go (about every megabyte, and when a file is complete), on the
    /// downloading thread. Cached files report nothing.
    public var onProgress: (@Sendable (HubDownloadProgress) -> Void)?

    /// A client with `environment` (default: from the process environment) and an optional
    /// progress callback.
    public init(environment: HubEnvironment = HubEnvironment(),
                onProgress: (@Sendable (HubDownloadProgress) -> Void)? = nil) {
        self.environment = environment
        self.onProgress = onProgress
    }

    /// The snapshot folder of `id` holding `files` (those that exist in the repository), downloading
    /// what the cache lacks. The first file pins the commit; the rest are read at that commit.
    public func snapshot(_ id: HubModelID, files: [HubFile]) throws -> (directory: URL, present: Set<String>) {
        var revision = id.revision
        var commit = HubCache(root: environment.cacheDirectory, repo: id.repo).commit(for: revision)
        var present = Set<String>()
        for file in files {
            let result = try self.file(file.name, repo: id.repo, revision: revision, required: file.required)
            if result.url != nil { present.insert(file.name) }
            if let c = result.commit {
                commit = c
                revision = c
            }
        }
        guard let commit else {
            throw HubError.notCached(repo: id.repo, revision: id.revision, file: files.first?.name ?? "?",
                                     reason: "the hub did not report a commit")
        }
        let directory = HubCache(root: environment.cacheDirectory, repo: id.repo).snapshotDirectory(commit: commit)
        return (directory, present)
    }

    /// One file of `repo` at `revision` (branch, tag or commit): its path in the snapshot (nil when an
    /// optional file does not exist) and the commit it belongs to (nil when unknown).
    public func file(_ name: String, repo: String, revision: String = HubModelID.defaultRevision,
                     required: Bool = true) throws -> (url: URL?, commit: String?) {
        let cache = HubCache(root: environment.cacheDirectory, repo: repo)
        let knownCommit = cache.commit(for: revision)
        if let knownCommit {
            if let url = cache.cachedFile(commit: knownCommit, file: name) { return (url, knownCommit) }
            if cache.isKnownMissing(commit: knownCommit, file: name) {
                if required { throw HubError.fileNotFound(repo: repo, revision: revision, file: name) }
                return (nil, knownCommit)
            }
        }
        if environment.offline {
            if knownCommit != nil && !required { return (nil, knownCommit) }
            throw HubError.notCached(repo: repo, revision: revision, file: name,
                                     reason: "HF_HUB_OFFLINE is set (download it once online)")
        }
        let url = resolveURL(repo: repo, revision: knownCommit ?? revision, file: name)
        switch try metadata(url, repo: repo, revision: revision, file: name) {
        case .missing(let commit):
            if let commit { cache.markMissing(commit: commit, file: name) }
            if required { throw HubError.fileNotFound(repo: repo, revision: revision, file: name) }
            return (nil, commit ?? knownCommit)
        case .found(let meta):
            try cache.writeRef(revision, commit: meta.commit)
            if let url = cache.cachedFile(commit: meta.commit, file: name) { return (url, meta.commit) }
            let lock = try FileLock(cache.lockFile(etag: meta.etag))
            defer { lock.unlock() }
            let blob = cache.blob(etag: meta.etag)
            if !FileManager.default.fileExists(atPath: blob.path) {
                try download(url, meta: meta, repo: repo, revision: revision, file: name, cache: cache)
            }
            return (try cache.link(commit: meta.commit, file: name, etag: meta.etag), meta.commit)
        }
    }

    /// `{endpoint}/{repo}/resolve/{revision}/{file}` (revision fully escaped, file path kept).
    public func resolveURL(repo: String, revision: String, file: String) -> URL {
        var segment = CharacterSet.urlPathAllowed
        segment.remove("/")
        let rev = revision.addingPercentEncoding(withAllowedCharacters: segment) ?? revision
        let path = file.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? file
        return URL(string: "\(environment.endpoint)/\(repo)/resolve/\(rev)/\(path)")!
    }

    // MARK: - Requests

    struct FileMetadata {
        var commit: String
        var etag: String
        var size: Int64?
    }

    enum Lookup {
        case found(FileMetadata)
        case missing(commit: String?)
    }

    private func request(_ url: URL, method: String, timeout: TimeInterval) -> URLRequest {
        var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
        request.httpMethod = method
        request.setValue("identity", forHTTPHeaderField: "Accept-Encoding")
        request.setValue("swift-blip-hub/1", forHTTPHeaderField: "User-Agent")
        if let token = environment.token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        return request
    }

    /// HEAD of the resolve URL. As huggingface_hub does, redirects that stay on the hub's host (renamed
    /// repos) are followed and redirects elsewhere (the LFS/CDN one, which carries `X-Linked-Etag` and
    /// `X-Linked-Size`) are not; a redirect that already carries the LFS metadata is not followed either.
    func metadata(_ url: URL, repo: String, revision: String, file: String) throws -> Lookup {
        var current = url
        for _ in 0..<5 {
            let response = try HTTP.send(request(current, method: "HEAD", timeout: 10), followRedirects: false)
            if (300..<400).contains(response.status), response[header: "x-linked-etag"] == nil,
               let location = response[header: "location"],
               let next = URL(string: location, relativeTo: current)?.absoluteURL,
               next.scheme == current.scheme, next.host?.lowercased() == current.host?.lowercased(),
               next.port == current.port {
                current = next
                continue
            }
            if let failure = Self.failure(response, url: current, repo: repo, revision: revision) {
                if case .fileNotFound = failure { return .missing(commit: response[header: "x-repo-commit"]) }
                throw failure
            }
            guard let commit = response[header: "x-repo-commit"], !commit.isEmpty else {
                throw HubError.badResponse(url: current.absoluteString, message: "no X-Repo-Commit header")
            }
            guard let rawEtag = response[header: "x-linked-etag"] ?? response[header: "etag"] else {
                throw HubError.badResponse(url: current.absoluteString, message: "no ETag header")
            }
            // A redirect's Content-Length is its own (empty) body's, not the file's.
            let isRedirect = (300..<400).contains(response.status)
            let size = (response[header: "x-linked-size"] ?? (isRedirect ? nil : response[header: "content-length"]))
                .flatMap { Int64($0) }
            return .found(FileMetadata(commit: commit, etag: Self.normalizeEtag(rawEtag), size: size))
        }
        throw HubError.badResponse(url: url.absoluteString, message: "too many redirects")
    }

    /// The error an HTTP status means, nil for success and redirects.
    static func failure(_ response: HTTPResponse, url: URL, repo: String, revision: String) -> HubError? {
        switch response.status {
        case 200..<400: return nil
        case 401, 403: return .accessDenied(repo: repo)
        case 404:
            switch response[header: "x-error-code"] {
            case "RepoNotFound": return .repoNotFound(repo: repo)
            case "RevisionNotFound": return .revisionNotFound(repo: repo, revision: revision)
            default: return .fileNotFound(repo: repo, revision: revision, file: url.lastPathComponent)
            }
        default: return .httpStatus(url: url.absoluteString, status: response.status)
        }
    }

    /// Strips `W/` and quotes, as huggingface_hub's `_normalize_etag`.
    static func normalizeEtag(_ etag: String) -> String {
        var e = etag.trimmingCharacters(in: .whitespaces)
        if e.hasPrefix("W/") { e.removeFirst(2) }
        return e.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
    }

    /// Streams the file into `blobs/ETAG.incomplete` (resuming what is there), checks it and renames
    /// it to `blobs/ETAG`.
    private func download(_ url: URL, meta: FileMetadata, repo: String, revision: String, file: String,
                          cache: HubCache) throws {
        let incomplete = cache.incompleteBlob(etag: meta.etag)
        let blob = cache.blob(etag: meta.etag)
        let isSHA256 = meta.etag.utf8.count == 64 && meta.etag.utf8.allSatisfy {
            (48...57).contains($0) || (97...102).contains($0)
        }
        var restarted = false
        var retries = 0
        while true {
            let sink = try BlobSink(path: incomplete, expectedSize: meta.size, hashing: isSHA256,
                                    label: file, progress: environment.showProgress,
                                    onProgress: onProgress.map { report in { report(HubDownloadProgress(file: file, bytes: $0, totalBytes: meta.size)) } })
            if let size = meta.size, sink.resumeOffset == size {
                sink.close()  // a complete partial (interrupted before the rename): only check it
                try finish(incomplete, blob: blob, sink: sink, meta: meta, isSHA256: isSHA256, file: file)
                return
            }
            var request = self.request(url, method: "GET", timeout: 60)
            if sink.resumeOffset > 0 { request.setValue("bytes=\(sink.resumeOffset)-", forHTTPHeaderField: "Range") }
            let response: HTTPResponse
            do {
                response = try HTTP.send(request, followRedirects: true, sink: sink)
                sink.close()
            } catch HubError.network(let failedURL, let message) {
                sink.close()
                // The connection dropped after some progress: resume at once, a few times.
                if sink.received > 0 && retries < Self.resumeRetries {
                    retries += 1
                    continue
                }
                throw HubError.network(url: failedURL, message: message)
            } catch {
                sink.close()
                throw error
            }
            if response.status == 416 && !restarted {
                restarted = true
                try? FileManager.default.removeItem(at: incomplete)  // stale partial: start over
                continue
            }
            if let failure = Self.failure(response, url: url, repo: repo, revision: revision) { throw failure }
            guard (200..<300).contains(response.status) else {
                throw HubError.httpStatus(url: url.absoluteString, status: response.status)
            }
            try finish(incomplete, blob: blob, sink: sink, meta: meta, isSHA256: isSHA256, file: file)
            return
        }
    }

    /// Immediate resumptions of a transfer that broke off after making progress (later runs resume too).
    static let resumeRetries = 3

    /// Checks the size and sha256 of the finished `.incomplete` file and renames it to the blob;
    /// a bad file is deleted.
    private func finish(_ incomplete: URL, blob: URL, sink: BlobSink, meta: FileMetadata, isSHA256: Bool,
                        file: String) throws {
        let written = sink.total
        if let size = meta.size, written != size {
            try? FileManager.default.removeItem(at: incomplete)
            throw HubError.integrity(file: file, message: "\(written) bytes received, the hub reported \(size)")
        }
        if isSHA256, let digest = sink.digest(), digest != meta.etag {
            try? FileManager.default.removeItem(at: incomplete)
            throw HubError.integrity(file: file, message: "sha256 \(digest) differs from the hub's \(meta.etag)")
        }
        try HubCache.rename(incomplete, to: blob)
    }
}
