import BLIP
@testable import BlipServer
import Foundation
import XCTest

/// Connection cap, idle and request timeouts, against a real server on 127.0.0.1.
final class ConnectionLimitTests: XCTestCase {
    /// Connections past --max-connections are closed on accept and counted; the server keeps
    /// answering once the others go.
    func testConnectionsOverTheCapAreClosedAndTheServerStillAnswers() async throws {
        var limits = ServerLimits()
        limits.maxConnections = 4
        let server = makeServer(limits: limits)
        try await withLiveServer(server) { port in
            var held: [RawSocket] = []
            for _ in 0..<4 { held.append(try XCTUnwrap(RawSocket(port: port))) }
            try await waitUntil("4 connections are open") { server.connections.openCount == 4 }
            var extra: [RawSocket] = []
            for _ in 0..<6 { extra.append(try XCTUnwrap(RawSocket(port: port))) }
            for (i, socket) in extra.enumerated() {
                XCTAssertTrue(socket.readUntilClosed(seconds: 10).closed, "over-cap connection \(i) should be closed")
            }
            XCTAssertEqual(server.connections.rejectedCount, 6)
            XCTAssertEqual(server.connections.openCount, 4)
            // The held connections still work.
            held[0].send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            let reply = held[0].readResponse()
            XCTAssertEqual(reply.status, 200)
            XCTAssertEqual(reply.json["status"] as? String, "ok")
            held.removeAll()
            extra.removeAll()
            try await waitUntil("the connections are closed") { server.connections.openCount == 0 }
            let health = try XCTUnwrap(rawRequest(port: port, path: "/health"))
            XCTAssertEqual(health.status, 200)
            let metrics = try XCTUnwrap(rawRequest(port: port, path: "/metrics"))
            let text = String(decoding: metrics.body, as: UTF8.self)
            XCTAssertTrue(text.contains("blip_rejected_connections_total 6"), text)
            XCTAssertTrue(text.contains("blip_max_connections 4"), text)
        }
    }

    /// An idle keep-alive connection is closed after --idle-timeout.
    func testIdleKeepAliveConnectionIsClosed() async throws {
        var limits = ServerLimits()
        limits.idleTimeoutSeconds = 0.3
        let server = makeServer(limits: limits)
        try await withLiveServer(server) { port in
            let socket = try XCTUnwrap(RawSocket(port: port))
            socket.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            XCTAssertEqual(socket.readResponse().status, 200)
            // Then nothing: the server closes it (well before the 10 s safety deadline).
            let after = socket.readUntilClosed(seconds: 10)
            XCTAssertTrue(after.closed, "idle connection still open")
            XCTAssertEqual(after.data.count, 0)
        }
    }

    /// A new connection whose request head never completes is closed after --request-timeout
    /// (the idle timeout is long here, so it is not what closes it).
    func testConnectionWhoseHeadersDoNotArriveIsClosed() async throws {
        var limits = ServerLimits()
        limits.requestTimeoutSeconds = 0.3
        limits.idleTimeoutSeconds = 600
        let server = makeServer(limits: limits)
        try await withLiveServer(server) { port in
            let socket = try XCTUnwrap(RawSocket(port: port))
            socket.send("GET /health HTTP/1.1\r\nHost: x\r\n")  // no blank line: the head never ends
            XCTAssertTrue(socket.readUntilClosed(seconds: 10).closed, "connection with unfinished headers still open")
        }
    }

