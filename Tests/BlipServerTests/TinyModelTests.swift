import BLIP
import BlipServer
import Foundation
import Hummingbird
import HummingbirdTesting
import Tensor
import XCTest

/// The real models (tiny random-weight fixtures of Tests/BLIPTests/Fixtures) behind the server,
/// against what transformers computed for them.
final class TinyModelTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("BLIPTests/Fixtures")

    func expected(_ model: String) throws -> [String: Any] {
        let data = try Data(contentsOf: Self.fixtures.appendingPathComponent("\(model)/expected.json"))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func testCaptionMatchesTransformersGreedyCaption() async throws {
        let service = try CaptionerService(modelDirectory: Self.fixtures.appendingPathComponent("tiny"))
        let server = BlipServer(services: BlipServices(caption: service))
        // transformers' greedy caption (max_new_tokens 20) of the astronaut.
        let cases = try XCTUnwrap(expected("tiny")["cases"] as? [[String: Any]])
        let greedy = try XCTUnwrap(cases.first { $0["name"] as? String == "greedy" })
        let caption = try XCTUnwrap((greedy["captions"] as? [String])?.first)
        XCTAssertEqual(greedy["images"] as? [String], ["images/astronaut_96x80.png"])
        let image = Fixture.astronaut.base64EncodedString()
        try await withClient(server) { client in
            try await client.execute(uri: "/api/v1/inference/blip", method: .post, headers: jsonHeaders,
                                     body: body(["image": image, "max_new_tokens": 20, "num_beams": 1])) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertEqual(json(r)["caption"] as? String, caption)
            }
            let (headers, form) = multipart(fields: [("max_new_tokens", "20")], file: Fixture.astronaut)
            try await client.execute(uri: "/caption", method: .post, headers: headers, body: form) { r in
                XCTAssertEqual(json(r)["caption"] as? String, caption)
            }
        }
    }

    /// `/info` names each model's precision and threads; a bf16 captioner still answers.
    /// `num_return_sequences` over HTTP: every beam's caption, best first, as the library gives
    /// them; refused where one answer is returned (VQA).
    func testNumReturnSequences() async throws {
        let tiny = Self.fixtures.appendingPathComponent("tiny")
        let captioner = try BlipCaptioner(modelDirectory: tiny)
        var options = captioner.defaultOptions
        options.generation.numBeams = 3
        options.generation.numReturnSequences = 3
        options.generation.maxNewTokens = 8
        let expected = try await captioner.captions(for: [RGBImage(data: Fixture.astronaut)], options: options)[0].map(\.text)
        XCTAssertEqual(expected.count, 3)
        let server = BlipServer(services: BlipServices(
            caption: try CaptionerService(modelDirectory: tiny),
            questionAnswering: try QuestionAnswererService(modelDirectory: Self.fixtures.appendingPathComponent("tiny-vqa"))))
        let image = Fixture.astronaut.base64EncodedString()
        try await withClient(server) { client in
            try await client.execute(uri: "/api/v1/inference/blip", method: .post, headers: jsonHeaders,
                                     body: body(["image": image, "max_new_tokens": 8, "num_beams": 3, "num_return_sequences": 3])) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertEqual(json(r)["captions"] as? [String], expected)
                XCTAssertEqual(json(r)["caption"] as? String, expected[0])
            }
            let (headers, form) = multipart(fields: [("max_new_tokens", "8"), ("num_beams", "3"), ("num_return_sequences", "3")],
                                            file: Fixture.astronaut)
            try await client.execute(uri: "/caption", method: .post, headers: headers, body: form) { r in
                XCTAssertEqual(json(r)["captions"] as? [String], expected)
            }
            try await client.execute(uri: "/api/v1/inference/blip", method: .post, headers: jsonHeaders,
                                     body: body(["image": image, "max_new_tokens": 8, "num_beams": 2, "num_return_sequences": 3])) { r in
                XCTAssertEqual(r.status, .unprocessableContent)  // more sequences than beams
            }
            try await client.execute(uri: "/api/v1/inference/blip", method: .post, headers: jsonHeaders,
                                     body: body(["image": image, "question": "what is it?", "num_return_sequences": 2])) { r in
                XCTAssertEqual(r.status, .unprocessableContent)
                XCTAssertTrue(String(buffer: r.body).contains("captions only"), String(buffer: r.body))
            }
        }
    }

    /// `/embed` gives the library's unit ITC vectors for an image and for a text.
    func testEmbedMatchesTheLibrary() async throws {
        let itm = Self.fixtures.appendingPathComponent("tiny-itm")
        let matcher = try BlipImageTextMatcher(modelDirectory: itm)
        let imageVector = try matcher.imageEmbeddings([RGBImage(data: Fixture.astronaut)])[0]
        let textVector = try matcher.textEmbeddings(["a man in a space suit"])[0]
        let server = BlipServer(services: BlipServices(match: try ImageTextMatcherService(modelDirectory: itm)))
        try await withClient(server) { client in
            for (request, expected) in [(["image": Fixture.astronaut.base64EncodedString()], imageVector),
                                        (["text": "a man in a space suit"], textVector)] {
                try await client.execute(uri: "/embed", method: .post, headers: jsonHeaders, body: body(request)) { r in
                    XCTAssertEqual(r.status, .ok)
                    let got = try XCTUnwrap(json(r)["embedding"] as? [Double]).map(Float.init)
                    XCTAssertEqual(got.count, expected.count)
                    XCTAssertEqual(json(r)["dimensions"] as? Int, expected.count)
                    for (a, b) in zip(got, expected) { XCTAssertEqual(a, b, accuracy: 1e-6) }
                }
            }
            try await client.execute(uri: "/embed", method: .post, headers: jsonHeaders,
                                     body: body(["image": Fixture.astronaut.base64EncodedString(), "text": "both"])) { r in
                XCTAssertEqual(r.status, .unprocessableContent)
            }
            try await client.execute(uri: "/embed", method: .post, headers: jsonHeaders, body: body([String: String]())) { r in
                XCTAssertEqual(r.status, .unprocessableContent)
            }
        }
    }

    func testInfoShowsEachModelsPrecision() async throws {
        let caption = try CaptionerService(modelDirectory: Self.fixtures.appendingPathComponent("tiny"), precision: .bf16,
                                           compute: ComputeSettings(threads: 3))
        let match = try ImageTextMatcherService(modelDirectory: Self.fixtures.appendingPathComponent("tiny-itm"),
                                                compute: ComputeSettings(threads: 1))
        XCTAssertEqual(caption.description.precision, "bf16")
        XCTAssertEqual(match.description.precision, "fp32")
        XCTAssertEqual(caption.description.threads, 3)
        XCTAssertEqual(match.description.threads, 1)
        let server = BlipServer(services: BlipServices(caption: caption, match: match))
        try await withClient(server) { client in
            try await client.execute(uri: "/info", method: .get) { r in
                let text = String(buffer: r.body)
                XCTAssertTrue(text.contains("\"precision\":\"bf16\""), text)
                XCTAssertTrue(text.contains("\"precision\":\"fp32\""), text)
                XCTAssertTrue(text.contains("\"threads\":3"), text)
                XCTAssertTrue(text.contains("\"threads\":1"), text)
            }
            try await client.execute(uri: "/api/v1/inference/blip", method: .post, headers: jsonHeaders,
                                     body: body(["image": Fixture.astronaut.base64EncodedString(), "max_new_tokens": 5])) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertNotNil(json(r)["caption"] as? String)
            }
        }
    }

    /// Three questions about one image (encoded once) through the hosted payload, and one through
    /// the JSON endpoint: transformers' greedy answers, each question asked alone.
    func testAnswersMatchTransformers() async throws {
        let service = try QuestionAnswererService(modelDirectory: Self.fixtures.appendingPathComponent("tiny-vqa"))
        let server = BlipServer(services: BlipServices(questionAnswering: service))
        let generate = try XCTUnwrap(expected("tiny-vqa")["generate"] as? [[String: Any]])
        let alone = try XCTUnwrap(generate.first { $0["name"] as? String == "greedy_alone" })
        XCTAssertEqual((alone["kwargs"] as? [String: Any])?["max_new_tokens"] as? Int, 10)
        let questions = try XCTUnwrap(alone["questions"] as? [String])
        let answers = try XCTUnwrap(alone["answers"] as? [String])
        let image = Fixture.astronaut.base64EncodedString()
        try await withClient(server) { client in
            let payload = body(["inputs": ["texts": [questions], "images": [["b64": image]]],
                                "parameters": ["max_new_tokens": 10, "num_beams": 1]] as [String: Any])
            try await client.execute(uri: "/", method: .post, headers: jsonHeaders, body: payload) { r in
                XCTAssertEqual(r.status, .ok)
                let results = (json(r)["captions"] as? [[String: Any]])?.map { $0["image_results"] as? [String] }
                XCTAssertEqual(results, [answers])
            }
            try await client.execute(uri: "/api/v1/inference/blip", method: .post, headers: jsonHeaders,
                                     body: body(["image": image, "question": questions[1], "max_new_tokens": 10])) { r in
                XCTAssertEqual(json(r)["answer"] as? String, answers[1])
            }
        }
    }

    /// ITM probabilities and ITC cosines of /match equal transformers' (3 images x 5 texts).
    func testMatchScoresMatchTransformers() async throws {
        let directory = Self.fixtures.appendingPathComponent("tiny-itm")
        let service = try ImageTextMatcherService(modelDirectory: directory)
        let server = BlipServer(services: BlipServices(match: service))
        let e = try expected("tiny-itm")
        let images = try XCTUnwrap(e["images"] as? [String])
        let texts = try XCTUnwrap(e["texts"] as? [String])
        let tensors = try SafeTensorsFile(url: directory.appendingPathComponent("expected.safetensors"))
        let probability = try tensors.tensor("itm_probability").scalars  // [images, texts]
        let cosine = try tensors.tensor("itc_cosine").scalars
        let kept = texts.indices.filter { !texts[$0].isEmpty }  // the server refuses empty texts
        let results = SendableBox()
        try await withClient(server) { client in
            for (i, name) in images.enumerated() {
                let image = try Data(contentsOf: directory.appendingPathComponent(name)).base64EncodedString()
                try await client.execute(uri: "/match", method: .post, headers: jsonHeaders,
                                         body: body(["image": image, "texts": kept.map { texts[$0] }])) { r in
                    XCTAssertEqual(r.status, .ok)
                    let matches = json(r)["matches"] as? [[String: Any]] ?? []
                    XCTAssertEqual(matches.count, kept.count)
                    for (m, j) in zip(matches, kept) {
                        results.add(abs((m["itm_probability"] as? Double ?? .nan) - Double(probability[i * texts.count + j])),
                                    abs((m["itc_cosine"] as? Double ?? .nan) - Double(cosine[i * texts.count + j])))
                    }
                }
            }
        }
        XCTAssertEqual(results.count, images.count * kept.count)
        XCTAssertLessThan(results.maxProbability, 1e-4)
        XCTAssertLessThan(results.maxCosine, 1e-4)
        print("server /match vs transformers: max |d itm_probability| \(results.maxProbability), max |d itc_cosine| \(results.maxCosine)")
    }
}

/// Max differences gathered inside the test client's closures.
private final class SendableBox: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var maxProbability = 0.0
    private(set) var maxCosine = 0.0
    private(set) var count = 0

    func add(_ p: Double, _ c: Double) {
        lock.withLock {
            maxProbability = max(maxProbability, p.isNaN ? .infinity : p)
            maxCosine = max(maxCosine, c.isNaN ? .infinity : c)
            count += 1
        }
    }
}
