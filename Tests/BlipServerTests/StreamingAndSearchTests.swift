import BLIP
import BLIPIndex
import BlipServer
import Foundation
import Hummingbird
import HummingbirdTesting
import XCTest

/// The JSON objects of a server-sent-events body, in order.
func serverSentEvents(_ response: TestResponse) throws -> [[String: Any]] {
    let text = String(buffer: response.body)
    XCTAssertTrue(text.hasSuffix("\n\n"), "every event ends with a blank line")
    return try text.components(separatedBy: "\n\n").filter { !$0.isEmpty && !$0.hasPrefix(":") }.map { chunk in
        XCTAssertTrue(chunk.hasPrefix("data: "), chunk)
        let data = Data(chunk.dropFirst(6).utf8)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }
}

/// `"stream": true` (server-sent events), the VQA rank mode and `/search` over an index, with the
/// tiny fixture models, against the library (itself checked against transformers).
final class StreamingAndSearchTests: XCTestCase {
    static let fixtures = TinyModelTests.fixtures

    func testCaptionStreamsTheGreedyCaptionTokenByToken() async throws {
        let tiny = Self.fixtures.appendingPathComponent("tiny")
        let captioner = try BlipCaptioner(modelDirectory: tiny)
        var options = captioner.defaultOptions
        options.generation.maxNewTokens = 20
        // The library's own partial texts (it is checked against transformers' greedy caption).
        let partials = PartialTexts()
        let caption = try captioner.captionStreaming(try RGBImage(data: Fixture.astronaut), options: options) { partials.append($0) }
        let expected = try XCTUnwrap(((try fixtureExpectations("tiny")["cases"] as? [[String: Any]])?
            .first { $0["name"] as? String == "greedy" }?["captions"] as? [String])?.first)
        XCTAssertEqual(caption.text, expected)
        XCTAssertGreaterThan(partials.values.count, 2, "greedy decoding reports several steps")
        XCTAssertEqual(partials.values.last, expected)

        let server = BlipServer(services: BlipServices(caption: CaptionerService(captioner: captioner, source: "tiny")))
        try await withClient(server) { client in
            try await client.execute(uri: "/api/v1/inference/blip", method: .post, headers: jsonHeaders,
                                     body: body(["image": Fixture.astronaut.base64EncodedString(), "max_new_tokens": 20, "stream": true])) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertEqual(r.headers[.contentType], "text/event-stream; charset=utf-8")
                let events = try serverSentEvents(r)
                let steps = events.dropLast()
                XCTAssertEqual(steps.map { $0["text"] as? String }, partials.values)
                // The deltas rebuild the text whenever it only grew.
                var rebuilt = ""
                for step in steps {
                    if let delta = step["delta"] as? String { rebuilt += delta } else { rebuilt = step["text"] as? String ?? "" }
                    XCTAssertEqual(rebuilt, step["text"] as? String)
                }
                let done = try XCTUnwrap(events.last)
                XCTAssertEqual(done["done"] as? Bool, true)
                XCTAssertEqual(done["caption"] as? String, expected)
                XCTAssertNotNil(done["inference_time_ms"] as? Double)
            }
            let (headers, form) = multipart(fields: [("max_new_tokens", "20"), ("stream", "true")], file: Fixture.astronaut)
            try await client.execute(uri: "/caption", method: .post, headers: headers, body: form) { r in
                XCTAssertEqual(try serverSentEvents(r).last?["caption"] as? String, expected)
            }
            // One sequence per stream; a bad image is an ordinary JSON error before any event.
            try await client.execute(uri: "/api/v1/inference/blip", method: .post, headers: jsonHeaders,
                                     body: body(["image": Fixture.astronaut.base64EncodedString(), "stream": true,
                                                 "num_beams": 2, "num_return_sequences": 2])) { r in
                XCTAssertEqual(r.status, .unprocessableContent)
                XCTAssertTrue(String(buffer: r.body).contains("one sequence"), String(buffer: r.body))
            }
            try await client.execute(uri: "/api/v1/inference/blip", method: .post, headers: jsonHeaders,
                                     body: body(["image": Data("not an image".utf8).base64EncodedString(), "stream": true])) { r in
                XCTAssertEqual(r.status, .unprocessableContent)
                XCTAssertEqual(json(r)["error_type"] as? String, "invalid_image")
            }
        }
    }

    func testAnswerStreamAndRankMode() async throws {
        let vqaDirectory = Self.fixtures.appendingPathComponent("tiny-vqa")
        let expected = try fixtureExpectations("tiny-vqa")
        let greedy = try XCTUnwrap((expected["generate"] as? [[String: Any]])?.first { $0["name"] as? String == "greedy_alone" })
        let question = try XCTUnwrap((greedy["questions"] as? [String])?[1])
        let answer = try XCTUnwrap((greedy["answers"] as? [String])?[1])
        let candidates = try XCTUnwrap(expected["candidates"] as? [String])
        let answerer = try BlipQuestionAnswerer(modelDirectory: vqaDirectory)
        let image = try RGBImage(data: Fixture.astronaut)
        let ranked = try answerer.rankAnswers(question, image: answerer.encode(image), candidates: candidates, k: 5)
        let server = BlipServer(services: BlipServices(questionAnswering: QuestionAnswererService(answerer: answerer, source: "tiny-vqa")))
        let b64 = Fixture.astronaut.base64EncodedString()
        try await withClient(server) { client in
            try await client.execute(uri: "/api/v1/inference/blip", method: .post, headers: jsonHeaders,
                                     body: body(["image": b64, "question": question, "stream": true, "max_new_tokens": 10])) { r in
                let events = try serverSentEvents(r)
                XCTAssertEqual(events.last?["answer"] as? String, answer)
                XCTAssertEqual(events.last?["question"] as? String, question)
                XCTAssertEqual(events.dropLast().last?["text"] as? String, answer)
            }
            try await client.execute(uri: "/api/v1/inference/blip", method: .post, headers: jsonHeaders,
                                     body: body(["image": b64, "question": question, "candidates": candidates, "k": 5])) { r in
                XCTAssertEqual(r.status, .ok)
                let list = try XCTUnwrap(json(r)["ranked"] as? [[String: Any]])
                XCTAssertEqual(list.map { $0["answer"] as? String }, ranked.map(\.answer))
                for (got, want) in zip(list, ranked) {
                    XCTAssertEqual(got["probability"] as? Double ?? -1, Double(want.probability), accuracy: 1e-6)
                }
                XCTAssertEqual(json(r)["answer"] as? String, ranked[0].answer)
            }
            var fields = [("question", question), ("k", "5")]
            fields += candidates.map { ("candidates", $0) }
            let (headers, form) = multipart(fields: fields, file: Fixture.astronaut)
            try await client.execute(uri: "/vqa", method: .post, headers: headers, body: form) { r in
                XCTAssertEqual((json(r)["ranked"] as? [[String: Any]])?.map { $0["answer"] as? String }, ranked.map(\.answer))
            }
            for bad in [["image": b64, "candidates": ["yes"]] as [String: Any],
                        ["image": b64, "question": question, "candidates": ["yes"], "stream": true],
                        ["image": b64, "question": question, "candidates": [String]()],
                        ["image": b64, "question": question, "candidates": ["yes"], "k": 0]] {
                try await client.execute(uri: "/api/v1/inference/blip", method: .post, headers: jsonHeaders, body: body(bad)) { r in
                    XCTAssertEqual(r.status, .unprocessableContent, "\(bad.keys.sorted())")
                }
            }
        }
    }

    func testSearchAnIndexByTextAndByImageWithThumbnails() async throws {
        let itm = Self.fixtures.appendingPathComponent("tiny-itm")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("blip-serve-search-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Fixture.astronaut.write(to: folder.appendingPathComponent("astronaut.png"))
        try Fixture.camera.write(to: folder.appendingPathComponent("camera.png"))
        let indexPath = folder.appendingPathComponent("photos.blipindex").path
        let model = try BlipIndexModel(modelDirectory: itm)
        try ImageIndex(path: indexPath).add(paths: [folder.path], embedder: model)
        let expected = try ImageIndex(path: indexPath, create: false).search(text: "a man in a space suit", embedder: model, topK: 2)

        let (match, search) = try ServiceFactory.matchAndSearch(modelDirectory: itm, indexPath: indexPath)
        let server = BlipServer(services: BlipServices(match: match, search: search))
        try await withClient(server) { client in
            try await client.execute(uri: "/search", method: .post, headers: jsonHeaders,
                                     body: body(["text": "a man in a space suit", "top_k": 2])) { r in
                XCTAssertEqual(r.status, .ok)
                let hits = try XCTUnwrap(json(r)["hits"] as? [[String: Any]])
                XCTAssertEqual(hits.map { $0["path"] as? String }, expected.hits.map(\.path))
                for (got, want) in zip(hits, expected.hits) {
                    XCTAssertEqual(got["itc"] as? Double ?? 9, Double(want.itc), accuracy: 1e-6)
                }
                XCTAssertEqual(json(r)["images"] as? Int, 2)
            }
            // By image: the astronaut itself comes first, at cosine 1.
            try await client.execute(uri: "/search", method: .post, headers: jsonHeaders,
                                     body: body(["image": Fixture.astronaut.base64EncodedString(), "top_k": 1])) { r in
                let hit = try XCTUnwrap((json(r)["hits"] as? [[String: Any]])?.first)
                XCTAssertEqual(hit["path"] as? String, folder.appendingPathComponent("astronaut.png").path)
                XCTAssertEqual(hit["itc"] as? Double ?? 0, 1, accuracy: 1e-5)
                let thumbnail = try XCTUnwrap(hit["thumbnail"] as? String)
                try await client.execute(uri: thumbnail + "&size=48", method: .get) { t in
                    XCTAssertEqual(t.status, .ok)
                    XCTAssertEqual(t.headers[.contentType], "image/jpeg")
                    let decoded = try RGBImage(data: Data(buffer: t.body))
                    XCTAssertEqual([decoded.width, decoded.height], [48, 40])  // 96x80 fitted in 48x48
                }
            }
            // Re-ranked text search gives ITM probabilities.
            try await client.execute(uri: "/search", method: .post, headers: jsonHeaders,
                                     body: body(["text": "a camera", "top_k": 2, "rerank": 2])) { r in
                let hits = try XCTUnwrap(json(r)["hits"] as? [[String: Any]])
                XCTAssertEqual(hits.count, 2)
                XCTAssertTrue(hits.allSatisfy { ($0["itm"] as? Double).map { (0...1).contains($0) } ?? false })
            }
            // Only indexed files are served; bad queries are 422.
            try await client.execute(uri: "/thumbnail?path=/etc/passwd", method: .get) { r in
                XCTAssertEqual(r.status, .notFound)
                XCTAssertEqual(json(r)["error_type"] as? String, "not_indexed")
            }
            for bad in [["text": "x", "top_k": 0] as [String: Any], ["text": "x", "rerank": 1000], [:],
                        ["text": "x", "image": "AAAA"], ["image": Fixture.astronaut.base64EncodedString(), "rerank": 1]] {
                try await client.execute(uri: "/search", method: .post, headers: jsonHeaders, body: body(bad)) { r in
                    XCTAssertEqual(r.status, .unprocessableContent, "\(bad.keys.sorted())")
                }
            }
            // An image added by another process is found without restarting.
            try Fixture.chelsea.write(to: folder.appendingPathComponent("chelsea.png"))
            try ImageIndex(path: indexPath).add(paths: [folder.path], embedder: model)
            try await client.execute(uri: "/search", method: .post, headers: jsonHeaders, body: body(["text": "a cat"])) { r in
                XCTAssertEqual(json(r)["images"] as? Int, 3)
                XCTAssertEqual((json(r)["hits"] as? [Any])?.count, 3)
            }
        }
        // Without an index: 404 naming the option.
        let plain = BlipServer(services: BlipServices(match: match))
        try await withClient(plain) { client in
            try await client.execute(uri: "/search", method: .post, headers: jsonHeaders, body: body(["text": "x"])) { r in
                XCTAssertEqual(r.status, .notFound)
                XCTAssertTrue(String(buffer: r.body).contains("--index"))
            }
        }
    }

    /// An index built with another model is refused when the server starts.
    func testIndexOfAnotherModelIsRefused() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("blip-serve-index-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Fixture.camera.write(to: folder.appendingPathComponent("camera.png"))
        let indexPath = folder.appendingPathComponent("other.blipindex").path
        try ImageIndex(path: indexPath).add(paths: [folder.path], embedder: FixedEmbedder())
        XCTAssertThrowsError(try ServiceFactory.matchAndSearch(modelDirectory: Self.fixtures.appendingPathComponent("tiny-itm"),
                                                               indexPath: indexPath)) { error in
            XCTAssertTrue(error.localizedDescription.contains("fixed-test-model"), error.localizedDescription)
        }
        XCTAssertThrowsError(try ServiceFactory.matchAndSearch(modelDirectory: Self.fixtures.appendingPathComponent("tiny-itm"),
                                                               indexPath: folder.appendingPathComponent("missing.blipindex").path)) { error in
            XCTAssertTrue(error.localizedDescription.contains("no such index"), error.localizedDescription)
        }
    }
}