    /// Slow uploads hold no admission slot: with every slot's worth of connections trickling a body,
    /// an ordinary request is still answered; the slow ones get 408 request_timeout.
    func testSlowBodiesDoNotTakeAdmissionAndGet408() async throws {
        var limits = ServerLimits()
        limits.maxBatchSize = 1
        limits.queueLimit = 1
        limits.requestTimeoutSeconds = 1.5
        let server = makeServer(limits: limits)
        let slots = server.admission.limit
        let image = Fixture.camera.base64EncodedString()
        try await withLiveServer(server) { port in
            var slow: [RawSocket] = []
            for _ in 0..<(slots + 3) {
                let s = try XCTUnwrap(RawSocket(port: port))
                s.send("POST /caption HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=B\r\nContent-Length: 100000\r\n\r\n--B")
                slow.append(s)
            }
            try await waitUntil("the slow requests are being read") { server.bodyBudget.inUse >= 3 * slow.count }
            let payload = try JSONSerialization.data(withJSONObject: ["image": image])
            let reply = try XCTUnwrap(rawRequest(port: port, method: "POST", path: "/api/v1/inference/blip",
                                                 contentType: "application/json", body: payload))
            XCTAssertEqual(reply.status, 200, String(decoding: reply.body, as: UTF8.self))
            XCTAssertEqual(reply.json["caption"] as? String, "caption 40x56")
            for s in slow {
                let timedOut = s.readResponse(seconds: 10)
                XCTAssertEqual(timedOut.status, 408)
                XCTAssertEqual(timedOut.json["error_type"] as? String, "request_timeout")
                XCTAssertTrue((timedOut.json["error"] as? String)?.contains("--request-timeout") ?? false)
            }
            try await waitUntil("the body bytes are given back") { server.bodyBudget.inUse == 0 }
        }
    }

    /// The cap is kept below the open-file limit, so connections cannot make accept fail with EMFILE.
    func testConnectionCapFitsTheOpenFileLimit() {
        let small = FileDescriptorLimit.fitConnections(10)
        XCTAssertEqual(small.connections, 10)
        XCTAssertGreaterThanOrEqual(small.openFileLimit, 10 + FileDescriptorLimit.reserve)
        let huge = FileDescriptorLimit.fitConnections(1 << 40)
        XCTAssertLessThan(huge.connections, 1 << 40)
        XCTAssertEqual(huge.connections, max(1, huge.openFileLimit - FileDescriptorLimit.reserve))
    }

    func testLimitsAreValidatedAndShown() async throws {
        func message(_ change: (inout ServerLimits) -> Void) -> String? {
            var limits = ServerLimits()
            change(&limits)
            do { try limits.validate(); return nil } catch { return "\(error)" }
        }
        XCTAssertEqual(message { $0.requestTimeoutSeconds = .nan }?.contains("--request-timeout"), true)
        XCTAssertEqual(message { $0.idleTimeoutSeconds = 0 }?.contains("--idle-timeout"), true)
        XCTAssertEqual(message { $0.maxConnections = 0 }?.contains("--max-connections"), true)
        XCTAssertEqual(message { $0.maxDecodedMegapixels = .infinity }?.contains("--max-decoded-megapixels"), true)
        XCTAssertEqual(message { $0.maxBodyBytesInFlight = 1024 }?.contains("--max-body-bytes-in-flight"), true)
        XCTAssertEqual(message { $0.remoteImageTimeoutSeconds = -1 }?.contains("--remote-image-timeout"), true)
        XCTAssertNil(message { _ in })
        try await withClient(makeServer()) { client in
            try await client.execute(uri: "/info", method: .get) { r in
                let limits = json(r)["limits"] as? [String: Any]
                XCTAssertEqual(limits?["request_timeout_seconds"] as? Double, 30)
                XCTAssertEqual(limits?["idle_timeout_seconds"] as? Double, 60)
                XCTAssertEqual(limits?["max_connections"] as? Int, 512)
                XCTAssertEqual(limits?["max_decoded_megapixels"] as? Double, 256)
                XCTAssertEqual(limits?["max_body_bytes_in_flight"] as? Int, 256 * 1024 * 1024)
                XCTAssertEqual(limits?["allow_private_remote_images"] as? Bool, false)
                let usage = json(r)["usage"] as? [String: Any]
                XCTAssertEqual(usage?["decoded_pixels_in_use"] as? Int, 0)
                XCTAssertEqual(usage?["decoded_pixels_budget"] as? Int, 256_000_000)
            }
        }
    }
}

/// Waits (bounded) until `condition` holds; fails the test if it never does.
func waitUntil(_ what: String, seconds: Double = 10, file: StaticString = #filePath, line: UInt = #line,
               _ condition: () -> Bool) async throws {
    let deadline = Date().addingTimeInterval(seconds)
    while !condition() {
        if Date() > deadline {
            XCTFail("timed out waiting until \(what)", file: file, line: line)
            return
        }
        try await Task.sleep(for: .milliseconds(20))
    }
}
