@testable import BLIPEval
import Foundation
import XCTest

let evalFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

func fixtureJSON(_ name: String) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(contentsOf: evalFixtures.appendingPathComponent(name)))
}

/// Caption metrics against pycocoevalcap 1.2 and VQA accuracy against the official evaluation,
/// on the golden sets of `scripts/eval_reference.py`, plus hand-checkable cases.
final class MetricTests: XCTestCase {
    func testCaptionScoresEqualPycocoevalcap() throws {
        let sets = try XCTUnwrap(fixtureJSON("caption_sets.json") as? [[String: Any]])
        XCTAssertGreaterThanOrEqual(sets.count, 4)
        for set in sets {
            let name = set["name"] as! String
            let ids = set["ids"] as! [String]
            let images = set["images"] as! [String: [String: Any]]
            let refs = images.mapValues { $0["refs_tokenized"] as! [String] }
            let cands = images.mapValues { $0["candidate_tokenized"] as! String }
            let scores = try CaptionMetrics.score(references: refs, candidates: cands, ids: ids)
            let want = set["scores"] as! [String: Double]
            for (metric, value) in scores.named {
                XCTAssertEqual(value, want[metric]!, accuracy: 1e-9, "\(name) \(metric)")
                XCTAssertEqual((value * 1e4).rounded(), (want[metric]! * 1e4).rounded(), "\(name) \(metric) to 4 decimals")
            }
            for (got, expected) in zip(scores.ciderPerImage, set["cider_per_image"] as! [Double]) {
                XCTAssertEqual(got, expected, accuracy: 1e-9, "\(name) per-image CIDEr")
            }
            for (got, expected) in zip(scores.rougeLPerImage, set["rouge_per_image"] as! [Double]) {
                XCTAssertEqual(got, expected, accuracy: 1e-12, "\(name) per-image ROUGE-L")
            }
        }
    }

    /// From the captions as written: our PTB tokenisation gives pycocoevalcap's token strings,
    /// so the scores from raw text are pycocoevalcap's too.
    func testRawCaptionsTokeniseAsPycocoevalcap() throws {
        let sets = try XCTUnwrap(fixtureJSON("caption_sets.json") as? [[String: Any]])
        for set in sets {
            let ids = set["ids"] as! [String]
            let images = set["images"] as! [String: [String: Any]]
            for id in ids {
                let image = images[id]!
                XCTAssertEqual((image["refs"] as! [String]).map(PTBTokenizer.tokenize), image["refs_tokenized"] as! [String], "\(id)")
                XCTAssertEqual(PTBTokenizer.tokenize(image["candidate"] as! String), image["candidate_tokenized"] as! String, "\(id)")
            }
            let scores = try CaptionMetrics.score(references: images.mapValues { ($0["refs"] as! [String]).map(PTBTokenizer.tokenize) },
                                                  candidates: images.mapValues { PTBTokenizer.tokenize($0["candidate"] as! String) }, ids: ids)
            let want = set["scores"] as! [String: Double]
            for (metric, value) in scores.named { XCTAssertEqual(value, want[metric]!, accuracy: 1e-9, "\(set["name"]!) \(metric)") }
        }
    }

    /// Hand-checkable values.
    func testMetricsOnSmallExamples() throws {
        // Identical one-word captions: BLEU-1 = (1 + tiny) / (1 + small) with tiny 1e-15 and
        // small 1e-9; BLEU-2 has no bigram: the geometric mean with (0 + tiny) / (0 + small).
        // The length ratio is smoothed the same way, (1 + tiny) / (1 + small) < 1, so even equal
        // lengths get the brevity penalty exp(1 - 1 / ratio).
        let b = CaptionMetrics.bleu(candidates: ["dog"], references: [["dog"]])
        let p1 = (1 + 1e-15) / (1 + 1e-9)
        let penalty = exp(1 - 1 / p1)
        XCTAssertEqual(b[0], p1 * penalty, accuracy: 1e-15)
        XCTAssertEqual(b[1], (p1 * 1e-15 / 1e-9).squareRoot() * penalty, accuracy: 1e-15)
        // Brevity penalty: 2 words against a closest reference of 4: exp(1 - 4/2).
        let short = CaptionMetrics.bleu(candidates: ["a dog"], references: [["a dog on grass", "a big brown dog in a park"]])
        XCTAssertEqual(short[0], exp(1 - 4.0 / 2.0), accuracy: 1e-9)
        // ROUGE-L: LCS 2 of "a dog runs" vs "a big dog": P = R = 2/3 → F = 2/3.
        XCTAssertEqual(CaptionMetrics.rougeL(candidate: "a dog runs", references: ["a big dog"]), 2.0 / 3.0, accuracy: 1e-12)
        XCTAssertEqual(CaptionMetrics.rougeL(candidate: "cat", references: ["dog"]), 0)
        // CIDEr-D: one image only → log(1) = 0 reference length, every weight 0, score 0.
        XCTAssertEqual(CaptionMetrics.ciderD(candidates: ["a dog"], references: [["a dog"]]), [0])
        XCTAssertThrowsError(try CaptionMetrics.score(references: ["1": []], candidates: ["1": "x"], ids: ["1"]))
        XCTAssertThrowsError(try CaptionMetrics.score(references: ["1": ["x"]], candidates: [:], ids: ["1"]))
    }

