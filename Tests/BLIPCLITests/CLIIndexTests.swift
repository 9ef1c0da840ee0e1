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
