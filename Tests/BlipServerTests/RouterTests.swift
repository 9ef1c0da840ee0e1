import BLIP
import BlipServer
import Foundation
import Hummingbird
import HummingbirdTesting
import XCTest

/// Every endpoint and error status through HummingbirdTesting's router client, with fake models.
final class RouterTests: XCTestCase {
    let astronaut = Fixture.astronaut.base64EncodedString()
    let camera = Fixture.camera.base64EncodedString()

    func testHealthInfoOpenAPIAndWebPage() async throws {
        try await withClient(makeServer(match: false)) { client in
            try await client.execute(uri: "/health", method: .get) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertEqual(json(r)["status"] as? String, "ok")
            }
            try await client.execute(uri: "/info", method: .get) { r in
                XCTAssertEqual(r.status, .ok)
                let info = json(r)
                XCTAssertEqual(info["version"] as? String, blipServerVersion)
                let models = info["models"] as? [String: Any]
                XCTAssertEqual(Set(models?.keys.map { $0 } ?? []), ["caption", "vqa"])
                let limits = info["limits"] as? [String: Any]
                XCTAssertEqual(limits?["max_batch_size"] as? Int, 8)
                XCTAssertEqual(limits?["allow_remote_images"] as? Bool, false)
            }
            try await client.execute(uri: "/openapi.json", method: .get) { r in
                XCTAssertEqual(r.status, .ok)
                let spec = json(r)
                XCTAssertEqual((spec["openapi"] as? String)?.hasPrefix("3."), true)
                let paths = Set((spec["paths"] as? [String: Any])?.keys.map { $0 } ?? [])
                XCTAssertEqual(paths, ["/", "/health", "/info", "/metrics", "/openapi.json", "/api/v1/inference/blip", "/caption", "/vqa", "/match", "/embed", "/search", "/thumbnail"])
            }
            try await client.execute(uri: "/", method: .get) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertEqual(r.headers[.contentType], "text/html; charset=utf-8")
                let html = String(buffer: r.body)
                XCTAssertTrue(html.contains("<input type=\"file\""), "page has a file picker")
                XCTAssertTrue(html.contains("/api/v1/inference/blip"))
            }
        }
    }

    func testInferenceCaptionAndAnswer() async throws {
        let astronaut = self.astronaut
        try await withClient(makeServer()) { client in
            try await client.execute(uri: "/api/v1/inference/blip", method: .post, headers: jsonHeaders, body: body(["image": astronaut])) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertEqual(json(r)["caption"] as? String, "caption 96x80")
                XCTAssertNotNil(json(r)["inference_time_ms"] as? Double)
                XCTAssertNil(json(r)["answer"])
            }
            // Generation options at the top level or under "parameters"; data URL prefix allowed.
            let b1 = body(["image": "data:image/png;base64," + astronaut, "prompt": "a picture of", "num_beams": 3])
            try await client.execute(uri: "/api/v1/inference/blip", method: .post, headers: jsonHeaders, body: b1) { r in
                XCTAssertEqual(json(r)["caption"] as? String, "caption 96x80 | a picture of | beams 3")
            }
            let b2 = body(["image": astronaut, "parameters": ["num_beams": 2]] as [String: Any])
            try await client.execute(uri: "/api/v1/inference/blip", method: .post, headers: jsonHeaders, body: b2) { r in
                XCTAssertEqual(json(r)["caption"] as? String, "caption 96x80 | beams 2")
            }
            try await client.execute(uri: "/api/v1/inference/blip", method: .post, headers: jsonHeaders,
                                     body: body(["image": astronaut, "question": "what is it?"])) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertEqual(json(r)["answer"] as? String, "what is it? -> 96x80")
                XCTAssertNotNil(json(r)["inference_time_ms"] as? Double)
            }
        }
    }

    /// 400 for malformed bodies, 422 for well-formed but invalid ones; always {"error", "error_type"}.
    func testInvalidInputs() async throws {
        let astronaut = self.astronaut
        try await withClient(makeServer()) { client in
            func check(_ payload: ByteBuffer, _ status: HTTPResponse.Status, _ type: String, uri: String = "/api/v1/inference/blip",
                       file: StaticString = #filePath, line: UInt = #line) async throws {
                try await client.execute(uri: uri, method: .post, headers: jsonHeaders, body: payload) { r in
                    XCTAssertEqual(r.status, status, file: file, line: line)
                    XCTAssertEqual(json(r)["error_type"] as? String, type, file: file, line: line)
                    XCTAssertFalse((json(r)["error"] as? String ?? "").isEmpty, file: file, line: line)
                }
            }
            try await check(ByteBuffer(string: "{not json"), .badRequest, "invalid_json")
            try await check(ByteBuffer(string: "[1, 2]"), .badRequest, "invalid_json")
            try await check(ByteBuffer(), .badRequest, "invalid_json")
            try await check(body(["question": "why?"]), .unprocessableContent, "invalid_field")
            try await check(body(["image": 12]), .unprocessableContent, "invalid_field")
            try await check(body(["image": "!!!not base64!!!"]), .unprocessableContent, "invalid_base64")
            try await check(body(["image": Data("hello, not an image".utf8).base64EncodedString()]), .unprocessableContent, "invalid_image")
            try await check(body(["image": astronaut, "num_beams": 100]), .unprocessableContent, "invalid_parameter")
            try await check(body(["image": astronaut, "max_new_tokens": 0]), .unprocessableContent, "invalid_parameter")
            try await check(body(["image": astronaut, "temperature": "hot"]), .unprocessableContent, "invalid_field")
            try await check(body(["image": astronaut, "question": "   "]), .unprocessableContent, "invalid_text")
        }
    }

    func testImageOverPixelBudgetIs422() async throws {
        let astronaut = self.astronaut, camera = self.camera
        var limits = ServerLimits()
        limits.maxImagePixels = 3000  // the 40x56 camera (2240) fits, the 96x80 astronaut (7680) does not
        try await withClient(makeServer(limits: limits)) { client in
            try await client.execute(uri: "/api/v1/inference/blip", method: .post, headers: jsonHeaders, body: body(["image": astronaut])) { r in
                XCTAssertEqual(r.status, .unprocessableContent)
                XCTAssertEqual(json(r)["error_type"] as? String, "image_too_large")
            }
            try await client.execute(uri: "/api/v1/inference/blip", method: .post, headers: jsonHeaders, body: body(["image": camera])) { r in
                XCTAssertEqual(r.status, .ok)
            }
        }
    }

    func testBodyOverLimitIs413() async throws {
        var limits = ServerLimits()
        limits.maxBodyBytes = 2048
        try await withClient(makeServer(limits: limits)) { client in
            let big = body(["image": String(repeating: "A", count: 4096)])
            for uri in ["/api/v1/inference/blip", "/", "/match"] {
                try await client.execute(uri: uri, method: .post, headers: jsonHeaders, body: big) { r in
                    XCTAssertEqual(r.status, .contentTooLarge, uri)
                    XCTAssertEqual(json(r)["error_type"] as? String, "body_too_large")
                }
            }
            let (headers, form) = multipart(fields: [], file: Data(repeating: 7, count: 4096))
            try await client.execute(uri: "/caption", method: .post, headers: headers, body: form) { r in
                XCTAssertEqual(r.status, .contentTooLarge)
            }
        }
    }

    func testNotFoundMethodNotAllowedAndMissingModel() async throws {
        let astronaut = self.astronaut
        try await withClient(makeServer(vqa: false, match: false)) { client in
            try await client.execute(uri: "/nope", method: .get) { r in
                XCTAssertEqual(r.status, .notFound)
                XCTAssertEqual(json(r)["error_type"] as? String, "not_found")
            }
            try await client.execute(uri: "/caption", method: .get) { r in
                XCTAssertEqual(r.status, .methodNotAllowed)
                XCTAssertEqual(r.headers[.allow], "POST")
                XCTAssertEqual(json(r)["error_type"] as? String, "method_not_allowed")
            }
            try await client.execute(uri: "/health", method: .post) { r in
                XCTAssertEqual(r.status, .methodNotAllowed)
            }
            try await client.execute(uri: "/api/v1/inference/blip", method: .post, headers: jsonHeaders,
                                     body: body(["image": astronaut, "question": "what?"])) { r in
                XCTAssertEqual(r.status, .notFound)
                XCTAssertEqual(json(r)["error_type"] as? String, "model_not_loaded")
            }
            try await client.execute(uri: "/match", method: .post, headers: jsonHeaders,
                                     body: body(["image": astronaut, "texts": ["a"]])) { r in
                XCTAssertEqual(r.status, .notFound)
                XCTAssertEqual(json(r)["error_type"] as? String, "model_not_loaded")
            }
        }
    }

    func testMultipartCaptionAndVQA() async throws {
        try await withClient(makeServer()) { client in
            let (h1, f1) = multipart(fields: [("prompt", "a photo of")], file: Fixture.camera)
            try await client.execute(uri: "/caption", method: .post, headers: h1, body: f1) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertEqual(json(r)["caption"] as? String, "caption 40x56 | a photo of")
            }
            let (h2, f2) = multipart(fields: [("question", "is it grey?"), ("num_beams", "2")], file: Fixture.astronaut)
            try await client.execute(uri: "/vqa", method: .post, headers: h2, body: f2) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertEqual(json(r)["answer"] as? String, "is it grey? -> 96x80")
            }
            // Missing parts: 422; not multipart or a malformed body: 400.
            let (h3, f3) = multipart(fields: [("question", "x")], file: nil)
            try await client.execute(uri: "/vqa", method: .post, headers: h3, body: f3) { r in
                XCTAssertEqual(r.status, .unprocessableContent)
                XCTAssertEqual(json(r)["error_type"] as? String, "missing_field")
            }
            let (h4, f4) = multipart(fields: [], file: Fixture.astronaut)
            try await client.execute(uri: "/vqa", method: .post, headers: h4, body: f4) { r in
                XCTAssertEqual(r.status, .unprocessableContent)
            }
            let (h5, f5) = multipart(fields: [("num_beams", "many")], file: Fixture.astronaut)
            try await client.execute(uri: "/caption", method: .post, headers: h5, body: f5) { r in
                XCTAssertEqual(r.status, .unprocessableContent)
            }
            try await client.execute(uri: "/caption", method: .post, headers: jsonHeaders, body: body(["image": "x"])) { r in
                XCTAssertEqual(r.status, .badRequest)
                XCTAssertEqual(json(r)["error_type"] as? String, "invalid_multipart")
            }
            try await client.execute(uri: "/caption", method: .post, headers: h1, body: ByteBuffer(string: "--XyZBoundary123\r\nno end")) { r in
                XCTAssertEqual(r.status, .badRequest)
                XCTAssertEqual(json(r)["error_type"] as? String, "invalid_multipart")
            }
        }
    }

    func testMatchJSONAndMultipart() async throws {
        let astronaut = self.astronaut
        try await withClient(makeServer()) { client in
            try await client.execute(uri: "/match", method: .post, headers: jsonHeaders,
                                     body: body(["image": astronaut, "texts": ["a cat", "an astronaut"]])) { r in
                XCTAssertEqual(r.status, .ok)
                let matches = json(r)["matches"] as? [[String: Any]] ?? []
                XCTAssertEqual(matches.map { $0["text"] as? String }, ["a cat", "an astronaut"])
                XCTAssertEqual(matches.map { $0["itm_probability"] as? Double }, [0.05, 0.12])
                XCTAssertEqual(matches.map { $0["itc_cosine"] as? Double }, [-0.05, -0.12])
            }
            let (h, f) = multipart(fields: [("texts", "one"), ("texts", "three")], file: Fixture.camera)
            try await client.execute(uri: "/match", method: .post, headers: h, body: f) { r in
                XCTAssertEqual(r.status, .ok)
                let matches = json(r)["matches"] as? [[String: Any]] ?? []
                XCTAssertEqual(matches.map { $0["itm_probability"] as? Double }, [0.03, 0.05])
            }
            try await client.execute(uri: "/match", method: .post, headers: jsonHeaders,
                                     body: body(["image": astronaut, "texts": [String]()])) { r in
                XCTAssertEqual(r.status, .unprocessableContent)
            }
        }
    }

    func testHostedHandlerPayload() async throws {
        let astronaut = self.astronaut, camera = self.camera
        try await withClient(makeServer()) { client in
            // No texts: one caption per image.
            let captions = body(["inputs": ["images": [["b64": astronaut], ["b64": camera]]]])
            try await client.execute(uri: "/", method: .post, headers: jsonHeaders, body: captions) { r in
                XCTAssertEqual(r.status, .ok)
                let results = (json(r)["captions"] as? [[String: Any]])?.map { $0["image_results"] as? [String] }
                XCTAssertEqual(results, [["caption 96x80"], ["caption 40x56"]])
            }
            // One question list per image.
            let questions = body(["inputs": ["texts": [["q1", "q2"], ["q3"]], "images": [["b64": astronaut], ["b64": camera]]]])
            try await client.execute(uri: "/", method: .post, headers: jsonHeaders, body: questions) { r in
                XCTAssertEqual(r.status, .ok)
                let results = (json(r)["captions"] as? [[String: Any]])?.map { $0["image_results"] as? [String] }
                XCTAssertEqual(results, [["q1 -> 96x80", "q2 -> 96x80"], ["q3 -> 40x56"]])
            }
            // Remote images are off by default.
            let remote = body(["inputs": ["images": [["url": "http://127.0.0.1:1/x.png"]]]])
            try await client.execute(uri: "/", method: .post, headers: jsonHeaders, body: remote) { r in
                XCTAssertEqual(r.status, .unprocessableContent)
                XCTAssertEqual(json(r)["error_type"] as? String, "remote_images_disabled")
            }
            let mismatched = body(["inputs": ["texts": [["a"], ["b"], ["c"]], "images": [["b64": astronaut], ["b64": camera]]]])
            try await client.execute(uri: "/", method: .post, headers: jsonHeaders, body: mismatched) { r in
                XCTAssertEqual(r.status, .unprocessableContent)
            }
            try await client.execute(uri: "/", method: .post, headers: jsonHeaders, body: body(["inputs": ["images": [[String: String]]()]])) { r in
                XCTAssertEqual(r.status, .unprocessableContent)
            }
            try await client.execute(uri: "/", method: .post, headers: jsonHeaders, body: body(["inputs": ["images": [["x": 1]]]])) { r in
                XCTAssertEqual(r.status, .unprocessableContent)
                XCTAssertEqual(json(r)["error_type"] as? String, "unknown_field")  // a field the endpoint does not know
            }
            try await client.execute(uri: "/", method: .post, headers: jsonHeaders, body: body(["inputs": ["images": [[String: String]()]]])) { r in
                XCTAssertEqual(r.status, .unprocessableContent)
                XCTAssertEqual(json(r)["error_type"] as? String, "missing_field")  // neither b64 nor url
            }
        }
    }

    func testRemoteImagesOnlyOverHTTP() async throws {
        var limits = ServerLimits()
        limits.allowRemoteImages = true
        limits.remoteImageTimeoutSeconds = 2
        try await withClient(makeServer(limits: limits)) { client in
            for url in ["file:///etc/passwd", "ftp://127.0.0.1/x.png", "not a url"] {
                try await client.execute(uri: "/", method: .post, headers: jsonHeaders, body: body(["inputs": ["images": [["url": url]]]])) { r in
                    XCTAssertEqual(r.status, .unprocessableContent, url)
                    XCTAssertEqual(json(r)["error_type"] as? String, "invalid_url", url)
                }
            }
        }
    }

    func testMetricsCountRequestsAndBatches() async throws {
        let astronaut = self.astronaut
        let server = makeServer()
        try await withClient(server) { client in
            for _ in 0..<2 {
                try await client.execute(uri: "/api/v1/inference/blip", method: .post, headers: jsonHeaders, body: body(["image": astronaut]))
            }
            try await client.execute(uri: "/api/v1/inference/blip", method: .post, headers: jsonHeaders, body: ByteBuffer(string: "{"))
            try await client.execute(uri: "/metrics", method: .get) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertEqual(r.headers[.contentType], "text/plain; version=0.0.4; charset=utf-8")
                let text = String(buffer: r.body)
                XCTAssertTrue(text.contains("blip_http_requests_total{route=\"/api/v1/inference/blip\",method=\"POST\",status=\"200\"} 2"), text)
                XCTAssertTrue(text.contains("blip_http_requests_total{route=\"/api/v1/inference/blip\",method=\"POST\",status=\"400\"} 1"), text)
                XCTAssertTrue(text.contains("blip_http_request_duration_seconds_count{route=\"/api/v1/inference/blip\"} 3"), text)
                XCTAssertTrue(text.contains("blip_batch_size_count{model=\"caption\"} 2"), text)
                XCTAssertTrue(text.contains("blip_queue_depth{model=\"caption\"} 0"), text)
            }
        }
        XCTAssertEqual(server.metrics.requestCount(route: "/api/v1/inference/blip", status: 200), 2)
    }
}