/// `expected.json` of a fixture model.
func fixtureExpectations(_ model: String) throws -> [String: Any] {
    let data = try Data(contentsOf: TinyModelTests.fixtures.appendingPathComponent("\(model)/expected.json"))
    return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
}

/// Texts collected from a callback.
final class PartialTexts: @unchecked Sendable {
    private let lock = NSLock()
    private var texts: [String] = []
    func append(_ text: String) { lock.withLock { texts.append(text) } }
    var values: [String] { lock.withLock { texts } }
}

/// An embedder of another model (for the mismatch check).
struct FixedEmbedder: ImageEmbedder {
    var modelIdentifier: String { "fixed-test-model" }
    var dimension: Int { 4 }
    func embed(images: [RGBImage]) throws -> [[Float]] { images.map { _ in [1, 0, 0, 0] } }
    func embed(texts: [String]) throws -> [[Float]] { texts.map { _ in [1, 0, 0, 0] } }
}

/// Streams one token, then waits for the client to go away (records that it saw the cancel).
struct EndlessCaptioner: CaptionService {
    let state: StreamState
    var description: ModelDescription { ModelDescription(source: "endless", task: "caption") }
    var defaultGeneration: GenerationOptions { GenerationOptions() }

    func captions(for images: [RGBImage], prompt: String?, options: GenerationOptions) throws -> [String] {
        images.map { _ in "batched" }
    }

