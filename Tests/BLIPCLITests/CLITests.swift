import Foundation
import XCTest

/// Runs the `blip` executable end to end on the tiny fixture models: one success per command, and
/// the bad options, hostile model files and special files of issue 8, each with its exit status
/// and message.
final class CLITests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("BLIPTests/Fixtures")
    static let astronaut = fixtures.appendingPathComponent("tiny/images/astronaut_96x80.png").path

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// The `blip` executable, built next to the test bundle in the build products folder.
    func blip() throws -> URL {
        var folders = [Bundle(for: Self.self).bundleURL, Bundle.main.bundleURL, URL(fileURLWithPath: CommandLine.arguments[0])]
            .map { $0.deletingLastPathComponent() }
        folders += folders.map { $0.deletingLastPathComponent() }
        for folder in folders {
            let candidate = folder.appendingPathComponent("blip")
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), !isDirectory.boolValue,
               FileManager.default.isExecutableFile(atPath: candidate.path) {
                return candidate
            }
        }
        XCTFail("blip executable not found in \(folders.map(\.path))")
        throw CocoaError(.fileNoSuchFile)
    }

    /// Runs blip with `arguments` (killed after 120 s so a hang fails instead of blocking), with
    /// `environment` added to a minimal one.
    func run(_ arguments: [String], environment: [String: String] = [:], stdin: URL? = nil) throws -> Result {
        let dir = try temporaryDirectory()
        let out = dir.appendingPathComponent("stdout"), err = dir.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let process = Process()
        process.executableURL = try blip()
        process.arguments = arguments
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        if let stdin { process.standardInput = try FileHandle(forReadingFrom: stdin) }
        process.environment = ["HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"].merging(environment) { $1 }
        try process.run()
        let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 120, execute: watchdog)
        process.waitUntilExit()
        watchdog.cancel()
        return Result(status: process.terminationStatus,
                      stdout: try String(contentsOf: out, encoding: .utf8),
                      stderr: try String(contentsOf: err, encoding: .utf8))
    }

    func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("blip-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    /// A copy of fixture model `name` with `edits` (file, old text, new text) applied.
    func modelCopy(_ name: String, _ edits: [(String, String, String)] = []) throws -> URL {
        let dir = try temporaryDirectory().appendingPathComponent(name)
        try FileManager.default.copyItem(at: Self.fixtures.appendingPathComponent(name), to: dir)
        for (file, old, new) in edits {
            let url = dir.appendingPathComponent(file)
            let text = try String(contentsOf: url, encoding: .utf8)
            XCTAssertTrue(text.contains(old), "\(old) not in \(file)")
            try text.replacingOccurrences(of: old, with: new).write(to: url, atomically: true, encoding: .utf8)
        }
        return dir
    }

    func model(_ name: String) -> String { Self.fixtures.appendingPathComponent(name).path }

    /// Checks a failure: exit `status` and `message` on stderr, nothing on stdout.
    func assertFails(_ arguments: [String], status: Int32, _ message: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try run(arguments)
        XCTAssertEqual(r.status, status, "\(arguments): \(r.stderr)", file: file, line: line)
        XCTAssertTrue(r.stderr.contains(message), "\(arguments): stderr is \(r.stderr)", file: file, line: line)
        XCTAssertEqual(r.stdout, "", file: file, line: line)
    }

    // MARK: Success, one per command

    /// Each subcommand's --help names its own default model, and only that one.
    func testHelpNamesTheCommandsOwnDefaultModel() throws {
        let ids = ["Salesforce/blip-image-captioning-base", "Salesforce/blip-vqa-base", "Salesforce/blip-itm-base-coco"]
        for (command, expected) in [(["caption"], 0), (["tokenize"], 0), (["vqa"], 1), (["match"], 2), (["embed"], 2),
                                    (["index", "add"], 2)] {
            let help = try run(command + ["--help"])
            XCTAssertEqual(help.status, 0, "\(command)")
            let text = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            XCTAssertTrue(text.contains("Default: \(ids[expected])"), "\(command): \(text.prefix(400))")
            for (i, id) in ids.enumerated() where i != expected {
                XCTAssertFalse(text.contains(id), "\(command) --help names \(id)")
            }
        }
    }

    func testCaptionVQAAndMatchSucceed() throws {
        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixtures.appendingPathComponent("tiny/expected.json"))) as? [String: Any]
        let cases = try XCTUnwrap(expected?["cases"] as? [[String: Any]])
        let greedy = try XCTUnwrap(cases.first { $0["name"] as? String == "greedy" })
        let caption = try XCTUnwrap((greedy["captions"] as? [String])?.first)
        let c = try run(["caption", "--model", model("tiny"), "--max-new-tokens", "20", "--beams", "1", Self.astronaut])
        XCTAssertEqual(c.status, 0, c.stderr)
        XCTAssertEqual(c.stdout, caption + "\n")

        // transformers' greedy answer (max_new_tokens 10), see tiny-vqa/expected.json.
        let v = try run(["vqa", "--model", model("tiny-vqa"), "--max-new-tokens", "10", "--beams", "1", Self.astronaut,
                         "how many people are there?"])
        XCTAssertEqual(v.status, 0, v.stderr)
        XCTAssertEqual(v.stdout, "bearer\n")

        let m = try run(["match", "--model", model("tiny-itm"), "--json", Self.astronaut, "an astronaut", "a cat"])
        XCTAssertEqual(m.status, 0, m.stderr)
        let lines = m.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
        guard lines.count == 2 else { return }
        for (line, text) in zip(lines, ["an astronaut", "a cat"]) {
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            XCTAssertEqual(object["text"] as? String, text)
            let p = try XCTUnwrap(object["itm_probability"] as? Double)
            let cosine = try XCTUnwrap(object["itc_cosine"] as? Double)
            XCTAssertTrue(p > 0 && p < 1, "\(p)")
            XCTAssertTrue(cosine >= -1 && cosine <= 1, "\(cosine)")
        }
    }

    // MARK: Bad options: usage errors (exit 64) before any model loads

    func testPrecisionOptionRunsReducedModesAndRejectsUnknownOnes() throws {
        for precision in ["bf16", "int8"] {
            let c = try run(["match", "--model", model("tiny-itm"), "--precision", precision, "--json", Self.astronaut,
                             "an astronaut"])
            XCTAssertEqual(c.status, 0, c.stderr)
            let line = try XCTUnwrap(c.stdout.split(separator: "\n").first)
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            let p = try XCTUnwrap(object?["itm_probability"] as? Double, c.stdout)
            XCTAssertTrue((0...1).contains(p))
        }
        let bad = try run(["caption", "--model", model("tiny"), "--precision", "fp16", Self.astronaut])
        XCTAssertEqual(bad.status, 64)
        XCTAssertTrue(bad.stderr.contains("--precision"), bad.stderr)
        XCTAssertTrue(bad.stderr.contains("'fp32', 'bf16' or 'int8'"), bad.stderr)
    }

    func testBadGenerationOptionsAreUsageErrorsNamingTheOption() throws {
        let tiny = model("tiny")
        try assertFails(["caption", "--model", tiny, "--beams", "-1", Self.astronaut], status: 64, "--beams must be at least 1, got -1")
        try assertFails(["caption", "--model", tiny, "--beams", "100000", Self.astronaut], status: 64, "--beams must be at most 64, got 100000")
        try assertFails(["caption", "--model", tiny, "--length-penalty", "nan", Self.astronaut], status: 64,
                        "--length-penalty must be a finite number, got nan")
        try assertFails(["caption", "--model", tiny, "--temperature", "inf", Self.astronaut], status: 64,
                        "--temperature must be a finite number > 0, got inf")
        try assertFails(["caption", "--model", tiny, "--min-new-tokens", "50", "--max-new-tokens", "5", Self.astronaut], status: 64,
                        "--min-new-tokens (50) must not exceed --max-new-tokens (5)")
        try assertFails(["caption", "--model", tiny, "--max-new-tokens", "100000000", Self.astronaut], status: 64,
                        "--max-new-tokens must be at most 65536, got 100000000")
        try assertFails(["caption", "--model", tiny, "--num-return-sequences", "1000", Self.astronaut], status: 64,
                        "--num-return-sequences must be at most 64, got 1000")
        try assertFails(["caption", "--model", tiny, "--batch-size", "100000", Self.astronaut], status: 64,
                        "--batch-size must be at most 1024, got 100000")
        try assertFails(["vqa", "--model", model("tiny-vqa"), "--beams", "-3", Self.astronaut, "what?"], status: 64,
                        "--beams must be at least 1, got -3")
        try assertFails(["vqa", "--model", model("tiny-vqa"), Self.astronaut, "what?", "  "], status: 64,
                        "question 2 is empty")
        // Within the flag limits but past the tiny model's 64 positions: the library's error, exit 1.
        try assertFails(["caption", "--model", tiny, "--max-new-tokens", "100", Self.astronaut], status: 1,
                        "error: prompt plus new tokens (1 + 100) exceeds max_position_embeddings (64)")
    }

    // MARK: Special files as images

    func testDevicesAndFIFOsAsImagesSayNotARegularFile() throws {
        try assertFails(["caption", "--model", model("tiny"), "/dev/zero"], status: 1,
                        "error: /dev/zero: cannot read the file: not a regular file (a character device)")
        let fifo = try temporaryDirectory().appendingPathComponent("pipe.png")
        XCTAssertEqual(mkfifo(fifo.path, 0o600), 0)
        // Nobody writes to the FIFO: opening it would block forever.
        try assertFails(["vqa", "--model", model("tiny-vqa"), fifo.path, "what?"], status: 1,
                        "error: \(fifo.path): cannot read the file: not a regular file (a FIFO)")
        try assertFails(["match", "--model", model("tiny-itm"), fifo.path, "a cat"], status: 1, "not a regular file (a FIFO)")
    }

    // MARK: Hostile model files

    func testHostileModelFilesGetErrorsNamingFileAndField() throws {
        let heads = try modelCopy("tiny", [("config.json", "\"num_attention_heads\": 4", "\"num_attention_heads\": 0")])
        try assertFails(["caption", "--model", heads.path, Self.astronaut], status: 1,
                        "config.json is not valid: vision_config.num_attention_heads must be between 1 and 1024, got 0")
        let eos = try modelCopy("tiny", [("config.json", "\"eos_token_id\": 2", "\"eos_token_id\": -5")])
        try assertFails(["caption", "--model", eos.path, Self.astronaut], status: 1,
                        "text_config.eos_token_id -5 is outside the vocabulary (0..<30524, vocab_size 30524)")
        let layers = try modelCopy("tiny-vqa", [("config.json", "\"num_hidden_layers\": 2", "\"num_hidden_layers\": 1000000000")])
        try assertFails(["vqa", "--model", layers.path, Self.astronaut, "what?"], status: 1,
                        "config.json is not valid: vision_config.num_hidden_layers must be between 0 and 256, got 1000000000")
        let fraction = try modelCopy("tiny-itm", [("config.json", "\"hidden_size\": 32", "\"hidden_size\": 64.5")])
        try assertFails(["match", "--model", fraction.path, Self.astronaut, "a cat"], status: 1, "hidden_size expects an integer, got 64.5")
        let size = try modelCopy("tiny", [("preprocessor_config.json", "\"height\": 48", "\"height\": 96"),
                                          ("preprocessor_config.json", "\"width\": 48", "\"width\": 96")])
        try assertFails(["caption", "--model", size.path, Self.astronaut], status: 1,
                        "preprocessor_config.json gives size 96x96, but config.json vision_config.image_size is 48")
        let huge = try modelCopy("tiny", [("preprocessor_config.json", "\"height\": 48,\n    \"width\": 48", "\"shortest_edge\": 1000000")])
        try assertFails(["caption", "--model", huge.path, Self.astronaut], status: 1,
                        "preprocessor_config.json: size.shortest_edge must be at most 4096, got 1000000")
        let beams = try modelCopy("tiny", [("generation_config.json", "\"use_cache\": true", "\"use_cache\": true, \"num_beams\": 100000")])
        try assertFails(["caption", "--model", beams.path, Self.astronaut], status: 1,
                        "generation_config.json is not valid: invalid generation option: num_beams must be at most 64, got 100000")
        let tokenizer = try modelCopy("tiny")
        let full = try Data(contentsOf: Self.fixtures.appendingPathComponent("tokenizer/tokenizer.json"))
        try full.prefix(500).write(to: tokenizer.appendingPathComponent("tokenizer.json"))
        let r = try run(["caption", "--model", tokenizer.path, Self.astronaut])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.hasPrefix("error: tokenizer file \(tokenizer.path)/tokenizer.json is not valid: not well-formed JSON (truncated or malformed)"), r.stderr)
        XCTAssertFalse(r.stderr.contains("Error Domain"), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        let special = try modelCopy("tiny", [("tokenizer_config.json", "\"pad_token\": \"[PAD]\"", "\"pad_token\": [0]")])
        try assertFails(["caption", "--model", special.path, Self.astronaut], status: 1,
                        "tokenizer_config.json is not valid: pad_token must be a string or an object with a string \"content\", got a list")
    }
}
