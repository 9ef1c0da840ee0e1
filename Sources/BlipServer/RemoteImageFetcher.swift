import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Downloads `{"url": ...}` images: http and https only, at most `maxBytes`, within `timeout` seconds
/// of wall-clock time for the whole fetch (name resolution, redirects and body included).
///
/// Unless `allowPrivateAddresses`, the host is resolved first and the URL refused when any of its
/// addresses is loopback, private, link-local, multicast or otherwise not public
/// (`AddressClassifier`); every redirect target is checked the same way. URLs with credentials
/// (`user:pass@`) and URLs to this server's own port on a local address are always refused.
///
/// Limitation: URLSession resolves the host again when it connects, so a DNS name whose answer
/// changes between the check and the connection (DNS rebinding with a very short TTL) could still
/// reach a private address. Pinning the checked address would need our own HTTP client (URLSession
/// cannot connect to a given IP while keeping the name for TLS and the Host header).
struct RemoteImageFetcher: Sendable {
    var maxBytes: Int
    var timeout: Double
    var allowPrivateAddresses = false
    /// The port this server listens on (refused on local addresses), when known.
    var ownPort: Int? = nil

    func fetch(_ string: String) async throws -> Data {
        guard let url = URL(string: string), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              url.host != nil
        else {
            throw APIError.unprocessable("image url must be an http or https URL", type: "invalid_url")
        }
        let timeout = self.timeout
        return try await withDeadline(seconds: timeout, timeoutError: { APIError.remoteImageTimeout(seconds: timeout) }) {
            try await offloaded { try self.check(url) }
            return try await self.download(url)
        }
    }

    /// Refuses credentials, this server's own port and (unless allowed) non-public addresses.
    /// Blocking: resolves the host.
    func check(_ url: URL) throws {
        if url.user != nil || url.password != nil {
            throw APIError.unprocessable("image url must not carry credentials (user:password@)", type: "remote_image_forbidden")
        }
        guard var host = url.host, !host.isEmpty else {
            throw APIError.unprocessable("image url has no host", type: "invalid_url")
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let port = url.port ?? (url.scheme?.lowercased() == "https" ? 443 : 80)
        let addresses = try AddressClassifier.resolve(host)
        if addresses.isEmpty {
            throw APIError.unprocessable("image url host \(host) has no IP address", type: "remote_image_failed")
        }
        for address in addresses {
            guard let reason = AddressClassifier.nonPublicReason(address) else { continue }
            if let ownPort, port == ownPort {
                throw APIError.unprocessable("image url \(host):\(port) points at this server", type: "remote_image_forbidden")
            }
            if !allowPrivateAddresses {
                throw APIError.unprocessable(
                    "image url host \(host) resolves to a non-public address (\(reason.rawValue)); only public addresses are fetched (start the server with --allow-private-remote-images to allow others)",
                    type: "remote_image_forbidden")
            }
        }
    }

    private func download(_ url: URL) async throws -> Data {
        let delegate = BoundedDownload(maxBytes: maxBytes) { try self.check($0) }
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = timeout
        let session = URLSession(configuration: configuration, delegate: delegate, delegateQueue: nil)
        defer { session.invalidateAndCancel() }
        let task = session.dataTask(with: URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout))
        let timeout = self.timeout
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                delegate.start(continuation: continuation, timeout: timeout)
                task.resume()
            }
        } onCancel: {
            task.cancel()
        }
    }
}

/// Runs a blocking call (name resolution) on a Dispatch thread, not on the cooperative pool.
private func offloaded<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
    }
}

extension APIError {
    /// 504: the remote image did not arrive within the deadline.
    static func remoteImageTimeout(seconds: Double) -> APIError {
        APIError(.gatewayTimeout, "remote_image_timeout",
                 "image url did not deliver the image within \(formatSeconds(seconds)) seconds")
    }
}

/// Collects a response body, cancelling once it grows past the limit.
private final class BoundedDownload: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private let lock = NSLock()
    private let maxBytes: Int
    private var data = Data()
    private var continuation: CheckedContinuation<Data, Error>?
    private var failure: APIError?
    private var timeout = 0.0
    /// Checks a redirect target (throws an APIError to refuse it).
    private let checkRedirect: @Sendable (URL) throws -> Void

    init(maxBytes: Int, checkRedirect: @escaping @Sendable (URL) throws -> Void) {
        self.maxBytes = maxBytes
        self.checkRedirect = checkRedirect
    }

    func start(continuation: CheckedContinuation<Data, Error>, timeout: Double) {
        lock.withLock {
            self.continuation = continuation
            self.timeout = timeout
        }
    }

    /// Records the first failure (a refused redirect is followed by its 3xx response: keep the refusal).
    private func fail(_ error: APIError) {
        lock.withLock { if failure == nil { failure = error } }
    }

    private func finish(_ result: Result<Data, Error>) {
        let c: CheckedContinuation<Data, Error>? = lock.withLock {
            defer { continuation = nil }
            return continuation
        }
        c?.resume(with: result)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        if let http = response as? HTTPURLResponse, !(200..<300).contains(http.statusCode) {
            fail(APIError.unprocessable("image url answered HTTP \(http.statusCode)", type: "remote_image_failed"))
            completionHandler(.cancel)
            return
        }
        if response.expectedContentLength > Int64(maxBytes) {
            fail(APIError(.unprocessableContent, "remote_image_too_large", "image url body is larger than \(maxBytes) bytes"))
            completionHandler(.cancel)
            return
        }
        completionHandler(.allow)
    }

    /// Redirects are followed only to http and https URLs that pass the same address checks.
    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        let scheme = request.url?.scheme?.lowercased()
        guard let url = request.url, scheme == "http" || scheme == "https" else {
            fail(APIError.unprocessable("image url redirects to a non-http(s) URL", type: "invalid_url"))
            completionHandler(nil)
            task.cancel()
            return
        }
        do {
            try checkRedirect(url)
            completionHandler(request)
        } catch {
            let refusal = (error as? APIError).map { APIError($0.status, $0.type, "redirect: \($0.message)") }
                ?? APIError.unprocessable("image url redirect refused", type: "remote_image_forbidden")
            fail(refusal)
            completionHandler(nil)
            task.cancel()
        }
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive chunk: Data) {
        let over: Bool = lock.withLock {
            data.append(chunk)
            if data.count > maxBytes {
                failure = APIError(.unprocessableContent, "remote_image_too_large", "image url body is larger than \(maxBytes) bytes")
                data = Data()
                return true
            }
            return false
        }
        if over { dataTask.cancel() }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        let (failure, data, timeout) = lock.withLock { (self.failure, self.data, self.timeout) }
        if let failure {
            finish(.failure(failure))
        } else if let error = error as? URLError, error.code == .timedOut {
            finish(.failure(APIError.remoteImageTimeout(seconds: timeout)))
        } else if let error {
            finish(.failure(APIError.unprocessable("could not fetch image url: \(error.localizedDescription)", type: "remote_image_failed")))
        } else {
            finish(.success(data))
        }
    }
}
