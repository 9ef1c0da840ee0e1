import Foundation

/// A hub resolution or download failure, described in one line.
public enum HubError: Error, LocalizedError, Equatable {
    /// 401/403 from the hub.
    case accessDenied(repo: String)
    /// The repository does not exist (or is private and we are not authenticated).
    case repoNotFound(repo: String)
    /// The revision (branch, tag, commit) does not exist in the repository.
    case revisionNotFound(repo: String, revision: String)
    /// A required file is not in the repository at this revision.
    case fileNotFound(repo: String, revision: String, file: String)
    /// Offline mode (or no network) and the file is not in the cache.
    case notCached(repo: String, revision: String, file: String, reason: String)
    /// The request could not be made or the connection failed.
    case network(url: String, message: String)
    /// An unexpected HTTP status.
    case httpStatus(url: String, status: Int)
    /// The hub's response lacks a header we need.
    case badResponse(url: String, message: String)
    /// The downloaded bytes do not match the size or hash the hub reported.
    case integrity(file: String, message: String)
    /// A cache file could not be written.
    case cache(path: String, message: String)

    public var errorDescription: String? {
        switch self {
        case .accessDenied(let repo):
            return "access denied to \(repo) (set HF_TOKEN to a token that can read it; gated repos need their terms accepted on the hub)"
        case .repoNotFound(let repo):
            return "model repository \(repo) not found on the hub (and no local directory of that name)"
        case .revisionNotFound(let repo, let revision):
            return "revision \(revision) not found in \(repo)"
        case .fileNotFound(let repo, let revision, let file):
            let hint = file == "config.json"
                ? ": not a transformers model repository (for an official BLIP .pth checkpoint, download the file and give its path to --model)"
                : ""
            return "\(file) not found in \(repo) at revision \(revision)" + hint
        case .notCached(let repo, let revision, let file, let reason):
            return "\(repo)@\(revision): \(file) is not in the hub cache and \(reason)"
        case .network(let url, let message):
            return "cannot reach \(url): \(message)"
        case .httpStatus(let url, let status):
            return "HTTP \(status) from \(url)"
        case .badResponse(let url, let message):
            return "unexpected response from \(url): \(message)"
        case .integrity(let file, let message):
            return "download of \(file) is corrupt: \(message)"
        case .cache(let path, let message):
            return "cannot write the hub cache at \(path): \(message)"
        }
    }
}
