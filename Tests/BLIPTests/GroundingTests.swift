import Foundation
import XCTest
@testable import BLIP

/// Visual grounding (`scripts/reference_grounding.py`): a tiny mmpretrain-format checkpoint (fp16,
/// `{"state_dict": …}`) against mmpretrain's own BERT modules + `GroundingHead.predict` on two photos.
final class GroundingTests: XCTestCase {
    static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
    static let official = fixtures.appendingPathComponent("official")

    func testBoxesEqualMmpretrain() throws {
        let grounder = try BlipGrounder(checkpoint: Self.official.appendingPathComponent("tiny_grounding.pth"),
                                        tokenizerDirectory: Self.official.appendingPathComponent("grounding-tokenizer"))
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: Self.official.appendingPathComponent("grounding_expected.json"))) as? [String: Any])
        for c in try XCTUnwrap(root["cases"] as? [[String: Any]]) {
            let image = try RGBImage(contentsOf: Self.fixtures.appendingPathComponent("tiny/images/\(c["image"] as! String)"))
            let phrase = c["phrase"] as! String
            XCTAssertEqual(grounder.tokenizer.encode(phrase, maxLength: 128), c["input_ids"] as? [Int])
            let (box, pixels) = try grounder.ground(image, phrase: phrase)
            XCTAssertEqual(box.tokens, c["box_tokens"] as? [Int], phrase)
            for (a, b) in zip(box.normalized, c["box_normalized"] as! [Double]) { XCTAssertEqual(Double(a), b, accuracy: 1e-6) }
            for (a, b) in zip(pixels, c["box_pixels"] as! [Double]) { XCTAssertEqual(Double(a), b, accuracy: 1e-4) }
        }
    }

    func testWrongTokenizerAndBadInputAreRefused() throws {
        // The NLVR2 tokenizer has no [unused339] … [unused980].
        XCTAssertThrowsError(try BlipGrounder(checkpoint: Self.official.appendingPathComponent("tiny_grounding.pth"),
                                              tokenizerDirectory: Self.official.appendingPathComponent("nlvr-tokenizer"))) { error in
            XCTAssertTrue("\(error)".contains("[unused339]"), "\(error)")
        }
        let grounder = try BlipGrounder(checkpoint: Self.official.appendingPathComponent("tiny_grounding.pth"),
                                        tokenizerDirectory: Self.official.appendingPathComponent("grounding-tokenizer"))
        let pixels = Tensor([Float](repeating: 0, count: 3 * 32 * 32), shape: [1, 3, 32, 32])
        XCTAssertThrowsError(try grounder.model.boxes(pixelValues: pixels, ids: [[1_000_000]], attentionMask: [[1]]))
        XCTAssertThrowsError(try grounder.model.boxes(pixelValues: pixels, ids: [], attentionMask: []))
    }

    /// The PNG writer's output decodes (our decoder, libpng) to the same pixels; the box outline is drawn.
    func testPNGRoundTripAndRectangle() throws {
        let image = try RGBImage(contentsOf: Self.fixtures.appendingPathComponent("tiny/images/chelsea_60x90.png"))
        let drawn = image.drawingRectangle([5, 10, 40, 70], thickness: 2)
        let decoded = try RGBImage(data: drawn.pngData())
        XCTAssertEqual(decoded, drawn)
        XCTAssertEqual(Array(drawn.pixels[((10 * 60) + 20) * 3..<((10 * 60) + 20) * 3 + 3]), [255, 0, 0])  // top edge
        XCTAssertEqual(drawn.pixels[((40 * 60) + 20) * 3], image.pixels[((40 * 60) + 20) * 3])  // inside untouched
        // Larger than one stored deflate block (65 535 bytes).
        let big = RGBImage(width: 200, height: 150, pixels: (0..<(200 * 150 * 3)).map { UInt8($0 % 251) })
        XCTAssertEqual(try RGBImage(data: big.pngData()), big)
    }
}
