import BLIP
import BlipServer
import Foundation
import Hummingbird
import HummingbirdTesting
import XCTest

/// CORS for configured origins only.
final class HTTPSettingsTests: XCTestCase {
    func server(_ origins: [String]) -> BlipServer {
        BlipServer(services: BlipServices(caption: FakeCaptioner(log: BatchLog())), http: HTTPSettings(corsOrigins: origins))
    }

    func run(_ server: BlipServer, _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        try await Application(router: server.router()).test(.router) { client in try await body(client) }
    }

    func testAllowedOriginGetsCORSHeadersAndPreflight() async throws {
        try await run(server(["https://app.example"])) { client in
            try await client.execute(uri: "/health", method: .get, headers: [.origin: "https://app.example"]) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertEqual(r.headers[.accessControlAllowOrigin], "https://app.example")
                XCTAssertEqual(r.headers[.vary], "Origin")
            }
            try await client.execute(uri: "/health", method: .get, headers: [.origin: "https://evil.example"]) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertNil(r.headers[.accessControlAllowOrigin])
            }
            try await client.execute(uri: "/api/v1/inference/blip", method: .options,
                                     headers: [.origin: "https://app.example", .accessControlRequestMethod: "POST"]) { r in
                XCTAssertEqual(r.status, .noContent)
                XCTAssertEqual(r.headers[.accessControlAllowOrigin], "https://app.example")
                XCTAssertEqual(r.headers[.accessControlAllowMethods], "GET, POST, OPTIONS")
            }
            try await client.execute(uri: "/api/v1/inference/blip", method: .options,
                                     headers: [.origin: "https://evil.example", .accessControlRequestMethod: "POST"]) { r in
                XCTAssertEqual(r.status, .forbidden)
            }
            // Errors carry the header too, so the page can read them.
            try await client.execute(uri: "/api/v1/inference/blip", method: .post,
                                     headers: [.origin: "https://app.example"], body: ByteBuffer(string: "{")) { r in
                XCTAssertEqual(r.status, .badRequest)
                XCTAssertEqual(r.headers[.accessControlAllowOrigin], "https://app.example")
            }
        }
    }

    func testNoOriginsMeansNoCORSAndStarMeansAny() async throws {
        try await run(server([])) { client in
            try await client.execute(uri: "/health", method: .get, headers: [.origin: "https://app.example"]) { r in
                XCTAssertNil(r.headers[.accessControlAllowOrigin])
            }
        }
        try await run(server(["*"])) { client in
            try await client.execute(uri: "/health", method: .get, headers: [.origin: "https://any.example"]) { r in
                XCTAssertEqual(r.headers[.accessControlAllowOrigin], "*")
                XCTAssertNil(r.headers[.vary])
            }
        }
    }
}
