import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The status and headers of one HTTP response (header names lowercased).
struct HTTPResponse: Sendable {
    var status: Int
    var headers: [String: String]
    var url: URL

    /// The value of a header (case-insensitive name).
    subscript(header name: String) -> String? { headers[name.lowercased()] }

    init(_ response: HTTPURLResponse) {
        status = response.statusCode
        url = response.url ?? URL(fileURLWithPath: "/")
        var headers = [String: String]()
        for (key, value) in response.allHeaderFields {
            if let key = key as? String, let value = value as? String { headers[key.lowercased()] = value }
        }
        self.headers = headers
    }
}

/// Receives the body of a successful (2xx) response, chunk by chunk, on the session's queue.
protocol HTTPBodySink: AnyObject, Sendable {
    /// Called once with the response before any body bytes; throw to cancel the transfer.
    func begin(_ response: HTTPResponse) throws
    /// A chunk of the body; throw to cancel the transfer.
    func write(_ data: Data) throws
}

/// Blocking HTTP requests on URLSession (FoundationNetworking on Linux).
enum HTTP {
    /// Sends `request`; redirects are followed only when `followRedirects` (then the `Range` header is
    /// kept and `Authorization` dropped when the host changes). Returns the final response; a 2xx body
    /// goes to `sink`, others are discarded.
    static func send(_ request: URLRequest, followRedirects: Bool, sink: HTTPBodySink? = nil) throws -> HTTPResponse {
        let delegate = TaskDelegate(original: request, followRedirects: followRedirects, sink: sink)
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        let configuration = URLSessionConfiguration.ephemeral
        configuration.urlCache = nil
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        let session = URLSession(configuration: configuration, delegate: delegate, delegateQueue: queue)
        defer { session.finishTasksAndInvalidate() }
        let task = session.dataTask(with: request)
        task.resume()
        delegate.done.wait()
        let urlText = request.url?.absoluteString ?? "?"
        if let sinkError = delegate.sinkError { throw sinkError }
        if let error = delegate.error {
            throw HubError.network(url: urlText, message: Self.describe(error))
        }
        guard let response = delegate.response ?? (task.response as? HTTPURLResponse).map(HTTPResponse.init) else {
            throw HubError.network(url: urlText, message: "no response")
        }
        return response
    }

    private static func describe(_ error: Error) -> String {
        if let error = error as? URLError {
            return error.localizedDescription.isEmpty ? "URLError \(error.code.rawValue)" : error.localizedDescription
        }
        return error.localizedDescription
    }
}

private final class TaskDelegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    let original: URLRequest
    let followRedirects: Bool
    let sink: HTTPBodySink?
    let done = DispatchSemaphore(value: 0)
    // Touched only on the session's serial queue until `done` is signalled.
    var response: HTTPResponse?
    var error: Error?
    var sinkError: Error?

    init(original: URLRequest, followRedirects: Bool, sink: HTTPBodySink?) {
        self.original = original
        self.followRedirects = followRedirects
        self.sink = sink
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        guard followRedirects, let url = request.url else {
            completionHandler(nil)
            return
        }
        var next = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: original.timeoutInterval)
        next.httpMethod = original.httpMethod
        let sameHost = url.host == original.url?.host && url.port == original.url?.port
        for (name, value) in original.allHTTPHeaderFields ?? [:] {
            if name.lowercased() == "authorization" && !sameHost { continue }
            next.setValue(value, forHTTPHeaderField: name)
        }
        completionHandler(next)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        guard let http = response as? HTTPURLResponse else {
            completionHandler(.cancel)
            return
        }
        let parsed = HTTPResponse(http)
        self.response = parsed
        if (200..<300).contains(parsed.status), let sink {
            do { try sink.begin(parsed) } catch {
                sinkError = error
                completionHandler(.cancel)
                return
            }
        }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard sinkError == nil, let sink, let status = response?.status, (200..<300).contains(status) else { return }
        do { try sink.write(data) } catch {
            sinkError = error
            dataTask.cancel()
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        if response == nil, let http = task.response as? HTTPURLResponse { response = HTTPResponse(http) }
        if let error, sinkError == nil {
            // A redirect we declined ends the task with the 3xx response; that is not a failure.
            let declinedRedirect = !followRedirects && response.map { (300..<400).contains($0.status) } == true
            if !declinedRedirect { self.error = error }
        }
        done.signal()
    }
}
