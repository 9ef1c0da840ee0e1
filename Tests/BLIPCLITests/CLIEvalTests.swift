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

extension CLITests {
    /// `blip eval vqa --model` in rank mode: the official rank mode's pick (transformers-checked
    /// fixture of the tiny VQA model) for each question, scored by the official accuracy, and
    /// resumed from its predictions file.
    func testEvalVQARunsTheRankMode() throws {
        let folder = try temporaryDirectory()
        let fixture = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixtures.appendingPathComponent("tiny-vqa/expected.json"))) as? [String: Any])
        let candidates = fixture["candidates"] as! [String]
        let ranks = (fixture["rank"] as! [[String: Any]]).filter { ($0["k"] as! Int) == 5 && ($0["label_smoothing"] as! Double) == 0.1 }
        let picks = ranks.map { (($0["ranked"] as! [[String: Any]])[0]["answer"] as! String) }
        let images = folder.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Self.fixtures.appendingPathComponent("tiny/images/astronaut_96x80.png"),
                                         to: images.appendingPathComponent("COCO_val2014_000000000007.png"))
        let questions = ranks.enumerated().map { ["question_id": 70 + $0, "image_id": 7, "question": $1["question"] as! String] as [String: Any] }
        // Question 70's humans agree with the pick 4 times (accuracy 1), question 71's never (0).
        let annotations = [["question_id": 70, "image_id": 7, "question_type": "what is", "answer_type": "other",
                            "answers": (0..<10).map { ["answer": $0 < 4 ? picks[0] : "moon", "answer_id": $0 + 1] }],
                           ["question_id": 71, "image_id": 7, "question_type": "how many", "answer_type": "number",
                            "answers": (0..<10).map { ["answer": "2", "answer_id": $0 + 1] }]] as [[String: Any]]
        func write(_ name: String, _ object: Any) throws -> String {
            let url = folder.appendingPathComponent(name)
            try JSONSerialization.data(withJSONObject: object).write(to: url)
            return url.path
        }
        let arguments = ["eval", "vqa", "--model", Self.fixtures.appendingPathComponent("tiny-vqa").path, "--images", images.path,
                         "--image-pattern", "COCO_val2014_%012d.png", "--questions", try write("q.json", ["questions": questions]),
                         "--annotations", try write("a.json", ["annotations": annotations]), "--answers", try write("answers.json", candidates),
                         "--k-test", "5", "--output", folder.appendingPathComponent("out").path, "--json"]
        let r = try run(arguments)
        XCTAssertEqual(r.status, 0, r.stderr)
        let predictions = try String(contentsOf: folder.appendingPathComponent("out/vqa_predictions.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        XCTAssertEqual(predictions.map { $0["answer"] as? String }, picks)
        let scores = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(scores["overall"] as? Double, 50)
        XCTAssertEqual(scores["perAnswerType"] as? [String: Double], ["other": 100, "number": 0])
        let again = try run(arguments)
        XCTAssertTrue(again.stderr.contains("2 of 2 questions already answered"), again.stderr)
        XCTAssertEqual(again.stdout, r.stdout)
    }
}

