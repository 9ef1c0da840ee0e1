@testable import BLIP
@testable import BlipServer
import Foundation
import XCTest

/// The multipart boundary search: Knuth–Morris–Pratt agrees with a naive search and stays linear on
/// the inputs that made the old search O(n·m) (runs of `-` against a long dash boundary).
final class BytePatternTests: XCTestCase {
    func naive(_ needle: [UInt8], in haystack: [UInt8], from start: Int, limit: Int) -> Int? {
        guard start >= 0, haystack.count >= needle.count else { return nil }
        var i = start
        while i + needle.count <= haystack.count && i - start <= limit {
            if Array(haystack[i..<(i + needle.count)]) == needle { return i }
            i += 1
        }
        return nil
    }

    func search(_ needle: [UInt8], in haystack: [UInt8], from start: Int = 0, limit: Int = .max) -> (Int?, Int) {
        var comparisons = 0
        let found = haystack.withUnsafeBufferPointer {
            BytePattern(needle).firstIndex(in: $0, from: start, limit: limit, comparisons: &comparisons)
        }
        return (found, comparisons)
    }

    func testAgreesWithNaiveSearchOnRandomInputs() {
        var rng = SeededGenerator(seed: 8)  // BLIP's SplitMix64
        let alphabets: [[UInt8]] = [[45], [45, 120], [13, 10, 45], [97, 98, 99]]
        var matches = 0
        for _ in 0..<4000 {
            let alphabet = alphabets.randomElement(using: &rng)!
            let needle = (0..<Int.random(in: 1...8, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            let haystack = (0..<Int.random(in: 0...120, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            let start = Int.random(in: 0...max(haystack.count, 1), using: &rng)
            let limit = Bool.random(using: &rng) ? Int.max : Int.random(in: 0...40, using: &rng)
            let expected = naive(needle, in: haystack, from: start, limit: limit)
            let (found, comparisons) = search(needle, in: haystack, from: start, limit: limit)
            XCTAssertEqual(found, expected, "needle \(needle) in \(haystack) from \(start) limit \(limit)")
            XCTAssertLessThanOrEqual(comparisons, 2 * max(haystack.count - start, 0))
            if expected != nil { matches += 1 }
        }
        XCTAssertGreaterThan(matches, 1000)  // the random cases exercise both outcomes
    }

    func testSelfOverlappingPatterns() {
        XCTAssertEqual(search(Array("aab".utf8), in: Array("aaab".utf8)).0, 1)
        XCTAssertEqual(search(Array("abab".utf8), in: Array("abaabab".utf8)).0, 3)
        XCTAssertEqual(search(Array("--b".utf8), in: Array("---b--b".utf8)).0, 1)
        XCTAssertEqual(search(Array("--b".utf8), in: Array("---b--b".utf8), from: 2).0, 4)
        XCTAssertNil(search(Array("--b".utf8), in: Array("---b--b".utf8), from: 2, limit: 1).0)
        XCTAssertNil(search(Array("abc".utf8), in: Array("ab".utf8)).0)
        XCTAssertNil(search(Array("a".utf8), in: Array("aaa".utf8), from: 3).0)
    }

    /// 16 MB of `-` and a 200-byte dash boundary: at most 2 comparisons per byte (the old search made
    /// about 200 per byte here).
    func testDashRunAgainstDashPatternIsLinear() {
        let n = 16 << 20
        let dashes = [UInt8](repeating: 45, count: n)
        let (found, comparisons) = search([UInt8](repeating: 45, count: 201) + [120], in: dashes)
        XCTAssertNil(found)
        XCTAssertGreaterThanOrEqual(comparisons, n)
        XCTAssertLessThanOrEqual(comparisons, 2 * n)
    }

    func testParsingAHostileBodyIsLinear() throws {
        let boundary = String(repeating: "-", count: 200)
        // Runs of 201 dashes cut by "x": the delimiter (202 dashes) nearly matches at every position.
        var body: [UInt8] = []
        body.reserveCapacity(16 << 20)
        while body.count < 16 << 20 { body += [UInt8](repeating: 45, count: 201) + [120] }
        var comparisons = 0
        XCTAssertThrowsError(try MultipartParser.parse(body, boundary: boundary, comparisons: &comparisons)) { error in
            XCTAssertEqual((error as? APIError)?.status, .badRequest)
            XCTAssertEqual((error as? APIError)?.message, "malformed multipart body: no boundary found")
        }
        XCTAssertGreaterThanOrEqual(comparisons, body.count)
        XCTAssertLessThanOrEqual(comparisons, 2 * body.count)

        // A valid opening and then 16 MB of dashes in the part: also linear, and refused.
        var second = Array(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n").utf8)
        second += [UInt8](repeating: 45, count: 16 << 20)
        comparisons = 0
        XCTAssertThrowsError(try MultipartParser.parse(second, boundary: boundary, comparisons: &comparisons)) { error in
            XCTAssertEqual((error as? APIError)?.message, "malformed multipart body: part not terminated by a boundary")
        }
        XCTAssertLessThanOrEqual(comparisons, 2 * second.count)
    }

    func testParseStillFindsPartsWithLongDashBoundary() throws {
        let boundary = String(repeating: "-", count: 200)
        let text = "--\(boundary)\r\nContent-Disposition: form-data; name=\"q\"\r\n\r\n---\(boundary.prefix(150))\r\n--\(boundary)--\r\n"
        var comparisons = 0
        let parts = try MultipartParser.parse(Array(text.utf8), boundary: boundary, comparisons: &comparisons)
        XCTAssertEqual(parts.map(\.name), ["q"])
        XCTAssertEqual(parts.first?.body, Array("---\(boundary.prefix(150))".utf8))
        XCTAssertLessThanOrEqual(comparisons, 2 * text.utf8.count)
    }
}
