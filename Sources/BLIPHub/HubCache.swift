import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The huggingface_hub cache layout for one model repository:
///
///     ROOT/models--OWNER--NAME/refs/REVISION          commit hash (text)
///     ROOT/models--OWNER--NAME/blobs/ETAG             file contents (ETAG.incomplete while downloading)
///     ROOT/models--OWNER--NAME/snapshots/COMMIT/FILE  relative symlink to ../../blobs/ETAG
///     ROOT/models--OWNER--NAME/.no_exist/COMMIT/FILE  empty: FILE is known not to exist at COMMIT
///     ROOT/.locks/models--OWNER--NAME/ETAG.lock       flock while a blob is downloaded
///
/// The same layout Python writes, so both share downloads.
public struct HubCache: Sendable {
    /// The cache root (`HF_HUB_CACHE`).
    public let root: URL
    /// `OWNER/NAME`.
    public let repo: String

    /// The cache of `repo` under `root`.
    public init(root: URL, repo: String) {
        self.root = root
        self.repo = repo
    }

    /// `models--OWNER--NAME`.
    public var folderName: String { "models--" + repo.replacingOccurrences(of: "/", with: "--") }
    /// The repository's folder.
    public var folder: URL { root.appendingPathComponent(folderName) }

    /// The commit a revision points at in the cache: the revision itself for a commit hash, else the
    /// content of `refs/REVISION`; nil when unknown.
    public func commit(for revision: String) -> String? {
        if HubModelID.isCommitHash(revision) { return revision }
        guard let data = FileManager.default.contents(atPath: refURL(revision).path) else { return nil }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }

    /// Records that `revision` points at `commit` (atomic replace).
    public func writeRef(_ revision: String, commit: String) throws {
        guard revision != commit, self.commit(for: revision) != commit else { return }
        try writeAtomically(Data(commit.utf8), to: refURL(revision))
    }

    /// `snapshots/COMMIT/FILE`.
    public func snapshotFile(commit: String, file: String) -> URL {
        folder.appendingPathComponent("snapshots").appendingPathComponent(commit).appendingPathComponent(file)
    }

    /// `snapshots/COMMIT`.
    public func snapshotDirectory(commit: String) -> URL {
        folder.appendingPathComponent("snapshots").appendingPathComponent(commit)
    }

    /// The cached file at `commit`, when present (the symlink's target must exist).
    public func cachedFile(commit: String, file: String) -> URL? {
        let url = snapshotFile(commit: commit, file: file)
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }

    /// True when an earlier lookup recorded that `file` does not exist at `commit`.
    public func isKnownMissing(commit: String, file: String) -> Bool {
        FileManager.default.fileExists(atPath: noExistURL(commit: commit, file: file).path)
    }

    /// Records that `file` does not exist at `commit` (best effort, as huggingface_hub does).
    public func markMissing(commit: String, file: String) {
        let url = noExistURL(commit: commit, file: file)
        try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: url.path, contents: Data())
    }

    /// `blobs/ETAG`.
    public func blob(etag: String) -> URL { folder.appendingPathComponent("blobs").appendingPathComponent(etag) }

    /// `blobs/ETAG.incomplete`: a partial download, resumed with an HTTP range.
    public func incompleteBlob(etag: String) -> URL {
        folder.appendingPathComponent("blobs").appendingPathComponent(etag + ".incomplete")
    }

    /// `.locks/models--OWNER--NAME/ETAG.lock`.
    public func lockFile(etag: String) -> URL {
        root.appendingPathComponent(".locks").appendingPathComponent(folderName).appendingPathComponent(etag + ".lock")
    }

    /// Points `snapshots/COMMIT/FILE` at `blobs/ETAG` with a relative symlink (atomic replace).
    public func link(commit: String, file: String, etag: String) throws -> URL {
        let pointer = snapshotFile(commit: commit, file: file)
        let depth = 2 + file.split(separator: "/").count - 1
        let target = String(repeating: "../", count: depth) + "blobs/" + etag
        let directory = pointer.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let temporary = directory.appendingPathComponent(".\(pointer.lastPathComponent).\(UUID().uuidString).tmp")
            try FileManager.default.createSymbolicLink(atPath: temporary.path, withDestinationPath: target)
            try Self.rename(temporary, to: pointer)
        } catch {
            throw HubError.cache(path: pointer.path, message: "\(error.localizedDescription)")
        }
        return pointer
    }

    /// Writes `data` to a temporary file beside `url` and renames it into place.
    func writeAtomically(_ data: Data, to url: URL) throws {
        do {
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            let temporary = url.deletingLastPathComponent()
                .appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
            try data.write(to: temporary)
            try Self.rename(temporary, to: url)
        } catch {
            throw HubError.cache(path: url.path, message: "\(error.localizedDescription)")
        }
    }

    /// rename(2): atomic, replaces the destination.
    static func rename(_ source: URL, to destination: URL) throws {
        if source.withUnsafeFileSystemRepresentation({ s in
            destination.withUnsafeFileSystemRepresentation { d in
                guard let s, let d else { return -1 }
                return Foundation.rename(s, d)
            }
        }) != 0 {
            let message = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: source)
            throw HubError.cache(path: destination.path, message: message)
        }
    }

    private func refURL(_ revision: String) -> URL {
        folder.appendingPathComponent("refs").appendingPathComponent(revision)
    }

    private func noExistURL(commit: String, file: String) -> URL {
        folder.appendingPathComponent(".no_exist").appendingPathComponent(commit).appendingPathComponent(file)
    }
}

/// An exclusive flock(2) on a lock file (the same lock Python's filelock takes), held until `unlock`.
final class FileLock {
    private let descriptor: Int32

    /// Blocks until the lock on `url` is ours.
    init(_ url: URL) throws {
        try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        descriptor = open(url.path, O_RDWR | O_CREAT, 0o644)
        guard descriptor >= 0 else {
            throw HubError.cache(path: url.path, message: String(cString: strerror(errno)))
        }
        while flock(descriptor, LOCK_EX) != 0 && errno == EINTR {}
    }

    /// Releases the lock.
    func unlock() {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
