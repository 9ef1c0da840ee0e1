import BLIP
import BlipServer
import Foundation
import Hummingbird
import HummingbirdTesting
import XCTest

/// The real captioner (tiny random-weight fixture model) behind the server.
final class TinyModelTests: XCTestCase {
    func testCaptionMatchesTransformersGreedyCaption() async throws {
        let service = try CaptionerService(modelDirectory: Fixture.tinyModel)
        let server = BlipServer(services: BlipServices(caption: service))
        // transformers' greedy caption (max_new_tokens 20) for the astronaut, from expected.json.
        let expected = "bewildered hut specialising key exhibits gonzaga crises brussels marcia husky hammersmithら register fate hanoi compass ‿ clade vichy bohemian"
        let image = Fixture.astronaut.base64EncodedString()
        try await withClient(server) { client in
            try await client.execute(uri: "/api/v1/inference/blip", method: .post, headers: jsonHeaders,
                                     body: body(["image": image, "max_new_tokens": 20, "num_beams": 1])) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertEqual(json(r)["caption"] as? String, expected)
            }
            let (headers, form) = multipart(fields: [("max_new_tokens", "20")], file: Fixture.astronaut)
            try await client.execute(uri: "/caption", method: .post, headers: headers, body: form) { r in
                XCTAssertEqual(json(r)["caption"] as? String, expected)
            }
        }
    }
}
