import Foundation
import XCTest
@testable import BLIP

/// NLVR2 (`scripts/reference_nlvr.py`): a tiny official-format checkpoint (fp16, 7 text layers
/// so both the averaged and the merged branches run) against LAVIS's `nlvr_encoder.BertModel`
/// + `BlipNLVR.forward` on two photo pairs.
final class NLVRTests: XCTestCase {
    static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
    static let official = fixtures.appendingPathComponent("official")

    func testLogitsEqualLAVIS() throws {
        let classifier = try BlipNLVRClassifier(checkpoint: Self.official.appendingPathComponent("tiny_nlvr.pth"),
                                                tokenizerDirectory: Self.official.appendingPathComponent("nlvr-tokenizer"))
        XCTAssertEqual(classifier.model.config.textConfig.numHiddenLayers, 7)
        XCTAssertEqual(classifier.model.config.visionConfig.imageSize, 32)
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: Self.official.appendingPathComponent("nlvr_expected.json"))) as? [String: Any])
        let cases = try XCTUnwrap(root["cases"] as? [[String: Any]])
        func image(_ name: Any?) throws -> RGBImage {
            try RGBImage(contentsOf: Self.fixtures.appendingPathComponent("tiny/images/\(name as! String)"))
        }
        for c in cases {
            let sentence = c["sentence"] as! String
            XCTAssertEqual(classifier.inputIds(sentence), c["input_ids"] as? [Int])
            let verdict = try classifier.classify(left: image(c["left"]), right: image(c["right"]), sentence: sentence)
            let want = c["logits"] as! [Double]
            for (a, b) in zip(verdict.logits, want) { XCTAssertEqual(Double(a), b, accuracy: 1e-4, sentence) }
            XCTAssertEqual(Double(verdict.probabilityTrue), c["probability_true"] as! Double, accuracy: 1e-5)
        }
        // The branches are not symmetric (dense0/dense1, merge_layer): swapping the images matters.
        let c = cases[0]
        let swapped = try classifier.classify(left: image(c["right"]), right: image(c["left"]), sentence: c["sentence"] as! String)
        XCTAssertNotEqual(swapped.logits, (c["logits"] as! [Double]).map(Float.init))
    }

    func testNLVRCheckpointsAreNotConvertedAndBadInputIsRefused() throws {
        let checkpoint = try OfficialBlipCheckpoint(url: Self.official.appendingPathComponent("tiny_nlvr.pth"))
        XCTAssertEqual(checkpoint.task, .nlvr)
        XCTAssertEqual(checkpoint.config.visionConfig.layerNormEps, 1e-6)
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("nlvr-\(UUID().uuidString)")
        XCTAssertThrowsError(try checkpoint.writeTransformersDirectory(out, tokenizerDirectory: Self.official.appendingPathComponent("nlvr-tokenizer")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
        let model = try BlipForNLVR(config: checkpoint.config, weights: checkpoint.weights)
        let pixels = Tensor([Float](repeating: 0, count: 3 * 32 * 32), shape: [1, 3, 32, 32])
        XCTAssertThrowsError(try model.logits(left: pixels, right: pixels, ids: [[999_999]], attentionMask: [[1]]))
        XCTAssertThrowsError(try model.logits(left: pixels, right: pixels, ids: [[1, 2]], attentionMask: [[1]]))
        XCTAssertThrowsError(try model.logits(left: pixels, right: pixels, ids: [], attentionMask: []))
    }
}
