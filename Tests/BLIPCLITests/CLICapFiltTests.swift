import Foundation
import XCTest

extension CLITests {
    /// A record file of `count` samples over the fixture photos (a few of them broken).
    func capfiltInput(_ folder: URL, count: Int) throws -> URL {
        let images = ["astronaut_96x80.png", "chelsea_60x90.png", "camera_gray_40x56.png", "missing.png"]
        let lines = (0..<count).map { i in
            #"{"image": "\#(images[i % images.count])", "caption": "photo number \#(i)"}"#
        }
        let input = folder.appendingPathComponent("records.jsonl")
        try Data(lines.joined(separator: "\n").utf8).write(to: input)
        return input
    }

    func capfiltArguments(_ input: URL, _ output: URL) -> [String] {
        ["capfilt", "--captioner", Self.fixtures.appendingPathComponent("tiny").path,
         "--filter", Self.fixtures.appendingPathComponent("tiny-itm").path, "--image-root",
         Self.fixtures.appendingPathComponent("tiny/images").path, "--num-captions", "2", "--threshold", "0.3",
         "--shard-size", "3", "--batch-size", "2", "--threads", "1", "--output", output.path, input.path]
    }

    /// Every output file but the stats (whose seconds differ between runs), by name.
    func capfiltOutputs(_ folder: URL) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path)
        where !name.hasSuffix("_stats.json") && name != "summary.json" && !name.hasPrefix(".") {
            out[name] = try Data(contentsOf: folder.appendingPathComponent(name))
        }
        return out
    }

    /// `kill -9` in the middle of a run, then the same command again: exactly the files of an
    /// uninterrupted run (no row lost or doubled), and no temporary file left.
    func testCapFiltResumesAfterSIGKILL() throws {
        let folder = try temporaryDirectory()
        let input = try capfiltInput(folder, count: 14)
        let reference = folder.appendingPathComponent("reference"), killed = folder.appendingPathComponent("killed")
        let whole = try run(capfiltArguments(input, reference))
        XCTAssertEqual(whole.status, 0, whole.stderr)
        XCTAssertTrue(whole.stdout.contains("capfilt: 5 shards, 14 samples (3 failed"), whole.stdout)

        let process = Process()
        process.executableURL = try blip()
        process.arguments = capfiltArguments(input, killed)
        process.environment = ["HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Kill once the second shard is done (the third is then being written).
        let marker = killed.appendingPathComponent("00001_stats.json")
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: marker.path), process.isRunning, Date() < deadline {
            usleep(2_000)
        }
        XCTAssertEqual(kill(process.processIdentifier, SIGKILL), 0)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .uncaughtSignal)
        XCTAssertFalse(FileManager.default.fileExists(atPath: killed.appendingPathComponent("00004_stats.json").path))

        let resumed = try run(capfiltArguments(input, killed))
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stderr.contains("already done"), resumed.stderr)
        let expected = try capfiltOutputs(reference)
        XCTAssertEqual(Set(expected.keys), ["00000.tar", "00000.jsonl", "00000_meta.jsonl", "00001.tar", "00001.jsonl",
                                            "00001_meta.jsonl", "00002.tar", "00002.jsonl", "00002_meta.jsonl", "00003.tar",
                                            "00003.jsonl", "00003_meta.jsonl", "00004.tar", "00004.jsonl", "00004_meta.jsonl",
                                            "capfilt.jsonl", "capfilt.json"])
        XCTAssertEqual(try capfiltOutputs(killed), expected)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: killed.path).filter { $0.hasPrefix(".") }
        XCTAssertEqual(leftovers, [], "the killed run's temporary files are removed when its shard is run again")
    }

    /// Bad arguments name the option; an input that names nothing is one line.
    func testCapFiltArguments() throws {
        let folder = try temporaryDirectory()
        let input = try capfiltInput(folder, count: 2)
        let out = folder.appendingPathComponent("o").path
        let badIndex = try run(["capfilt", "--output", out, "--shard-index", "3", "--shard-count", "3", input.path])
        XCTAssertEqual(badIndex.status, 64)
        XCTAssertTrue(badIndex.stderr.contains("--shard-index must be in 0..<--shard-count (got 3 of 3)"), badIndex.stderr)
        let half = try run(["capfilt", "--output", out, "--shard-index", "1", input.path])
        XCTAssertEqual(half.status, 64)
        XCTAssertTrue(half.stderr.contains("give --shard-index and --shard-count together"), half.stderr)
        let rank = try run(["capfilt", "--output", out, "--rank-by", "clip", input.path])
        XCTAssertEqual(rank.status, 64)
        let missing = try run(capfiltArguments(folder.appendingPathComponent("nothing-*.tar"), folder.appendingPathComponent("o2")))
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.hasSuffix("nothing-*.tar: no file matches\n"), missing.stderr)
        let threshold = try run(capfiltArguments(input, folder.appendingPathComponent("o3")) + ["--threshold", "2"])
        XCTAssertEqual(threshold.status, 1)
        XCTAssertTrue(threshold.stderr.contains("--threshold must be in 0...1, got 2.0"), threshold.stderr)
    }
}
