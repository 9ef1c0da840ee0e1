import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@testable import BLIPHub

/// A tiny HTTP/1.1 server on 127.0.0.1 that imitates the Hugging Face hub's file endpoints:
///
/// - `HEAD|GET /OWNER/NAME/resolve/REVISION/FILE`: small files answer 200 with `ETag` (quoted),
///   `Content-Length` and `X-Repo-Commit`; LFS files answer 302 to `/cdn/SHA256` with `X-Linked-Etag`,
///   `X-Linked-Size` and `X-Repo-Commit`. Errors carry `X-Error-Code` (RepoNotFound, RevisionNotFound,
///   EntryNotFound) as the hub's do; a wrong or missing token when one is required gives 401.
/// - `GET /cdn/SHA256`: the LFS bytes, honouring `Range: bytes=N-` with 206.
///
/// One request per connection, served in order on one thread; every request is recorded.
final class TestHubServer: @unchecked Sendable {
    struct Request {
        var method: String
        var path: String
        var headers: [String: String]
    }

    struct RepoFile {
        var content: Data
        var lfs: Bool
    }

    let repo: String
    /// commit → file name → file.
    var commits: [String: [String: RepoFile]]
    /// branch or tag → commit.
    var refs: [String: String]
    /// When set, requests must carry `Authorization: Bearer requiredToken`.
    var requiredToken: String?
    /// Served LFS bytes are altered (first byte flipped) while the advertised hash stays.
    var corruptBodies = false
    /// Added to the advertised `X-Linked-Size`.
    var advertisedSizeDelta = 0
    /// When set, LFS bodies are cut after this many bytes and the connection closed (an interrupted download).
    var cutBodiesAfter: Int?

    private let lock = NSLock()
    private var recorded: [Request] = []
    private var servedBodyBytes: [String: Int] = [:]
    private var listener: Int32 = -1
    private var thread: Thread?
    private(set) var port: UInt16 = 0

    init(repo: String, commits: [String: [String: RepoFile]], refs: [String: String]) {
        self.repo = repo
        self.commits = commits
        self.refs = refs
    }

    var endpoint: String { "http://127.0.0.1:\(port)" }
    /// The LFS redirect goes to another host name (same socket), as the hub's CDN redirect does.
    var cdnEndpoint: String { "http://localhost:\(port)" }

    /// Every request so far.
    var requests: [Request] { lock.withLock { recorded } }

    /// Body bytes sent for a path (summed over requests).
    func bodyBytes(_ path: String) -> Int { lock.withLock { servedBodyBytes[path, default: 0] } }

    func start() throws {
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(listener, 16) == 0 else { throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        port = UInt16(bigEndian: address.sin_port)
        let fd = listener
        let thread = Thread { [self] in
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 {
                    if errno == EINTR { continue }
                    return
                }
                serve(client)
                close(client)
            }
        }
        self.thread = thread
        thread.start()
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    // MARK: - Serving

    private func serve(_ client: Int32) {
        var buffer = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while !buffer.suffix(4).elementsEqual([13, 10, 13, 10]) {
            let n = read(client, &chunk, chunk.count)
            if n <= 0 { return }
            buffer.append(contentsOf: chunk[0..<n])
            if buffer.count > 65536 { return }
        }
        let lines = String(decoding: buffer, as: UTF8.self).components(separatedBy: "\r\n")
        let parts = lines[0].split(separator: " ")
        guard parts.count >= 2 else { return }
        var headers = [String: String]()
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let request = Request(method: String(parts[0]), path: String(parts[1]), headers: headers)
        lock.withLock { recorded.append(request) }
        let (status, responseHeaders, body) = respond(request)
        var head = "HTTP/1.1 \(status) \(status < 300 ? "OK" : status < 400 ? "Found" : "Error")\r\n"
        var all = responseHeaders
        if all["Content-Length"] == nil { all["Content-Length"] = "\(body.count)" }
        all["Connection"] = "close"
        for (name, value) in all { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        var out = Data(head.utf8)
        if request.method != "HEAD" {
            let sent = request.path.hasPrefix("/cdn/") ? min(body.count, cutBodiesAfter ?? body.count) : body.count
            out.append(body.prefix(sent))
            lock.withLock { servedBodyBytes[request.path, default: 0] += sent }
        }
        out.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(client, raw.baseAddress! + offset, raw.count - offset)
                if n <= 0 { return }
                offset += n
            }
        }
        shutdown(client, Int32(SHUT_WR))
    }

    private func respond(_ request: Request) -> (Int, [String: String], Data) {
        // The CDN (signed URLs) needs no token.
        if request.path.hasPrefix("/cdn/") { return cdn(String(request.path.dropFirst(5)), request) }
        if let required = requiredToken, request.headers["authorization"] != "Bearer \(required)" {
            return (401, ["X-Error-Code": "RepoNotFound", "X-Error-Message": "Invalid credentials"], Data())
        }
        let prefix = "/\(repo)/resolve/"
        guard request.path.hasPrefix(prefix) else {
            return (404, ["X-Error-Code": "RepoNotFound"], Data("Repository not found".utf8))
        }
        let rest = request.path.dropFirst(prefix.count)
        guard let slash = rest.firstIndex(of: "/") else { return (404, [:], Data()) }
        let revision = String(rest[..<slash]).removingPercentEncoding ?? ""
        let file = String(rest[rest.index(after: slash)...]).removingPercentEncoding ?? ""
        guard let commit = refs[revision] ?? (commits[revision] != nil ? revision : nil),
              let files = commits[commit]
        else {
            return (404, ["X-Error-Code": "RevisionNotFound"], Data("Invalid rev id".utf8))
        }
        guard let entry = files[file] else {
            return (404, ["X-Error-Code": "EntryNotFound", "X-Repo-Commit": commit], Data("Entry not found".utf8))
        }
        if entry.lfs {
            let sha = SHA256.hex(entry.content)
            return (302, [
                "Location": "\(cdnEndpoint)/cdn/\(sha)",
                "X-Repo-Commit": commit,
                "X-Linked-Etag": "\"\(sha)\"",
                "X-Linked-Size": "\(entry.content.count + advertisedSizeDelta)",
                "ETag": "\"\(String(sha.prefix(40)))\"",
                "Content-Length": "0",
            ], Data())
        }
        let etag = String(SHA256.hex(Data("blob".utf8) + entry.content).prefix(40))
        return (200, ["ETag": "\"\(etag)\"", "X-Repo-Commit": commit], entry.content)
    }

    private func cdn(_ sha: String, _ request: Request) -> (Int, [String: String], Data) {
        let all = commits.values.flatMap { $0.values }
        guard var content = all.first(where: { $0.lfs && SHA256.hex($0.content) == sha })?.content else {
            return (404, [:], Data())
        }
        if corruptBodies { content[0] ^= 0xFF }
        if let range = request.headers["range"], range.hasPrefix("bytes="), range.hasSuffix("-"),
           let start = Int(range.dropFirst(6).dropLast()) {
            guard start < content.count else { return (416, ["Content-Range": "bytes */\(content.count)"], Data()) }
            return (206, ["Content-Range": "bytes \(start)-\(content.count - 1)/\(content.count)"],
                    content.subdata(in: start..<content.count))
        }
        return (200, ["ETag": "\"\(sha)\""], content)
    }
}
