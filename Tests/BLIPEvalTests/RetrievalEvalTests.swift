import BLIP
@testable import BLIPEval
import Foundation
import XCTest

/// Recall@K against BLIP's official `itm_eval` on the same score matrices, and the .npy reader.
final class RetrievalEvalTests: XCTestCase {
    func testRecallEqualsOfficialItmEval() throws {
        let split = try EvalFiles.retrievalSplit(evalFixtures.appendingPathComponent("retrieval_split.json"))
        let i2t = try NumpyReader.matrix(contentsOf: evalFixtures.appendingPathComponent("retrieval_i2t.npy"))
        let t2i = try NumpyReader.matrix(contentsOf: evalFixtures.appendingPathComponent("retrieval_t2i.npy"))
        XCTAssertEqual(i2t.count, split.images.count)
        XCTAssertEqual(t2i.count, split.texts.count)
        let expected = try XCTUnwrap(fixtureJSON("retrieval_expected.json") as? [String: [String: Double]])
        for (name, recall) in [("i2t_only", try RetrievalRecall(scores: i2t, imageOfText: split.imageOfText)),
                               ("both", try RetrievalRecall(imageToText: i2t, textToImage: t2i, imageOfText: split.imageOfText))] {
            let want = try XCTUnwrap(expected[name])
            for k in [1, 5, 10] {
                XCTAssertEqual(100 * recall.imageToText[k]!, want["txt_r\(k)"]!, accuracy: 1e-9, "\(name) txt_r\(k)")
                XCTAssertEqual(100 * recall.textToImage[k]!, want["img_r\(k)"]!, accuracy: 1e-9, "\(name) img_r\(k)")
            }
            XCTAssertEqual(100 * recall.meanRecall, want["r_mean"]!, accuracy: 1e-9, name)
        }
        XCTAssertNotEqual(expected["i2t_only"], expected["both"], "the fixture's two directions differ")
    }

    func testHostileNumpyFilesAreErrors() throws {
        func header(_ text: String) -> Data {
            var h = Data([0x93]) + Data("NUMPY".utf8) + Data([1, 0])
            var body = text
            while (10 + body.utf8.count + 1) % 64 != 0 { body += " " }
            body += "\n"
            h += Data([UInt8(body.utf8.count & 0xff), UInt8(body.utf8.count >> 8)]) + Data(body.utf8)
            return h
        }
        let good = header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }") + Data(count: 16)
        XCTAssertEqual(try NumpyReader.matrix(good, source: "x.npy"), [[0, 0], [0, 0]])
        let cases: [(Data, String)] = [
            (Data("not numpy".utf8), "no .npy magic"),
            (header("{'descr': '<f4', 'fortran_order': False, 'shape': (4000000000, 4000000000), }") + Data(count: 16), "needs more data"),
            (header("{'descr': '<i8', 'fortran_order': False, 'shape': (2, 2), }") + Data(count: 32), "dtype <i8"),
            (header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2, 2), }") + Data(count: 32), "3-D array"),
            (header("{'descr': '<f4', 'shape': (2, 2), }") + Data(count: 16), "without descr"),
            (Data([0x93]) + Data("NUMPY".utf8) + Data([1, 0, 0xff, 0xff]), "bad header length"),
        ]
        for (data, message) in cases {
            XCTAssertThrowsError(try NumpyReader.matrix(data, source: "x.npy")) { error in
                XCTAssertTrue(error.localizedDescription.contains(message), "\(message): \(error.localizedDescription)")
            }
        }
    }

    func testEvaluationFilesNameTheBadRecord() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("blip-eval-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        func write(_ name: String, _ text: String) throws -> URL {
            let url = folder.appendingPathComponent(name)
            try Data(text.utf8).write(to: url)
            return url
        }
        let results = try write("r.jsonl", "{\"image\": \"val2014/COCO_val2014_000000391895.jpg\", \"caption\": \"a man\"}\n{\"image\": \"x.jpg\", \"error\": \"unreadable\"}\n{\"image\": \"photo.png\", \"caption\": \"b\"}\n")
        let parsed = try EvalFiles.captionResults(results)
        XCTAssertEqual(parsed.order, ["391895", "photo"])
        XCTAssertEqual(parsed.skipped, 1)
        let twice = try write("twice.json", #"[{"image_id": 1, "caption": "a"}, {"image_id": 1, "caption": "b"}]"#)
        XCTAssertThrowsError(try EvalFiles.captionResults(twice)) { XCTAssertTrue($0.localizedDescription.contains("more than one caption (record 1)")) }
        let notCOCO = try write("gt.json", #"[{"image": "a.jpg"}]"#)
        XCTAssertThrowsError(try EvalFiles.captionReferences(notCOCO)) { XCTAssertTrue($0.localizedDescription.contains("expected COCO caption annotations")) }
        let broken = try write("broken.json", "{\"annotations\": [")
        XCTAssertThrowsError(try EvalFiles.captionReferences(broken)) { XCTAssertTrue($0.localizedDescription.contains("broken.json: not JSON")) }
        let vqa = try write("a.json", #"{"annotations": [{"question_id": 1, "answers": []}]}"#)
        XCTAssertThrowsError(try EvalFiles.vqaGroundTruth(vqa)) { XCTAssertTrue($0.localizedDescription.contains("question 1 has no human answers")) }
        let answers = try write("res.json", #"[{"question_id": 1, "answer": "yes"}, {"question_id": 1, "answer": "no"}]"#)
        XCTAssertThrowsError(try EvalFiles.vqaResults(answers)) { XCTAssertTrue($0.localizedDescription.contains("answered twice")) }
    }
}
