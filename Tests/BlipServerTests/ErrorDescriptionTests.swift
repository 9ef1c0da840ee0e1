import Foundation
import XCTest
@testable import BlipServer

final class ServerErrorDescriptionTests: XCTestCase {
    /// `localizedDescription` is the error's own message, not Foundation's generic text.
    func testLocalizedDescriptionIsTheMessage() {
        let api: Error = APIError(.unprocessableContent, "invalid_parameter", "top_p must be in (0, 1]")
        XCTAssertEqual(api.localizedDescription, "422 invalid_parameter: top_p must be in (0, 1]")
        let full: Error = QueueFullError(limit: 32)
        XCTAssertEqual(full.localizedDescription, "the queue is full (32 requests waiting)")
    }
}
