import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Downloads `{"url": ...}` images: http and https only, at most `maxBytes`, at most `timeout` seconds.
struct RemoteImageFetcher: Sendable {
    var maxBytes: Int
    var timeout: Double

    func fetch(_ string: String) async throws -> Data {
        guard let url = URL(string: string), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              url.host != nil
        else {
            throw APIError.unprocessable("image url must be an http or https URL", type: "invalid_url")
        }
        let delegate = BoundedDownload(maxBytes: maxBytes)
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = timeout
        let session = URLSession(configuration: configuration, delegate: delegate, delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        return try await withCheckedThrowingContinuation { continuation in
            delegate.start(continuation: continuation)
            session.dataTask(with: URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)).resume()
        }
    }
}

/// Collects a response body, cancelling once it grows past the limit.
private final class BoundedDownload: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private let lock = NSLock()
    private let maxBytes: Int
    private var data = Data()
    private var continuation: CheckedContinuation<Data, Error>?
    private var failure: APIError?

    init(maxBytes: Int) { self.maxBytes = maxBytes }

    func start(continuation: CheckedContinuation<Data, Error>) {
        lock.withLock { self.continuation = continuation }
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
            lock.withLock { failure = APIError.unprocessable("image url answered HTTP \(http.statusCode)", type: "remote_image_failed") }
            completionHandler(.cancel)
            return
        }
        if response.expectedContentLength > Int64(maxBytes) {
            lock.withLock { failure = APIError(.unprocessableContent, "remote_image_too_large", "image url body is larger than \(maxBytes) bytes") }
            completionHandler(.cancel)
            return
        }
        completionHandler(.allow)
    }

    /// Redirects are followed only to http and https URLs.
    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        let scheme = request.url?.scheme?.lowercased()
        if scheme == "http" || scheme == "https" {
            completionHandler(request)
        } else {
            lock.withLock { failure = APIError.unprocessable("image url redirects to a non-http(s) URL", type: "invalid_url") }
            completionHandler(nil)
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
        let (failure, data) = lock.withLock { (self.failure, self.data) }
        if let failure {
            finish(.failure(failure))
        } else if let error {
            finish(.failure(APIError.unprocessable("could not fetch image url: \(error.localizedDescription)", type: "remote_image_failed")))
        } else {
            finish(.success(data))
        }
    }
}
