import Foundation
import XCTest
@testable import BLIP

/// Apps show `error.localizedDescription`: it must be the message the CLI prints, not
/// "The operation could not be completed. (BLIP.BlipModelError error 3.)".
final class ErrorDescriptionTests: XCTestCase {
    func testModelAndTokenizerErrorsDescribeThemselves() throws {
        let errors: [(Error, String)] = [
            (BlipModelError.missingWeight("text_proj.bias"), "weight text_proj.bias is missing from the checkpoint"),
            (BlipModelError.notADirectory("/tmp/nothing"), "/tmp/nothing is not a model directory"),
            (BlipModelError.invalidInput("the question is empty"), "the question is empty"),
            (TokenizerError.emptyVocabulary(path: "/m/vocab.txt"), "vocabulary /m/vocab.txt is empty"),
            (ImageDecodingError(kind: .empty, source: "a.png", detail: "0 bytes"), "a.png: empty file: 0 bytes"),
        ]
        for (error, message) in errors {
            XCTAssertEqual(error.localizedDescription, message)
        }
    }

    func testAMissingModelDirectoryFromTheLibraryNamesThePath() throws {
        let path = "/nonexistent/blip-model-\(UUID().uuidString)"
        XCTAssertThrowsError(try BlipCaptioner(modelDirectory: URL(fileURLWithPath: path))) {
            XCTAssertEqual($0.localizedDescription, "\(path) is not a model directory")
        }
    }
}
