import Foundation
import XCTest

/// `blip convert` and official `.pth` checkpoints as `--model`, end to end.
extension CLITests {
    var official: URL { Self.fixtures.appendingPathComponent("official") }

    func testConvertAndCaptionFromAnOfficialCheckpoint() throws {
        let dir = try temporaryDirectory()
        let tiny = Self.fixtures.appendingPathComponent("tiny").path
        let out = dir.appendingPathComponent("converted").path
        // The tiny models' attention heads are not 64 wide, so their configs are given.
        let itmConfig = Self.fixtures.appendingPathComponent("tiny-itm/config.json").path
        let convert = try run(["convert", "--tokenizer", tiny, "--config", itmConfig, "--json",
                               official.appendingPathComponent("tiny_retrieval.pth").path, out])
        XCTAssertEqual(convert.status, 0, convert.stderr)
        let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(convert.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(summary["architecture"] as? String, "BlipForImageTextRetrieval")
        XCTAssertEqual(summary["unused_by_task"] as? Int, 8)
        XCTAssertTrue(convert.stderr.contains("image_queue"), convert.stderr)
        // The converted retrieval model matches as the transformers fixture it came from.
        let image = Self.fixtures.appendingPathComponent("tiny-itm/images/coffee_60x40.png").path
        let a = try run(["match", "--model", out, image, "a cup of coffee"])
        let b = try run(["match", "--model", Self.fixtures.appendingPathComponent("tiny-itm").path, image, "a cup of coffee"])
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertEqual(a.stdout.split(separator: "\t").dropFirst().joined(), b.stdout.split(separator: "\t").dropFirst().joined())

        // blip caption takes the .pth itself: converted once into the cache, then reused.
        let cache = ["XDG_CACHE_HOME": dir.appendingPathComponent("cache").path]
        let pth = official.appendingPathComponent("tiny_caption.pth").path
        let direct = try run(["caption", "--model", pth, "--tokenizer", tiny, "--config", tiny, "--max-new-tokens", "12", "--json",
                              Self.astronaut], environment: cache)
        XCTAssertEqual(direct.status, 0, direct.stderr)
        let reference = try run(["caption", "--model", tiny, "--max-new-tokens", "12", "--json", Self.astronaut])
        XCTAssertEqual(direct.stdout, reference.stdout)
        let converted = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("cache/swift-blip/converted").path)
        XCTAssertEqual(converted.count, 1)
        XCTAssertTrue(converted[0].hasPrefix("tiny_caption-caption-"), converted[0])

        // Bad input: an existing output, a checkpoint of several tasks, a hostile file.
        let again = try run(["convert", "--tokenizer", tiny, official.appendingPathComponent("tiny_retrieval.pth").path, out])
        XCTAssertEqual(again.status, 1)
        XCTAssertTrue(again.stderr.contains("exists already"), again.stderr)
        let ambiguous = try run(["convert", "--tokenizer", tiny, official.appendingPathComponent("pretrain_like.pth").path,
                                 dir.appendingPathComponent("p").path])
        XCTAssertEqual(ambiguous.status, 1)
        XCTAssertTrue(ambiguous.stderr.contains("say which task"), ambiguous.stderr)
        let hostile = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("TensorTests/Fixtures/pth/evil_os_system.pth")
        do {
            let refused = try run(["convert", "--tokenizer", tiny, hostile.path, dir.appendingPathComponent("h").path])
            XCTAssertEqual(refused.status, 1)
            XCTAssertTrue(refused.stderr.contains("os.system"), refused.stderr)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("p").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("h").path))
    }
}

extension CLITests {
    /// `blip nlvr2` on the tiny official NLVR2 checkpoint prints LAVIS's verdict.
    func testNLVR2() throws {
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: official.appendingPathComponent("nlvr_expected.json")))
            as? [String: Any])
        let c = try XCTUnwrap((root["cases"] as? [[String: Any]])?.first)
        let images = Self.fixtures.appendingPathComponent("tiny/images")
        let arguments = ["nlvr2", "--model", official.appendingPathComponent("tiny_nlvr.pth").path,
                         "--tokenizer", official.appendingPathComponent("nlvr-tokenizer").path, "--json",
                         images.appendingPathComponent(c["left"] as! String).path, images.appendingPathComponent(c["right"] as! String).path,
                         c["sentence"] as! String]
        let result = try run(arguments)
        XCTAssertEqual(result.status, 0, result.stderr)
        let verdict = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(verdict["answer"] as? Bool, (c["probability_true"] as! Double) > 0.5)
        XCTAssertEqual(verdict["probability_true"] as! Double, c["probability_true"] as! Double, accuracy: 1e-5)
        let plain = try run(arguments.filter { $0 != "--json" })
        XCTAssertTrue(plain.stdout.hasPrefix((c["probability_true"] as! Double) > 0.5 ? "true\t" : "false\t"), plain.stdout)
        // A captioning checkpoint is not an NLVR2 model.
        let wrong = try run(["nlvr2", "--model", official.appendingPathComponent("tiny_caption.pth").path,
                             "--tokenizer", Self.fixtures.appendingPathComponent("tiny").path,
                             images.appendingPathComponent("astronaut_96x80.png").path, images.appendingPathComponent("astronaut_96x80.png").path, "x"])
        XCTAssertEqual(wrong.status, 1)
        XCTAssertTrue(wrong.stderr.contains("has no text_encoder"), wrong.stderr)
    }
}

