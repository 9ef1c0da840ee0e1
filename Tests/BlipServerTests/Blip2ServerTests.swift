import BLIP
import BlipServer
import Foundation
import Hummingbird
import HummingbirdTesting
import XCTest

/// BLIP-2 models behind the server (the tiny fixtures of Tests/BLIPTests/Fixtures), against what
/// transformers computed for them: captions, "Question: … Answer:" answers, match scores and the
/// query vectors of /embed.
final class Blip2ServerTests: XCTestCase {
    static let fixtures = TinyModelTests.fixtures

    func expected(_ model: String) throws -> [String: Any] {
        let data = try Data(contentsOf: Self.fixtures.appendingPathComponent("\(model)/expected.json"))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func testCaptionAndVQAWithABlip2OPTModel() async throws {
        let directory = Self.fixtures.appendingPathComponent("tiny-blip2-opt-bpe")
        let caption = try ServiceFactory.caption(modelDirectory: directory)
        let vqa = try ServiceFactory.questionAnswering(modelDirectory: directory)
        XCTAssertTrue(caption is Blip2CaptionerService)
        let server = BlipServer(services: BlipServices(caption: caption, questionAnswering: vqa))
        let cases = try XCTUnwrap(expected("tiny-blip2-opt-bpe")["cases"] as? [[String: Any]])
        let plain = cases[0]["text"] as! String, prompt = cases[1]["prompt"] as! String, full = cases[1]["text"] as! String
        XCTAssertEqual(prompt, "Question: what is in the picture? Answer:")
        let image = Fixture.astronaut.base64EncodedString()
        try await withClient(server) { client in
            try await client.execute(uri: "/api/v1/inference/blip", method: .post, headers: jsonHeaders,
                                     body: body(["image": image, "max_new_tokens": 8])) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertEqual(json(r)["caption"] as? String, plain)
            }
            try await client.execute(uri: "/api/v1/inference/blip", method: .post, headers: jsonHeaders,
                                     body: body(["image": image, "prompt": prompt, "max_new_tokens": 8])) { r in
                XCTAssertEqual(json(r)["caption"] as? String, full)
            }
            // VQA: the text after the prompt.
            try await client.execute(uri: "/api/v1/inference/blip", method: .post, headers: jsonHeaders,
                                     body: body(["image": image, "question": "what is in the picture?", "max_new_tokens": 8])) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertEqual(json(r)["answer"] as? String,
                               String(full.dropFirst(prompt.count)).trimmingCharacters(in: .whitespaces))
            }
            try await client.execute(uri: "/api/v1/inference/blip", method: .post, headers: jsonHeaders,
                                     body: body(["image": image, "question": "what?", "candidates": ["a", "b"]])) { r in
                XCTAssertEqual(r.status, .unprocessableContent)
                XCTAssertTrue(String(buffer: r.body).contains("BLIP VQA model"), String(buffer: r.body))
            }
        }
    }

    func testMatchAndEmbedWithABlip2ITMModel() async throws {
        let directory = Self.fixtures.appendingPathComponent("tiny-blip2-itm-matcher")
        let server = BlipServer(services: BlipServices(match: try ServiceFactory.match(modelDirectory: directory)))
        let e = try expected("tiny-blip2-itm-matcher")
        let texts = e["texts"] as! [String], first = (e["cases"] as! [[String: Any]])[0]
        let image = try Data(contentsOf: Self.fixtures.appendingPathComponent("tiny-itm/images/\(first["image"] as! String)"))
            .base64EncodedString()
        let itm = first["itm_probability"] as! [Double], itc = first["itc"] as! [Double], want = first["image_embeds"] as! [Double]
        try await withClient(server) { client in
            try await client.execute(uri: "/match", method: .post, headers: jsonHeaders,
                                     body: body(["image": image, "texts": texts])) { r in
                XCTAssertEqual(r.status, .ok)
                let matches = json(r)["matches"] as? [[String: Any]] ?? []
                XCTAssertEqual(matches.count, texts.count)
                for (k, m) in matches.enumerated() {
                    XCTAssertEqual(m["itm_probability"] as? Double ?? .nan, itm[k], accuracy: 1e-5)
                    XCTAssertEqual(m["itc_cosine"] as? Double ?? .nan, itc[k], accuracy: 1e-5)
                }
            }
            try await client.execute(uri: "/embed", method: .post, headers: jsonHeaders, body: body(["image": image])) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertEqual(json(r)["vectors"] as? Int, 4)
                XCTAssertEqual(json(r)["dimensions"] as? Int, 64)
                let got = json(r)["embedding"] as? [Double] ?? []
                XCTAssertEqual(got.count, want.count)
                XCTAssertLessThan(zip(got, want).map { abs($0 - $1) }.max() ?? 1, 1e-5)
            }
        }
    }
}
