import Foundation
import XCTest

/// `blip index add/prune` end to end: vanished files, missing paths, prune, and one model under
/// another path (a symlink) is the same model.
extension CLITests {
    var tinyITM: String { Self.fixtures.appendingPathComponent("tiny-itm").path }

    func testIndexPruneVanishedAndModelIdentityByWeights() throws {
        let dir = try temporaryDirectory()
        let photos = dir.appendingPathComponent("photos")
        try FileManager.default.createDirectory(at: photos, withIntermediateDirectories: true)
        for name in ["astronaut_96x80.png", "chelsea_60x90.png", "camera_gray_40x56.png"] {
            try FileManager.default.copyItem(at: Self.fixtures.appendingPathComponent("tiny/images/\(name)"),
                                             to: photos.appendingPathComponent(name))
        }
        let index = dir.appendingPathComponent("i.sqlite").path
        let first = try run(["index", "add", "--model", tinyITM, "--index", index, "--json", photos.path])
        XCTAssertEqual(first.status, 0, first.stderr)

        // The same weights through a symlink are the same model (the index refused them before).
        let link = dir.appendingPathComponent("model-link")
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: tinyITM)
        try FileManager.default.removeItem(at: photos.appendingPathComponent("chelsea_60x90.png"))
        let second = try run(["index", "add", "--model", link.path, "--index", index, "--json", photos.path,
                              dir.appendingPathComponent("nowhere").path])
        XCTAssertEqual(second.status, 1, second.stderr)  // a named path does not exist
        let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(second.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(summary["unchanged"] as? Int, 2)
        XCTAssertEqual(summary["vanished"] as? [String], [photos.appendingPathComponent("chelsea_60x90.png").path])
        XCTAssertEqual(summary["missing"] as? [String], [dir.appendingPathComponent("nowhere").path])
        XCTAssertTrue(second.stderr.contains("remove them with `blip index prune --index \(index)`"), second.stderr)

        let prune = try run(["index", "prune", "--index", index, "--json", photos.path])
        XCTAssertEqual(prune.status, 0, prune.stderr)
        let pruned = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(prune.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(pruned["images"] as? Int, 2)
        let removed = try XCTUnwrap(pruned["removed"] as? [[String: String]])
        XCTAssertEqual(removed, [["path": photos.appendingPathComponent("chelsea_60x90.png").path, "reason": "gone"]])

        let missing = try run(["index", "prune", "--index", dir.appendingPathComponent("none.sqlite").path])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("no such index"), missing.stderr)
    }
}

extension CLITests {
    /// `blip match`, `blip embed` and `blip index add/search` take a BLIP-2 ITM model (found by
    /// config.json's model_type) and print transformers' numbers: ITM probability, best-query ITC,
    /// the 4 query vectors of an image embedding, and an index ranked by the best-query ITC.
    func testMatchEmbedAndIndexWithABlip2Model() throws {
        let model = Self.fixtures.appendingPathComponent("tiny-blip2-itm-matcher")
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: model.appendingPathComponent("expected.json"))) as? [String: Any])
        let texts = root["texts"] as! [String], cases = root["cases"] as! [[String: Any]]
        let photos = Self.fixtures.appendingPathComponent("tiny-itm/images")
        let first = photos.appendingPathComponent(cases[0]["image"] as! String).path

        let match = try run(["match", "--model", model.path, "--json", first] + texts)
        XCTAssertEqual(match.status, 0, match.stderr)
        let lines = match.stdout.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertEqual(lines.count, 3)
        for (k, line) in lines.enumerated() {
            XCTAssertEqual(line["itm_probability"] as! Double, (cases[0]["itm_probability"] as! [Double])[k], accuracy: 1e-5)
            XCTAssertEqual(line["itc_cosine"] as! Double, (cases[0]["itc"] as! [Double])[k], accuracy: 1e-5)
        }
        let official = try run(["match", "--model", model.path, "--official", first, texts[0]])
        XCTAssertEqual(official.status, 1)
        XCTAssertTrue(official.stderr.contains("[ENC]"), official.stderr)

        let embed = try run(["embed", "--model", model.path, "--json", "--image", first])
        XCTAssertEqual(embed.status, 0, embed.stderr)
        let embedded = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(embed.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(embedded["vectors"] as? Int, 4)
        let vector = try XCTUnwrap(embedded["embedding"] as? [Double])
        let expectedVector = cases[0]["image_embeds"] as! [Double]
        XCTAssertEqual(vector.count, 64)
        XCTAssertLessThan(zip(vector, expectedVector).map { abs($0 - $1) }.max()!, 1e-5)

        let index = try temporaryDirectory().appendingPathComponent("blip2.sqlite").path
        let add = try run(["index", "add", "--model", model.path, "--index", index, "--json", photos.path])
        XCTAssertEqual(add.status, 0, add.stderr)
        for (t, text) in texts.enumerated() {
            let search = try run(["index", "search", "--model", model.path, "--index", index, "--json", text])
            XCTAssertEqual(search.status, 0, search.stderr)
            let hits = search.stdout.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
            let expected = cases.map { ($0["image"] as! String, ($0["itc"] as! [Double])[t]) }.sorted { $0.1 > $1.1 }
            XCTAssertEqual(hits.map { URL(fileURLWithPath: $0["image"] as! String).lastPathComponent }, expected.map(\.0), text)
            for (hit, e) in zip(hits, expected) { XCTAssertEqual(hit["itc"] as! Double, e.1, accuracy: 1e-5) }
        }
        // Re-ranked by ITM: score = itc + itm for every hit.
        let reranked = try run(["index", "search", "--model", model.path, "--index", index, "--json", "--rerank", "3", texts[2]])
        XCTAssertEqual(reranked.status, 0, reranked.stderr)
        let hits = reranked.stdout.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        for hit in hits {
            let name = URL(fileURLWithPath: hit["image"] as! String).lastPathComponent
            let c = cases.first { $0["image"] as! String == name }!
            XCTAssertEqual(hit["itm"] as! Double, (c["itm_probability"] as! [Double])[2], accuracy: 1e-5)
        }
    }
}