    func captionStreaming(_ image: RGBImage, prompt: String?, options: GenerationOptions,
                          isCancelled: @escaping @Sendable () -> Bool,
                          onText: @escaping @Sendable (String) -> Void) throws -> String {
        onText("a")
        let deadline = Date().addingTimeInterval(30)
        while !isCancelled() {
            if Date() > deadline { return "a never cancelled" }
            Thread.sleep(forTimeInterval: 0.01)
        }
        state.markCancelled()
        throw CancellationError()
    }
}

final class StreamState: @unchecked Sendable {
    private let lock = NSLock()
    private var cancelled = false
    func markCancelled() { lock.withLock { cancelled = true } }
    var wasCancelled: Bool { lock.withLock { cancelled } }
}

final class StreamDisconnectTests: XCTestCase {
    /// A client that goes away mid-stream stops the generation (its model thread is free again:
    /// the next request is answered) and gives its admission slot back.
    func testDisconnectStopsTheGeneration() async throws {
        let state = StreamState()
        let server = BlipServer(services: BlipServices(caption: EndlessCaptioner(state: state)))
        try await withLiveServer(server) { port in
            let payload = String(decoding: body(["image": Fixture.astronaut.base64EncodedString(), "stream": true]).readableBytesView, as: UTF8.self)
            var socket: RawSocket? = try XCTUnwrap(RawSocket(port: port))
            socket?.send("POST /api/v1/inference/blip HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(payload.utf8.count)\r\n\r\n\(payload)")
            // Read until the first event has arrived.
            var received = Data()
            var buffer = [UInt8](repeating: 0, count: 4096)
            let deadline = Date().addingTimeInterval(10)
            while !String(decoding: received, as: UTF8.self).contains("data: "), Date() < deadline, let fd = socket?.fd {
                let n = recv(fd, &buffer, buffer.count, 0)
                if n > 0 { received.append(contentsOf: buffer[0..<n]) }
            }
            let head = String(decoding: received, as: UTF8.self)
            XCTAssertTrue(head.contains("text/event-stream"), head)
            XCTAssertTrue(head.contains(#"data: {"delta":"a","text":"a"}"#), head)
            socket = nil  // closes the connection
            try await waitUntil("the generation saw the client go") { state.wasCancelled }
            let reply = try XCTUnwrap(rawRequest(port: port, method: "POST", path: "/api/v1/inference/blip",
                                                 contentType: "application/json",
                                                 body: Data(#"{"image": "\#(Fixture.astronaut.base64EncodedString())"}"#.utf8)))
            XCTAssertEqual(reply.status, 200)
            XCTAssertEqual(reply.json["caption"] as? String, "batched")
        }
    }
}
