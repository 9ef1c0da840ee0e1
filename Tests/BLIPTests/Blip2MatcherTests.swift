import Foundation
import XCTest
@testable import BLIP

/// `Blip2ImageTextMatcher` end to end (photo → processor → Blip2ForImageTextRetrieval) against
/// transformers' Blip2Processor + model on a tiny random checkpoint with a small BERT vocabulary
/// (`reference_blip2.py make-fixtures` → tiny-blip2-itm-matcher).
final class Blip2MatcherTests: XCTestCase {
    static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
    static let directory = fixtures.appendingPathComponent("tiny-blip2-itm-matcher")

    struct Case { let image: String; let itm: [Double]; let itc: [Double]; let imageEmbeds: [Double]; let textEmbeds: [[Double]] }

    static func expected() throws -> (texts: [String], cases: [Case]) {
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("expected.json"))) as? [String: Any])
        let cases = (root["cases"] as! [[String: Any]]).map {
            Case(image: $0["image"] as! String, itm: $0["itm_probability"] as! [Double], itc: $0["itc"] as! [Double],
                 imageEmbeds: $0["image_embeds"] as! [Double], textEmbeds: $0["text_embeds"] as! [[Double]])
        }
        return (root["texts"] as! [String], cases)
    }

    func image(_ name: String) throws -> RGBImage {
        try RGBImage(contentsOf: Self.fixtures.appendingPathComponent("tiny-itm/images/\(name)"))
    }

    func assertClose(_ a: [Float], _ b: [Double], _ what: String, tolerance: Double = 1e-5, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, line: line)
        let worst = zip(a, b).map { abs(Double($0) - $1) }.max() ?? .infinity
        XCTAssertLessThan(worst, tolerance, what, line: line)
    }

    func testMatchAndEmbeddingsEqualTransformers() throws {
        let matcher = try loadImageTextMatcher(modelDirectory: Self.directory)
        XCTAssertTrue(matcher is Blip2ImageTextMatcher)
        XCTAssertEqual(matcher.vectorsPerImage, 4)
        XCTAssertEqual(matcher.embeddingSize, 16)
        let (texts, cases) = try Self.expected()
        let images = try cases.map { try image($0.image) }
        let all = try matcher.match(images: images, texts: Array(repeating: texts, count: images.count), mode: .transformers)
        let embeddings = try matcher.imageEmbeddings(images)
        let textEmbeddings = try matcher.textEmbeddings(texts)
        for (k, c) in cases.enumerated() {
            assertClose(all[k].map(\.itmProbability), c.itm, "ITM \(c.image)")
            assertClose(all[k].map(\.itcCosine), c.itc, "ITC \(c.image)")
            assertClose(embeddings[k], c.imageEmbeds, "image embeds \(c.image)")
            for (t, text) in textEmbeddings.enumerated() {
                assertClose(text, c.textEmbeds[t], "text embeds \(t)")
                // The ITC score is the best query vector's dot product with the text's.
                XCTAssertEqual(Double(matcher.itcScore(image: embeddings[k], text: text)), c.itc[t], accuracy: 1e-5)
            }
        }
        // One text against the three images: the same probabilities as the per-image match.
        let column = try matcher.itmProbabilities(images: images, text: texts[1], mode: .transformers)
        assertClose(column, cases.map { $0.itm[1] }, "ITM column")
        // Batched or not, each image scores the same.
        var one = matcher
        one.imageBatchSize = 1
        one.textBatchSize = 2
        assertClose(try one.match(images[2], texts: texts).map(\.itmProbability), cases[2].itm, "unbatched ITM")
    }

    func testBlip2RefusesOfficialModeAndBlipLoadersNameTheFamily() throws {
        let matcher = try loadImageTextMatcher(modelDirectory: Self.directory)
        let photo = try image("coffee_60x40.png")
        XCTAssertThrowsError(try matcher.match(photo, texts: ["a cup"], mode: .official)) { error in
            XCTAssertTrue("\(error.localizedDescription)".contains("[ENC]"), "\(error)")
        }
        // A BLIP loader given a BLIP-2 directory says which family it found.
        XCTAssertThrowsError(try BlipImageTextMatcher(modelDirectory: Self.directory)) { error in
            XCTAssertTrue(error.localizedDescription.contains("BLIP-2 model"), error.localizedDescription)
        }
        // BLIP directories still load the BLIP matcher.
        XCTAssertTrue(try loadImageTextMatcher(modelDirectory: Self.fixtures.appendingPathComponent("tiny-itm")) is BlipImageTextMatcher)
    }
}