extension CLITests {
    /// `blip eval caption`: scoring a results file gives pycocoevalcap's scores (golden set),
    /// `blip caption --json` lines are accepted, and `--model` captions the annotated images with
    /// the official decoding (the same captions as `blip caption` with beam 3 and the prompt's
    /// share of max_length 20), then scores them; a re-run resumes.
    func testEvalCaption() throws {
        let folder = try temporaryDirectory()
        let sets = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: Self.evalFixtures.appendingPathComponent("caption_sets.json"))) as? [[String: Any]])
        let set = try XCTUnwrap(sets.first { $0["name"] as? String == "awkward" })
        let images = set["images"] as! [String: [String: Any]]
        var annotations: [[String: Any]] = [], results: [[String: Any]] = []
        for id in set["ids"] as! [String] {
            for ref in images[id]!["refs"] as! [String] { annotations.append(["image_id": Int(id)!, "caption": ref]) }
            results.append(["image_id": Int(id)!, "caption": images[id]!["candidate"] as! String])
        }
        func write(_ name: String, _ object: Any) throws -> String {
            let url = folder.appendingPathComponent(name)
            try JSONSerialization.data(withJSONObject: object).write(to: url)
            return url.path
        }
        let gt = try write("gt.json", ["annotations": annotations])
        let r = try run(["eval", "caption", "--annotations", gt, "--results", try write("res.json", results), "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let got = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        for (metric, value) in set["scores"] as! [String: Double] { XCTAssertEqual(got[metric] as? Double ?? -1, value, accuracy: 1e-9, metric) }
        let unknown = try run(["eval", "caption", "--annotations", gt, "--results", try write("bad.json", results + [["image_id": 5, "caption": "x"]])])
        XCTAssertEqual(unknown.status, 1)
        XCTAssertTrue(unknown.stderr.contains("image 5 is not in"), unknown.stderr)

        // --model over the tiny fixture photos, named by COCO-style ids.
        let photos = folder.appendingPathComponent("photos")
        try FileManager.default.createDirectory(at: photos, withIntermediateDirectories: true)
        var coco: [[String: Any]] = [], refs: [[String: Any]] = []
        for (i, name) in ["astronaut_96x80.png", "chelsea_60x90.png", "camera_gray_40x56.png"].enumerated() {
            let file = String(format: "COCO_val2014_%012d.png", i + 1)
            try FileManager.default.copyItem(at: Self.fixtures.appendingPathComponent("tiny/images/\(name)"), to: photos.appendingPathComponent(file))
            coco.append(["id": i + 1, "file_name": file])
            refs += [["image_id": i + 1, "caption": "a photo number \(i)"], ["image_id": i + 1, "caption": "something in a picture"]]
        }
        let cocoGT = try write("coco_gt.json", ["images": coco, "annotations": refs])
        let out = folder.appendingPathComponent("out")
        let arguments = ["eval", "caption", "--model", Self.fixtures.appendingPathComponent("tiny").path, "--images", photos.path,
                         "--annotations", cocoGT, "--output", out.path, "--batch-size", "2", "--json"]
        let modelRun = try run(arguments)
        XCTAssertEqual(modelRun.status, 0, modelRun.stderr)
        let predictions = try String(contentsOf: out.appendingPathComponent("caption_predictions.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        let direct = try run(["caption", "--model", Self.fixtures.appendingPathComponent("tiny").path, "--prompt", "a picture of ",
                              "--strip-prompt", "--beams", "3", "--max-new-tokens", "16", "--min-new-tokens", "1", "--json"]
                             + (1...3).map { photos.appendingPathComponent(String(format: "COCO_val2014_%012d.png", $0)).path })
        XCTAssertEqual(direct.status, 0, direct.stderr)
        let directCaptions = try direct.stdout.split(separator: "\n").map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])["caption"] as? String }
        XCTAssertEqual(predictions.map { $0["caption"] as? String }, directCaptions)
        XCTAssertEqual(predictions.map { $0["image_id"] as? Int }, [1, 2, 3])
        // The predictions file re-scores to the same numbers; blip caption --json lines score too.
        let rescored = try run(["eval", "caption", "--annotations", cocoGT, "--results", out.appendingPathComponent("caption_predictions.jsonl").path, "--json"])
        let modelScores = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(modelRun.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(try XCTUnwrap(JSONSerialization.jsonObject(with: Data(rescored.stdout.utf8)) as? [String: Any])["CIDEr"] as? Double,
                       modelScores["CIDEr"] as? Double)
        let lines = folder.appendingPathComponent("lines.jsonl")
        try Data(direct.stdout.utf8).write(to: lines)
        let fromLines = try run(["eval", "caption", "--annotations", cocoGT, "--results", lines.path, "--json"])
        XCTAssertEqual(fromLines.status, 0, fromLines.stderr)
        XCTAssertEqual(try XCTUnwrap(JSONSerialization.jsonObject(with: Data(fromLines.stdout.utf8)) as? [String: Any])["Bleu_4"] as? Double,
                       modelScores["Bleu_4"] as? Double)
        let again = try run(arguments)
        XCTAssertTrue(again.stderr.contains("3 of 3 images already captioned"), again.stderr)
        XCTAssertEqual(again.stdout, modelRun.stdout)
    }
}