extension CLITests {
    /// `blip ground` prints mmpretrain's box and draws it into a PNG.
    func testGround() throws {
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: official.appendingPathComponent("grounding_expected.json")))
            as? [String: Any])
        let c = try XCTUnwrap((root["cases"] as? [[String: Any]])?.first)
        let dir = try temporaryDirectory()
        let png = dir.appendingPathComponent("box.png")
        let image = Self.fixtures.appendingPathComponent("tiny/images/\(c["image"] as! String)").path
        let result = try run(["ground", "--model", official.appendingPathComponent("tiny_grounding.pth").path,
                              "--tokenizer", official.appendingPathComponent("grounding-tokenizer").path, "--json",
                              "--draw", png.path, image, c["phrase"] as! String])
        XCTAssertEqual(result.status, 0, result.stderr)
        let out = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(out["tokens"] as? [Int], c["box_tokens"] as? [Int])
        for (a, b) in zip(out["box"] as! [Double], c["box_pixels"] as! [Double]) { XCTAssertEqual(a, b, accuracy: 1e-3) }
        let drawn = try Data(contentsOf: png)
        XCTAssertEqual(Array(drawn.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["box.png"])  // no partial file left
    }
}

extension CLITests {
    /// `blip match` with a video: official zero-shot video retrieval scores.
    func testMatchAVideo() throws {
        let video = Self.fixtures.appendingPathComponent("video")
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: video.appendingPathComponent("expected.json")))
            as? [String: Any])
        let cases = root["cases"] as! [[String: Any]]
        let result = try run(["match", "--model", Self.fixtures.appendingPathComponent("tiny-itm").path, "--json",
                              video.appendingPathComponent("clip.mov").path] + cases.map { $0["text"] as! String })
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertEqual(lines.count, cases.count)
        for (line, c) in zip(lines, cases) {
            XCTAssertEqual(line["score"] as! Double, c["score"] as! Double, accuracy: 1e-4)
            XCTAssertEqual(line["itc_cosine"] as! Double, c["itc"] as! Double, accuracy: 1e-5)
        }
        let broken = try run(["match", "--model", Self.fixtures.appendingPathComponent("tiny-itm").path,
                              video.appendingPathComponent("missing.mp4").path, "x"])
        XCTAssertEqual(broken.status, 1)
        XCTAssertTrue(broken.stderr.contains("no such file"), broken.stderr)
    }
}

extension CLITests {
    /// `blip vqa` with a video asks about all its sampled frames at once.
    func testVQAAVideo() throws {
        let video = Self.fixtures.appendingPathComponent("video")
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: video.appendingPathComponent("expected.json")))
            as? [String: Any])
        let c = try XCTUnwrap((root["vqa"] as? [[String: Any]])?.first)
        let result = try run(["vqa", "--model", Self.fixtures.appendingPathComponent("tiny-vqa").path, "--max-new-tokens", "6",
                              "--min-new-tokens", "4", "--beams", "1", video.appendingPathComponent("clip.mov").path, c["question"] as! String])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, (c["answer"] as! String) + "\n")
    }
}

extension CLITests {
    /// `blip index add` takes videos (one entry each, its official zero-shot ITC vector); a text
    /// search ranks them with the images.
    func testIndexAVideo() throws {
        let dir = try temporaryDirectory()
        let media = dir.appendingPathComponent("media")
        try FileManager.default.createDirectory(at: media, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Self.fixtures.appendingPathComponent("video/clip.mov"), to: media.appendingPathComponent("clip.mov"))
        try FileManager.default.copyItem(at: Self.fixtures.appendingPathComponent("tiny/images/astronaut_96x80.png"),
                                         to: media.appendingPathComponent("astronaut.png"))
        let index = dir.appendingPathComponent("i.sqlite").path
        let model = Self.fixtures.appendingPathComponent("tiny-itm").path
        let add = try run(["index", "add", "--model", model, "--index", index, "--json", media.path])
        XCTAssertEqual(add.status, 0, add.stderr)
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixtures.appendingPathComponent("video/expected.json")))
            as? [String: Any])
        let c = try XCTUnwrap((root["cases"] as? [[String: Any]])?.first)
        let search = try run(["index", "search", "--model", model, "--index", index, "--json", c["text"] as! String])
        XCTAssertEqual(search.status, 0, search.stderr)
        let hits = search.stdout.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertEqual(hits.count, 2)
        let video = try XCTUnwrap(hits.first { ($0["image"] as! String).hasSuffix("clip.mov") })
        XCTAssertEqual(video["itc"] as! Double, c["itc"] as! Double, accuracy: 1e-5)
        // Re-ranked with ITM ([ENC] first, as the official video evaluation): the video's frames together.
        let reranked = try run(["index", "search", "--model", model, "--index", index, "--json", "--rerank", "2",
                                "--itm-mode", "official", c["text"] as! String])
        XCTAssertEqual(reranked.status, 0, reranked.stderr)
        let rows = reranked.stdout.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        let clip = try XCTUnwrap(rows.first { ($0["image"] as! String).hasSuffix("clip.mov") })
        let logits = c["itm_logits"] as! [Double]
        XCTAssertEqual(clip["itm"] as! Double, 1 / (1 + exp(logits[0] - logits[1])), accuracy: 1e-4)
    }
}
