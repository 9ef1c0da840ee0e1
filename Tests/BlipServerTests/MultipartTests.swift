@testable import BlipServer
import Foundation
import XCTest

final class MultipartTests: XCTestCase {
    func testBoundaryFromContentType() {
        XCTAssertEqual(MultipartParser.boundary(contentType: "multipart/form-data; boundary=abc"), "abc")
        XCTAssertEqual(MultipartParser.boundary(contentType: "Multipart/Form-Data; charset=utf-8; Boundary=\"a b\""), "a b")
        XCTAssertNil(MultipartParser.boundary(contentType: "multipart/form-data"))
        XCTAssertNil(MultipartParser.boundary(contentType: "application/json; boundary=abc"))
    }

    func testPartsWithBinaryContentThatLooksLikeABoundary() throws {
        // The file holds "--b" (the delimiter, but without the CRLF that starts one) and CRLFs: it stays whole.
        let file: [UInt8] = [0, 255, 13, 10, 65] + Array("--b".utf8) + [13, 10, 7]
        var body = Array("preamble\r\n--b\r\nContent-Disposition: form-data; name=\"question\"\r\n\r\nwhat?\r\n".utf8)
        body += Array("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.png\"\r\nContent-Type: image/png\r\n\r\n".utf8)
        body += file + Array("\r\n--b--\r\nepilogue".utf8)
        let parts = try MultipartParser.parse(body, boundary: "b")
        XCTAssertEqual(parts.map(\.name), ["question", "file"])
        XCTAssertEqual(parts[0].body, Array("what?".utf8))
        XCTAssertNil(parts[0].filename)
        XCTAssertEqual(parts[1].filename, "x.png")
        XCTAssertEqual(parts[1].contentType, "image/png")
        XCTAssertEqual(parts[1].body, file)
        let form = MultipartForm(parts: parts)
        XCTAssertEqual(form.fields, ["question": "what?"])
        XCTAssertEqual(form.files["file"]?.body, file)
    }

    func testMalformedBodiesThrow400() {
        let cases: [String] = [
            "",  // no boundary
            "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno closing boundary",
            "--b\r\nContent-Disposition: form-data; name=\"a\"\r\nheaders never end",
            "--b\r\nContent-Type: text/plain\r\n\r\nno name\r\n--b--",
            "--bX",  // no line break after the boundary
        ]
        for text in cases {
            XCTAssertThrowsError(try MultipartParser.parse(Array(text.utf8), boundary: "b"), text) { error in
                XCTAssertEqual((error as? APIError)?.status, .badRequest, text)
            }
        }
    }

    func testPartCountIsBounded() {
        var text = ""
        for i in 0...MultipartParser.maxParts { text += "--b\r\nContent-Disposition: form-data; name=\"f\(i)\"\r\n\r\nv\r\n" }
        text += "--b--\r\n"
        XCTAssertThrowsError(try MultipartParser.parse(Array(text.utf8), boundary: "b"))
    }
}