    func testVQAAccuracyEqualsTheOfficialEvaluation() throws {
        let root = try XCTUnwrap(fixtureJSON("vqa_sets.json") as? [String: Any])
        for set in root["sets"] as! [[String: Any]] {
            let name = set["name"] as! String
            let annotations = (set["annotations"] as! [String: Any])["annotations"] as! [[String: Any]]
            let gt = annotations.map { a in
                VQAGroundTruth(questionId: a["question_id"] as! Int, questionType: a["question_type"] as! String,
                               answerType: a["answer_type"] as! String,
                               answers: (a["answers"] as! [[String: Any]]).map { $0["answer"] as! String })
            }
            var results: [Int: String] = [:]
            for r in set["results"] as! [[String: Any]] { results[r["question_id"] as! Int] = r["answer"] as? String }
            let accuracy = try VQAEvaluation.evaluate(groundTruth: gt, results: results)
            let want = set["accuracy"] as! [String: Any]
            XCTAssertEqual(accuracy.overall, want["overall"] as! Double, name)
            XCTAssertEqual(accuracy.perQuestionType, want["perQuestionType"] as! [String: Double], name)
            XCTAssertEqual(accuracy.perAnswerType, want["perAnswerType"] as! [String: Double], name)
            let perQuestion = set["per_question"] as! [String: Double]
            XCTAssertEqual(accuracy.perQuestion.count, perQuestion.count)
            for (id, value) in perQuestion { XCTAssertEqual(accuracy.perQuestion[Int(id)!], value, "\(name) question \(id)") }
            var missing = results
            missing.removeValue(forKey: gt[0].questionId)
            XCTAssertThrowsError(try VQAEvaluation.evaluate(groundTruth: gt, results: missing))
        }
        for c in root["normalisation"] as! [[String: String]] {
            XCTAssertEqual(VQAEvaluation.processPunctuation(c["input"]!), c["punctuation"]!, c["input"]!)
            XCTAssertEqual(VQAEvaluation.processDigitArticle(VQAEvaluation.processPunctuation(c["input"]!)), c["digit_article"]!, c["input"]!)
        }
    }

    func testVQAAccuracyByHand() {
        // 3 of 10 humans said "2": leaving out one of the 7 others leaves 3 matches (1.0), one of
        // the 3 leaves 2 (2/3) → (7 + 3 · 2/3) / 10 = 0.9; "two" is normalised to "2" first.
        let answers = Array(repeating: "2", count: 3) + Array(repeating: "3", count: 7)
        XCTAssertEqual(VQAEvaluation.accuracy(answer: "two", groundTruth: answers), 0.9, accuracy: 1e-12)
        XCTAssertEqual(VQAEvaluation.accuracy(answer: "3", groundTruth: answers), 1.0, accuracy: 1e-12)
        XCTAssertEqual(VQAEvaluation.accuracy(answer: "The Dog.", groundTruth: Array(repeating: "dog", count: 10)), 1.0)
        XCTAssertEqual(VQAEvaluation.round2(0.125 * 100), 12.5)
        XCTAssertEqual(VQAEvaluation.round2(2.675), 2.67)  // binary 2.67499…, as Python rounds it
    }
}
