import BLIPEval
import Foundation
import XCTest

extension CLITests {
    static let evalFixtures = fixtures.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("BLIPEvalTests/Fixtures")

    /// `blip eval vqa` and `blip eval retrieval` score files as the official tools do (the
    /// golden values of scripts/eval_reference.py), and name the file and record of bad input.
    func testEvalVQAAndRetrievalFromFiles() throws {
        let folder = try temporaryDirectory()
        let sets = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(contentsOf: Self.evalFixtures.appendingPathComponent("vqa_sets.json")))
            as? [String: Any])?["sets"] as? [[String: Any]])
        let set = sets[1]
        func write(_ name: String, _ object: Any) throws -> String {
            let url = folder.appendingPathComponent(name)
            try JSONSerialization.data(withJSONObject: object).write(to: url)
            return url.path
        }
        let annotations = try write("a.json", set["annotations"]!), questions = try write("q.json", set["questions"]!)
        let results = try write("r.json", set["results"]!)
        let r = try run(["eval", "vqa", "--annotations", annotations, "--questions", questions, "--results", results, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let got = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let want = set["accuracy"] as! [String: Any]
        XCTAssertEqual(got["overall"] as? Double, want["overall"] as? Double)
        XCTAssertEqual(got["perAnswerType"] as? [String: Double], want["perAnswerType"] as? [String: Double])
        var partial = set["results"] as! [[String: Any]]
        partial.removeFirst()
        let missing = try run(["eval", "vqa", "--annotations", annotations, "--results", try write("partial.json", partial)])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("has no answer in the results"), missing.stderr)
        let extra = try run(["eval", "vqa", "--annotations", annotations,
                             "--results", try write("extra.json", (set["results"] as! [[String: Any]]) + [["question_id": 1, "answer": "x"]])])
        XCTAssertEqual(extra.status, 1)
        XCTAssertTrue(extra.stderr.contains("answers are for questions not in"), extra.stderr)

        let retrieval = try run(["eval", "retrieval", "--annotations", Self.evalFixtures.appendingPathComponent("retrieval_split.json").path,
                                 "--scores", Self.evalFixtures.appendingPathComponent("retrieval_i2t.npy").path,
                                 "--scores-t2i", Self.evalFixtures.appendingPathComponent("retrieval_t2i.npy").path, "--json"])
        XCTAssertEqual(retrieval.status, 0, retrieval.stderr)
        let recall = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(retrieval.stdout.utf8)) as? [String: Double])
        let expected = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(contentsOf: Self.evalFixtures.appendingPathComponent("retrieval_expected.json")))
            as? [String: [String: Double]])?["both"])
        for (key, value) in expected { XCTAssertEqual(recall[key] ?? -1, value, accuracy: 1e-9, key) }
        let shape = try run(["eval", "retrieval", "--annotations", annotations, "--scores", Self.evalFixtures.appendingPathComponent("retrieval_i2t.npy").path])
        XCTAssertEqual(shape.status, 1)
        XCTAssertTrue(shape.stderr.contains("expected a list of {\"image\", \"caption\": [...]} records"), shape.stderr)
        let neither = try run(["eval", "retrieval", "--annotations", annotations])
        XCTAssertEqual(neither.status, 64)
    }
}

extension CLITests {
    /// `blip eval retrieval --model`: the official evaluation (ITC, then ITM logit + ITC for the
    /// top k of both directions) equals transformers' model run through the official loop on the
    /// tiny ITM model; a second run resumes from the saved embeddings and ITM log.
    func testEvalRetrievalRunsTheOfficialEvaluation() throws {
        let folder = try temporaryDirectory()
        let expected = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: Self.evalFixtures.appendingPathComponent("retrieval_model_expected.json"))) as? [String: Any])
        let arguments = ["eval", "retrieval", "--model", Self.fixtures.appendingPathComponent("tiny-itm").path,
                         "--images", Self.fixtures.appendingPathComponent("tiny-itm/images").path,
                         "--annotations", Self.evalFixtures.appendingPathComponent("retrieval_model_split.json").path,
                         "--k-test", "2", "--output", folder.path, "--json"]
        let r = try run(arguments)
        XCTAssertEqual(r.status, 0, r.stderr)
        let recall = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Double])
        for (key, value) in expected["itm_eval"] as! [String: Double] { XCTAssertEqual(recall[key] ?? -1, value, accuracy: 1e-9, key) }
        for (file, key) in [("retrieval_i2t.npy", "i2t"), ("retrieval_t2i.npy", "t2i")] {
            let got = try NumpyReader.matrix(contentsOf: folder.appendingPathComponent(file))
            let want = expected[key] as! [[Double]]
            XCTAssertEqual(got.count, want.count)
            for (g, w) in zip(got.joined(), want.joined()) { XCTAssertEqual(Double(g), w, accuracy: 2e-5, file) }
        }
        let log = try String(contentsOf: folder.appendingPathComponent("retrieval_itm.jsonl"), encoding: .utf8)
        XCTAssertEqual(log.split(separator: "\n").count, 3)
        let again = try run(arguments)
        XCTAssertEqual(again.stdout, r.stdout)
        XCTAssertEqual(try String(contentsOf: folder.appendingPathComponent("retrieval_itm.jsonl"), encoding: .utf8), log, "resumed: nothing recomputed")
        let missing = try run(["eval", "retrieval", "--model", Self.fixtures.appendingPathComponent("tiny-itm").path,
                               "--images", folder.path, "--annotations", Self.evalFixtures.appendingPathComponent("retrieval_model_split.json").path,
                               "--output", folder.appendingPathComponent("o2").path])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("astronaut_64x64.png"), missing.stderr)
    }
}
