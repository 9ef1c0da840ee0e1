import Foundation

/// Hub settings read from environment variables, the way huggingface_hub reads them.
///
/// Pass an explicit dictionary (tests do) instead of mutating the process environment.
public struct HubEnvironment: Sendable {
    /// The hub cache (`HF_HUB_CACHE`, else `HF_HOME/hub`, else `~/.cache/huggingface/hub`;
    /// `XDG_CACHE_HOME` replaces `~/.cache` as in huggingface_hub).
    public var cacheDirectory: URL
    /// The hub endpoint (`HF_ENDPOINT`, default https://huggingface.co), without a trailing slash.
    public var endpoint: String
    /// The access token (`HF_TOKEN`), sent as `Authorization: Bearer`.
    public var token: String?
    /// `HF_HUB_OFFLINE` set to a true value: never touch the network.
    public var offline: Bool
    /// Draw a progress bar on standard error (only ever when it is a terminal).
    public var showProgress: Bool

    /// Settings from `environment` (default: the process environment).
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        func value(_ key: String) -> String? {
            guard let v = environment[key]?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return nil }
            return v
        }
        func expand(_ path: String) -> URL { URL(fileURLWithPath: (path as NSString).expandingTildeInPath) }
        if let hubCache = value("HF_HUB_CACHE") ?? value("HUGGINGFACE_HUB_CACHE") {
            cacheDirectory = expand(hubCache)
        } else if let home = value("HF_HOME") {
            cacheDirectory = expand(home).appendingPathComponent("hub")
        } else {
            let cacheHome = value("XDG_CACHE_HOME").map(expand)
                ?? expand(value("HOME") ?? NSHomeDirectory()).appendingPathComponent(".cache")
            cacheDirectory = cacheHome.appendingPathComponent("huggingface").appendingPathComponent("hub")
        }
        var endpoint = value("HF_ENDPOINT") ?? "https://huggingface.co"
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        self.endpoint = endpoint
        token = value("HF_TOKEN") ?? value("HUGGING_FACE_HUB_TOKEN")
        let truthy: Set<String> = ["1", "ON", "YES", "TRUE"]
        offline = truthy.contains((value("HF_HUB_OFFLINE") ?? "").uppercased())
        showProgress = !truthy.contains((value("HF_HUB_DISABLE_PROGRESS_BARS") ?? "").uppercased())
    }
}
