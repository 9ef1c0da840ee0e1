import BLIP
@testable import BlipServer
import Foundation
import Hummingbird
import HummingbirdTesting
import XCTest

/// The global decoded-pixel budget (--max-decoded-megapixels).
final class DecodeBudgetTests: XCTestCase {
    let astronaut = Fixture.astronaut.base64EncodedString()  // 96 x 80 = 7680 pixels
    let camera = Fixture.camera.base64EncodedString()  // 40 x 56 = 2240 pixels

    func testHeaderSizeIsReadWithoutDecoding() throws {
        let size = try RGBImage.headerSize(of: Fixture.astronaut)
        XCTAssertEqual(size.width, 96)
        XCTAssertEqual(size.height, 80)
        XCTAssertThrowsError(try RGBImage.headerSize(of: Fixture.astronaut, maxPixels: 7679, source: "a.png")) { error in
            XCTAssertEqual((error as? ImageDecodingError)?.kind, .tooManyPixels)
        }
        XCTAssertThrowsError(try RGBImage.headerSize(of: Data("GIF89a".utf8), source: "x.gif")) { error in
            XCTAssertEqual((error as? ImageDecodingError)?.kind, .unsupportedFormat)
        }
    }

    /// One image larger than the whole budget: 413, whatever else is running.
    func testImageLargerThanTheWholeBudgetIs413() async throws {
        var limits = ServerLimits()
        limits.maxDecodedMegapixels = 0.005  // 5000 pixels
        let astronaut = self.astronaut, camera = self.camera
        let server = makeServer(limits: limits)
        try await withClient(server) { client in
            try await client.execute(uri: "/api/v1/inference/blip", method: .post, headers: jsonHeaders, body: body(["image": astronaut])) { r in
                XCTAssertEqual(r.status, .contentTooLarge)
                XCTAssertEqual(json(r)["error_type"] as? String, "image_over_decode_budget")
                XCTAssertTrue((json(r)["error"] as? String)?.contains("96x80") ?? false, "\(json(r))")
            }
            try await client.execute(uri: "/api/v1/inference/blip", method: .post, headers: jsonHeaders, body: body(["image": camera])) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertEqual(json(r)["caption"] as? String, "caption 40x56")
            }
        }
        XCTAssertEqual(server.pixelBudget.inUse, 0)
    }

    /// While one request holds its decoded image, another that does not fit gets 503 with
    /// Retry-After; the budget is shown in /metrics and /info and given back afterwards.
    func testBudgetFullIs503AndIsGivenBack() async throws {
        let log = BatchLog(gated: true)
        var limits = ServerLimits()
        limits.maxDecodedMegapixels = 0.01  // 10000 pixels: one astronaut at a time
        limits.maxBatchSize = 1
        limits.maxWaitMilliseconds = 0
        limits.retryAfterSeconds = 3
        let server = makeServer(log: log, limits: limits)
        let astronaut = self.astronaut, camera = self.camera
        try await withClient(server) { client in
            let first = Task {
                try await client.execute(uri: "/api/v1/inference/blip", method: .post, headers: jsonHeaders, body: body(["image": astronaut])) {
                    ($0.status, json($0)["caption"] as? String)
                }
            }
            while log.batchesEntered < 1 { try await Task.sleep(for: .milliseconds(5)) }
            try await client.execute(uri: "/metrics", method: .get) { r in
                let text = String(buffer: r.body)
                XCTAssertTrue(text.contains("blip_decoded_pixels_in_use 7680"), text)
                XCTAssertTrue(text.contains("blip_decoded_pixels_budget 10000"), text)
            }
            try await client.execute(uri: "/info", method: .get) { r in
                XCTAssertEqual((json(r)["usage"] as? [String: Any])?["decoded_pixels_in_use"] as? Int, 7680)
                XCTAssertEqual((json(r)["limits"] as? [String: Any])?["max_decoded_megapixels"] as? Double, 0.01)
            }
            try await client.execute(uri: "/api/v1/inference/blip", method: .post, headers: jsonHeaders, body: body(["image": astronaut])) { r in
                XCTAssertEqual(r.status, .serviceUnavailable)
                XCTAssertEqual(r.headers[.retryAfter], "3")
                XCTAssertEqual(json(r)["error_type"] as? String, "decode_budget_full")
            }
            log.gate?.signal()
            let (status, caption) = try await first.value
            XCTAssertEqual(status, .ok)
            XCTAssertEqual(caption, "caption 96x80")
            XCTAssertEqual(server.pixelBudget.inUse, 0)
            // Fits again; the hosted handler reserves each image before decoding it.
            let two = body(["inputs": ["images": [["b64": astronaut], ["b64": astronaut]]]])
            try await client.execute(uri: "/", method: .post, headers: jsonHeaders, body: two) { r in
                XCTAssertEqual(r.status, .serviceUnavailable)
                XCTAssertEqual(json(r)["error_type"] as? String, "decode_budget_full")
            }
            let small = body(["inputs": ["images": [["b64": astronaut], ["b64": camera]]]])
            let pending = Task {
                try await client.execute(uri: "/", method: .post, headers: jsonHeaders, body: small) {
                    ($0.status, (json($0)["captions"] as? [[String: Any]])?.count)
                }
            }
            for _ in 0..<2 { log.gate?.signal() }
            let (hostedStatus, count) = try await pending.value
            XCTAssertEqual(hostedStatus, .ok)
            XCTAssertEqual(count, 2)
        }
        XCTAssertEqual(server.pixelBudget.inUse, 0)
    }
}
