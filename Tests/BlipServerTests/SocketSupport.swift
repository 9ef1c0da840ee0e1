import BlipServer
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A blocking TCP client socket to 127.0.0.1 for tests that need real connections.
final class RawSocket: @unchecked Sendable {
    let fd: Int32

    /// Connects to 127.0.0.1:`port`; nil if the connection is refused.
    init?(port: Int) {
        #if canImport(Glibc)
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let s = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard s >= 0 else { return nil }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard r == 0 else {
            close(s)
            return nil
        }
        fd = s
        var tv = timeval(tv_sec: 0, tv_usec: 100_000)  // reads wake up every 0.1 s to check the deadline
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        #if canImport(Darwin)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
        #endif
    }

    deinit { close(fd) }

    /// Sends all of `data`; false if the peer has gone.
    @discardableResult
    func send(_ data: Data) -> Bool {
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Foundation.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL_OR_ZERO))
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
    }

    @discardableResult
    func send(_ text: String) -> Bool { send(Data(text.utf8)) }

    /// Reads until the peer closes (EOF or reset) or `seconds` pass. `closed` tells which.
    func readUntilClosed(seconds: Double = 10) -> (data: Data, closed: Bool) {
        let deadline = Date().addingTimeInterval(seconds)
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while Date() < deadline {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n > 0 {
                data.append(contentsOf: buffer[0..<n])
            } else if n == 0 {
                return (data, true)
            } else if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR {
                continue
            } else {
                return (data, true)  // ECONNRESET and the like: closed too
            }
        }
        return (data, false)
    }

    /// Reads one HTTP response (headers and a Content-Length body), or what arrived before the
    /// peer closed or `seconds` passed.
    func readResponse(seconds: Double = 10) -> HTTPReply {
        let deadline = Date().addingTimeInterval(seconds)
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while Date() < deadline {
            if let reply = HTTPReply(data), reply.isComplete { return reply }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n > 0 {
                data.append(contentsOf: buffer[0..<n])
            } else if n == 0 {
                break
            } else if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR {
                continue
            } else {
                break
            }
        }
        return HTTPReply(data) ?? HTTPReply(status: 0, headers: [:], body: data, isComplete: false)
    }
}

#if canImport(Glibc)
private let MSG_NOSIGNAL_OR_ZERO = Int(MSG_NOSIGNAL)
#else
private let MSG_NOSIGNAL_OR_ZERO = 0
#endif

/// A parsed HTTP/1.1 response.
struct HTTPReply {
    var status: Int
    var headers: [String: String]
    var body: Data
    var isComplete: Bool

    init(status: Int, headers: [String: String], body: Data, isComplete: Bool) {
        self.status = status
        self.headers = headers
        self.body = body
        self.isComplete = isComplete
    }

    init?(_ data: Data) {
        guard let end = data.range(of: Data("\r\n\r\n".utf8)) else { return nil }
        let head = String(decoding: data[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = head.first?.split(separator: " ") ?? []
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { return nil }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let body = data[end.upperBound...]
        let length = headers["content-length"].flatMap { Int($0) } ?? 0
        self.init(status: status, headers: headers, body: Data(body.prefix(length)), isComplete: body.count >= length)
    }

    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
}

/// A one-request HTTP/1.1 exchange on a new connection (`Connection: close`).
func rawRequest(port: Int, method: String = "GET", path: String, contentType: String? = nil, body: Data = Data()) -> HTTPReply? {
    guard let socket = RawSocket(port: port) else { return nil }
    var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: \(body.count)\r\n"
    if let contentType { head += "Content-Type: \(contentType)\r\n" }
    socket.send(head + "\r\n")
    socket.send(body)
    return socket.readResponse()
}

/// A listening TCP socket on 127.0.0.1 (port chosen by the system).
final class ListeningSocket: @unchecked Sendable {
    let fd: Int32
    let port: Int

    init() throws {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        self.fd = fd
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            close(fd)
            throw POSIXError(.EADDRINUSE)
        }
        var out = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &out) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        port = Int(UInt16(bigEndian: out.sin_port))
        // Accepts wake up every 0.1 s.
        var tv = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// The next connection within `seconds`, or nil.
    func accept(seconds: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&pfd, 1, 100) > 0 {
                let c = Foundation.accept(fd, nil, nil)
                if c >= 0 { return c }
            }
        } while Date() < deadline
        return nil
    }

    /// Serves connections on a background thread for at most `seconds`: reads the request head,
    /// then lets `respond` write to the connection (a slow body, a redirect...).
    func serve(seconds: Double, respond: @escaping @Sendable (Int32) -> Void) {
        let thread = Thread { [self] in
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline, let c = accept(seconds: deadline.timeIntervalSinceNow) {
                var tv = timeval(tv_sec: 1, tv_usec: 0)
                setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
                var head = Data()
                var byte: UInt8 = 0
                while !head.hasSuffix("\r\n\r\n"), recv(c, &byte, 1, 0) == 1 { head.append(byte) }
                respond(c)
                close(c)
            }
        }
        thread.start()
    }
}

/// Writes `text` to a connection; false once the peer has gone.
@discardableResult
func write(_ fd: Int32, _ text: String) -> Bool {
    let bytes = Array(text.utf8)
    return bytes.withUnsafeBytes { Foundation.send(fd, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL_OR_ZERO)) == $0.count }
}

extension Data {
    func hasSuffix(_ s: String) -> Bool { count >= s.utf8.count && suffix(s.utf8.count).elementsEqual(s.utf8) }
}

/// Runs `server` on 127.0.0.1 (a free port) for the duration of `body`, which gets the port.
func withLiveServer(_ server: BlipServer, _ body: @Sendable (Int) async throws -> Void) async throws {
    let (ports, continuation) = AsyncStream<Int>.makeStream()
    let app = server.application(host: "127.0.0.1", port: 0) { continuation.yield($0) }
    let task = Task {
        defer { continuation.finish() }
        try await app.runService()
    }
    var iterator = ports.makeAsyncIterator()
    guard let port = await iterator.next() else {
        _ = try await task.value
        throw POSIXError(.EADDRNOTAVAIL)
    }
    do {
        try await body(port)
    } catch {
        task.cancel()
        _ = await task.result
        throw error
    }
    task.cancel()
    _ = await task.result
}
