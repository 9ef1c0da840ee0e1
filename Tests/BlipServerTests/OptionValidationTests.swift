import BLIP
import BlipServer
import Foundation
import Hummingbird
import HummingbirdTesting
import XCTest

/// Generation options that are non-finite, out of range or do not fit their JSON type get a 422
/// naming the field (issue 8, items 1 and 8); the model keeps answering afterwards.
final class OptionValidationTests: XCTestCase {
    func testNonFiniteFormOptionsAre422NamingTheFieldAndTheModelKeepsAnswering() async throws {
        let service = try CaptionerService(modelDirectory: Fixture.tinyModel)
        let server = BlipServer(services: BlipServices(caption: service))
        try await withClient(server) { client in
            for (field, value) in [("length_penalty", "nan"), ("length_penalty", "inf"), ("temperature", "-nan"),
                                   ("top_p", "NaN"), ("repetition_penalty", "infinity")] {
                let (h, f) = multipart(fields: [(field, value)], file: Fixture.astronaut)
                try await client.execute(uri: "/caption", method: .post, headers: h, body: f) { r in
                    XCTAssertEqual(r.status, .unprocessableContent, "\(field)=\(value)")
                    XCTAssertEqual(json(r)["error_type"] as? String, "invalid_parameter")
                    XCTAssertEqual(json(r)["error"] as? String, "\(field) must be a finite number, got \"\(value)\"")
                }
            }
            // The same model still answers (a NaN key used to wedge its batcher).
            let (h, f) = multipart(fields: [("max_new_tokens", "3")], file: Fixture.astronaut)
            try await client.execute(uri: "/caption", method: .post, headers: h, body: f) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertNotNil(json(r)["caption"] as? String)
            }
        }
    }

    func testJSONNumbersOutOfRangeAre422NamingTheField() async throws {
        let image = Fixture.astronaut.base64EncodedString()
        try await withClient(makeServer()) { client in
            func check(_ members: String, _ message: String, type: String = "invalid_field",
                       file: StaticString = #filePath, line: UInt = #line) async throws {
                let payload = ByteBuffer(string: #"{"image": "\#(image)", \#(members)}"#)
                try await client.execute(uri: "/api/v1/inference/blip", method: .post, headers: jsonHeaders, body: payload) { r in
                    XCTAssertEqual(r.status, .unprocessableContent, members, file: file, line: line)
                    XCTAssertEqual(json(r)["error_type"] as? String, type, members, file: file, line: line)
                    XCTAssertEqual(json(r)["error"] as? String, message, file: file, line: line)
                }
            }
            try await check(#""seed": -1"#, "seed expects a non-negative integer at most 18446744073709551615, got -1")
            try await check(#""max_new_tokens": 1234567890123456789012345"#,
                            "max_new_tokens expects an integer between -9223372036854775808 and 9223372036854775807, got 1234567890123456789012345")
            try await check(#""parameters": {"seed": -1}"#,
                            "parameters.seed expects a non-negative integer at most 18446744073709551615, got -1")
            try await check(#""length_penalty": 1e999"#, "length_penalty expects a finite number, got 1e999 (out of range)")
            try await check(#""num_beams": 2.5"#, "num_beams expects an integer, got 2.5")
            try await check(#""min_new_tokens": 50, "max_new_tokens": 5"#,
                            "invalid generation option: min_new_tokens (50) must not exceed max_new_tokens (5)", type: "invalid_parameter")
        }
        // "nan" as a string: a type error naming the field.
        try await withClient(makeServer()) { client in
            try await client.execute(uri: "/api/v1/inference/blip", method: .post, headers: jsonHeaders,
                                     body: body(["image": image, "length_penalty": "nan"])) { r in
                XCTAssertEqual(r.status, .unprocessableContent)
                XCTAssertTrue((json(r)["error"] as? String ?? "").hasPrefix("length_penalty"), "\(json(r))")
            }
            // Malformed JSON stays a 400.
            try await client.execute(uri: "/api/v1/inference/blip", method: .post, headers: jsonHeaders,
                                     body: ByteBuffer(string: #"{"image": "x", "seed": NaN}"#)) { r in
                XCTAssertEqual(r.status, .badRequest)
                XCTAssertEqual(json(r)["error_type"] as? String, "invalid_json")
            }
        }
    }

    /// One rule for a prompt longer than max_position_embeddings (64 in the tiny model): 422 with
    /// or without max_new_tokens (it used to be 200 with no generation when absent).
    func testPromptLongerThanPositionsIs422WithOrWithoutMaxNewTokens() async throws {
        let service = try CaptionerService(modelDirectory: Fixture.tinyModel)
        let server = BlipServer(services: BlipServices(caption: service))
        let image = Fixture.astronaut.base64EncodedString()
        let prompt = Array(repeating: "cat", count: 80).joined(separator: " ")
        try await withClient(server) { client in
            for extra in [[:], ["max_new_tokens": 5]] as [[String: Any]] {
                let payload = body(extra.merging(["image": image, "prompt": prompt]) { a, _ in a })
                try await client.execute(uri: "/api/v1/inference/blip", method: .post, headers: jsonHeaders, body: payload) { r in
                    XCTAssertEqual(r.status, .unprocessableContent, "\(extra)")
                    XCTAssertEqual(json(r)["error_type"] as? String, "invalid_input")
                    let message = json(r)["error"] as? String ?? ""
                    XCTAssertTrue(message.hasPrefix("prompt of 81 tokens leaves no room to generate"), message)
                }
            }
        }
    }
}
