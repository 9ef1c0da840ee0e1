/// A Hugging Face hub model id with an optional revision: `OWNER/NAME`, `NAME`, `OWNER/NAME@REVISION`.
///
/// The revision is a branch, a tag or a commit hash (default `main`); `refs/pr/N` revisions keep their
/// slashes. Validation follows huggingface_hub's `validate_repo_id`.
public struct HubModelID: Sendable, Hashable, CustomStringConvertible {
    /// `OWNER/NAME` (or `NAME` for canonical repos).
    public let repo: String
    /// Branch, tag or commit hash.
    public let revision: String

    /// The revision used when none is given.
    public static let defaultRevision = "main"

    /// Parses `OWNER/NAME[@REVISION]`; nil when the text is not a valid hub id.
    public init?(_ text: String) {
        var repo = Substring(text)
        var revision = Self.defaultRevision
        if let at = text.firstIndex(of: "@") {
            repo = text[..<at]
            revision = String(text[text.index(after: at)...])
            guard !revision.isEmpty, !revision.contains(".."), !revision.hasPrefix("/") else { return nil }
        }
        guard Self.isValidRepo(repo) else { return nil }
        self.repo = String(repo)
        self.revision = revision
    }

    /// A hub id from its parts (`repo` must be valid).
    public init?(repo: String, revision: String = HubModelID.defaultRevision) {
        guard Self.isValidRepo(Substring(repo)), !revision.isEmpty else { return nil }
        self.repo = repo
        self.revision = revision
    }

    /// `OWNER/NAME` or `OWNER/NAME@REVISION` when the revision is not `main`.
    public var description: String { revision == Self.defaultRevision ? repo : "\(repo)@\(revision)" }

    /// True when the revision is a full 40-hex-digit commit hash.
    public var revisionIsCommit: Bool { Self.isCommitHash(revision) }

    /// True for a full commit hash (40 lowercase hex digits).
    public static func isCommitHash(_ text: String) -> Bool {
        text.utf8.count == 40 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    private static func isValidRepo(_ repo: Substring) -> Bool {
        let parts = repo.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), repo.count <= 96, !repo.contains("--"), !repo.contains("..") else {
            return false
        }
        return parts.allSatisfy { part in
            guard let first = part.first, let last = part.last, first != "-", first != ".", last != "-", last != "."
            else { return false }
            return part.unicodeScalars.allSatisfy {
                ($0.properties.isAlphabetic || $0.properties.numericType != nil) && $0.isASCII
                    || $0 == "_" || $0 == "-" || $0 == "."
            }
        }
    }
}
