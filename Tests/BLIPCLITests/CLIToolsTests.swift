import Foundation
import XCTest

/// `--version`, `models`, `download`, `--threads` / `BLIP_NUM_THREADS`, `--ignore-exif` and `bench`
/// run end to end.
extension CLITests {
    var tiny: String { Self.fixtures.appendingPathComponent("tiny").path }
    var rotated: String { Self.fixtures.appendingPathComponent("images/exif/orient_6.jpg").path }

    func testVersion() throws {
        let r = try run(["--version"])
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "0.2.0")
    }

    func testModelsListsTheCacheAndDownloadNeedsAHubID() throws {
        let cache = try temporaryDirectory()
        let commit = String(repeating: "b", count: 40)
        let folder = cache.appendingPathComponent("models--Salesforce--blip-vqa-base")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("snapshots/\(commit)"),
                                                withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("refs"), withIntermediateDirectories: true)
        try Data(commit.utf8).write(to: folder.appendingPathComponent("refs/main"))
        let listed = try run(["models", "--json"], environment: ["HF_HUB_CACHE": cache.path])
        XCTAssertEqual(listed.status, 0, listed.stderr)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(object["repo"] as? String, "Salesforce/blip-vqa-base")
        XCTAssertEqual(object["refs"] as? [String: String], ["main": commit])
        XCTAssertEqual(object["directory"] as? String, folder.appendingPathComponent("snapshots/\(commit)").path)

        let bad = try run(["download", "not a hub id"])
        XCTAssertEqual(bad.status, 64)
        XCTAssertTrue(bad.stderr.contains("\"not a hub id\" is not a hub id (OWNER/NAME[@REVISION])"), bad.stderr)
        let offline = try run(["download", "Salesforce/blip-itm-large-flickr"], environment: ["HF_HUB_CACHE": cache.path])
        XCTAssertEqual(offline.status, 1)
        XCTAssertTrue(offline.stderr.contains("HF_HUB_OFFLINE is set"), offline.stderr)
    }

    func testThreadCountsAreCheckedAndUsed() throws {
        let zero = try run(["caption", "--model", tiny, "--threads", "0", Self.astronaut])
        XCTAssertEqual(zero.status, 64)
        XCTAssertTrue(zero.stderr.contains("--threads must be between 1 and 64, got 0"), zero.stderr)
        let env = try run(["caption", "--model", tiny, Self.astronaut], environment: ["BLIP_NUM_THREADS": "many"])
        XCTAssertEqual(env.status, 64)
        XCTAssertTrue(env.stderr.contains("BLIP_NUM_THREADS must be a positive integer, got \"many\""), env.stderr)
        // One thread and the default give the same caption (the work split never changes the numbers' order
        // within a row).
        let one = try run(["caption", "--model", tiny, "--threads", "1", Self.astronaut])
        let all = try run(["caption", "--model", tiny, Self.astronaut])
        XCTAssertEqual(one.status, 0, one.stderr)
        XCTAssertEqual(one.stdout, all.stdout)
        let bench = try run(["bench", "--model", tiny, "--repeats", "1", "--only", "vision", "--threads", "1"],
                            environment: ["BLIP_NUM_THREADS": "2"])
        XCTAssertEqual(bench.status, 0, bench.stderr)
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(bench.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(report["threads"] as? Int, 1)
        XCTAssertEqual(report["task"] as? String, "caption")  // from config.json's architectures
        XCTAssertNotNil(report["kernels"] as? String)
    }

    func testPhotosAreTurnedUprightUnlessIgnoreExif() throws {
        let upright = try run(["preprocess", "--model", tiny, rotated, "--output", try temporaryDirectory().appendingPathComponent("a.npy").path])
        XCTAssertEqual(upright.status, 0, upright.stderr)
        let a = try run(["caption", "--model", tiny, "--json", rotated])
        let b = try run(["caption", "--model", tiny, "--json", "--ignore-exif", rotated])
        let stored = try run(["caption", "--model", tiny, "--json", Self.fixtures.appendingPathComponent("images/exif/orient_1.jpg").path])
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertEqual(b.status, 0, b.stderr)
        func caption(_ r: Result) throws -> String {
            try XCTUnwrap((JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])?["caption"] as? String)
        }
        // orient_6 holds the same JPEG data as orient_1: ignoring EXIF captions the stored layout.
        XCTAssertEqual(try caption(b), try caption(stored))
        XCTAssertNotEqual(try caption(a), try caption(b))
    }
}
