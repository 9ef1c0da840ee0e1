import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Downloads of single files with a size cap and a total deadline (dataset images by URL).
public enum RemoteFile {
    /// The body of `url` (http or https, redirects followed), at most `maxBytes`, arriving within
    /// `timeout` seconds in all. Throws a one-line error naming the URL otherwise.
    public static func fetch(_ url: String, maxBytes: Int = 16 << 20, timeout: Double = 10) throws -> Data {
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), ["http", "https"].contains(scheme),
              parsed.host != nil else {
            throw HubError.network(url: url, message: "not an http(s) URL")
        }
        var request = URLRequest(url: parsed)
        request.timeoutInterval = timeout
        request.setValue("swift-blip", forHTTPHeaderField: "User-Agent")
        let sink = BoundedSink(maxBytes: maxBytes, deadline: Date().addingTimeInterval(timeout), url: url)
        let response = try HTTP.send(request, followRedirects: true, sink: sink)
        guard (200..<300).contains(response.status) else {
            throw HubError.network(url: url, message: "HTTP \(response.status)")
        }
        return sink.body
    }
}

/// Collects a body, refusing more than `maxBytes` or a transfer past `deadline`.
private final class BoundedSink: HTTPBodySink, @unchecked Sendable {
    let maxBytes: Int
    let deadline: Date
    let url: String
    private let lock = NSLock()
    private var data = Data()

    init(maxBytes: Int, deadline: Date, url: String) {
        self.maxBytes = maxBytes
        self.deadline = deadline
        self.url = url
    }

    var body: Data { lock.withLock { data } }

    func begin(_ response: HTTPResponse) throws {
        if let length = response[header: "content-length"].flatMap(Int.init), length > maxBytes {
            throw HubError.network(url: url, message: "the file is larger than \(maxBytes) bytes")
        }
    }

    func write(_ chunk: Data) throws {
        try lock.withLock {
            if data.count + chunk.count > maxBytes {
                throw HubError.network(url: url, message: "the file is larger than \(maxBytes) bytes")
            }
            if Date() > deadline { throw HubError.network(url: url, message: "the download took too long") }
            data.append(chunk)
        }
    }
}
