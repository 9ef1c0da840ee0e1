import BLIP
@testable import BlipServer
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

/// JSON bodies: unknown fields are refused by name, type errors use JSON words, floats print short.
final class JSONBodyTests: XCTestCase {
    func testUnknownFieldsAndTypeNames() async throws {
        let image = Fixture.astronaut.base64EncodedString()
        try await Application(router: BlipServer(services: BlipServices(caption: FakeCaptioner(log: BatchLog()),
                                                                       match: FakeMatcher(log: BatchLog()))).router())
            .test(.router) { client in
                func post(_ path: String, _ body: String) async throws -> (HTTPResponse.Status, [String: Any]) {
                    try await client.execute(uri: path, method: .post, body: ByteBuffer(string: body)) { r in (r.status, json(r)) }
                }
                var (status, body) = try await post("/api/v1/inference/blip", #"{"image": "\#(image)", "max_tokens": 5}"#)
                XCTAssertEqual(status, .unprocessableContent)
                XCTAssertEqual(body["error_type"] as? String, "unknown_field")
                XCTAssertTrue((body["error"] as? String)?.hasPrefix("unknown field max_tokens (expected one of: ") ?? false, "\(body)")
                (status, body) = try await post("/api/v1/inference/blip", #"{"image": "\#(image)", "parameters": {"num_beam": 2}}"#)
                XCTAssertEqual(status, .unprocessableContent)
                XCTAssertTrue((body["error"] as? String)?.hasPrefix("unknown field parameters.num_beam") ?? false, "\(body)")
                (status, body) = try await post("/", #"{"inputs": {"images": [{"b64": "\#(image)", "uri": "x"}]}}"#)
                XCTAssertEqual(status, .unprocessableContent)
                XCTAssertEqual(body["error"] as? String, "unknown field inputs.images.[0].uri (expected one of: b64, url)")
                (status, body) = try await post("/match", #"{"image": 5, "texts": ["a"]}"#)
                XCTAssertEqual(status, .unprocessableContent)
                XCTAssertEqual(body["error"] as? String, "image: expected a string")
                (status, body) = try await post("/", #"{"inputs": []}"#)
                XCTAssertEqual(status, .unprocessableContent)
                XCTAssertEqual(body["error"] as? String, "inputs: expected an object")
                (status, _) = try await post("/api/v1/inference/blip", #"{"image": "\#(image)", "parameters": null}"#)
                XCTAssertEqual(status, .ok)
            }
    }

    func testFloatsPrintInTheirShortestForm() {
        XCTAssertEqual("\(Double(shortest: Float(0.97)))", "0.97")
        XCTAssertEqual("\(Double(Float(0.97)))", "0.9700000286102295")
    }
}

/// The Hugging Face Inference API shape: the image as the body of `POST /`.
final class InferenceAPIShapeTests: XCTestCase {
    func testRawImageBodyGetsGeneratedText() async throws {
        let server = BlipServer(services: BlipServices(caption: FakeCaptioner(log: BatchLog())))
        try await Application(router: server.router()).test(.router) { client in
            let expected = try await client.execute(uri: "/api/v1/inference/blip", method: .post,
                                                    body: ByteBuffer(string: #"{"image": "\#(Fixture.astronaut.base64EncodedString())"}"#)) { r in
                json(r)["caption"] as? String
            }
            try await client.execute(uri: "/", method: .post, headers: [.contentType: "image/png"],
                                     body: ByteBuffer(bytes: Fixture.astronaut)) { r in
                XCTAssertEqual(r.status, .ok)
                let list = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.body.readableBytesView)) as? [[String: String]])
                XCTAssertEqual(list.count, 1)
                XCTAssertEqual(list.first?["generated_text"], expected)
                XCTAssertNotNil(expected)
            }
            try await client.execute(uri: "/", method: .post, headers: [.contentType: "application/octet-stream"],
                                     body: ByteBuffer(string: "not an image")) { r in
                XCTAssertEqual(r.status, .unprocessableContent)
                XCTAssertEqual(json(r)["error_type"] as? String, "invalid_image")
            }
        }
    }
}