extension CLITests {
    /// `blip caption` takes a BLIP-2 OPT model (found by config.json's model_type) and prints the
    /// text transformers decodes; a Flan-T5 model is refused by name (no SentencePiece yet).
    func testCaptionWithABlip2Model() throws {
        let model = Self.fixtures.appendingPathComponent("tiny-blip2-opt-bpe")
        let expected = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(contentsOf: model.appendingPathComponent("expected.json")))
            as? [String: Any])?["cases"] as? [[String: Any]])
        let plain = try run(["caption", "--model", model.path, "--max-new-tokens", "8", Self.astronaut])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertEqual(plain.stdout, (expected[0]["text"] as! String) + "\n")
        let prompted = try run(["caption", "--model", model.path, "--max-new-tokens", "8", "--prompt", expected[1]["prompt"] as! String, Self.astronaut])
        XCTAssertEqual(prompted.stdout, (expected[1]["text"] as! String) + "\n")
        // blip vqa asks "Question: Q Answer:" and prints what follows the prompt.
        let prompt = expected[1]["prompt"] as! String, full = expected[1]["text"] as! String
        let vqa = try run(["vqa", "--model", model.path, "--max-new-tokens", "8", "--question", "what is in the picture?", Self.astronaut])
        XCTAssertEqual(vqa.status, 0, vqa.stderr)
        XCTAssertEqual(prompt, "Question: what is in the picture? Answer:")
        XCTAssertEqual(vqa.stdout, String(full.dropFirst(prompt.count)).trimmingCharacters(in: .whitespaces) + "\n")
        // A Flan-T5 model without tokenizer files is refused by name.
        let bare = try run(["caption", "--model", Self.fixtures.appendingPathComponent("tiny-blip2-t5").path, Self.astronaut])
        XCTAssertEqual(bare.status, 1)
        XCTAssertTrue(bare.stderr.contains("no tokenizer.json or spiece.model"), bare.stderr)
    }

    /// `blip caption` and `blip vqa` take a BLIP-2 Flan-T5 model whose tokenizer is spiece.model
    /// alone: T5 decodes the answer without the prompt, as transformers does.
    func testCaptionAndVQAWithABlip2FlanT5Model() throws {
        let model = Self.fixtures.appendingPathComponent("tiny-blip2-t5-spm")
        let expected = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(contentsOf: model.appendingPathComponent("expected.json")))
            as? [String: Any])?["cases"] as? [[String: Any]])
        let plain = try run(["caption", "--model", model.path, "--max-new-tokens", "8", Self.astronaut])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertEqual(plain.stdout, (expected[0]["text"] as! String) + "\n")
        let json = try run(["caption", "--model", model.path, "--max-new-tokens", "8", "--json", "--prompt", expected[1]["prompt"] as! String, Self.astronaut])
        XCTAssertEqual(json.status, 0, json.stderr)
        let row = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(row["caption"] as? String, expected[1]["text"] as? String)
        let vqa = try run(["vqa", "--model", model.path, "--max-new-tokens", "8", "--question", "what is in the picture?", Self.astronaut])
        XCTAssertEqual(vqa.status, 0, vqa.stderr)
        XCTAssertEqual(vqa.stdout, (expected[1]["text"] as! String) + "\n")
    }
}
