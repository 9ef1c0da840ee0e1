import Foundation
import XCTest

/// Output a script can use: image-prefixed lines for several inputs, JSON error records, explicit
/// VQA questions.
extension CLITests {
    var chelsea: String { Self.fixtures.appendingPathComponent("tiny/images/chelsea_60x90.png").path }
    var tinyVQA: String { Self.fixtures.appendingPathComponent("tiny-vqa").path }

    func testSeveralImagesArePrefixedAndFailuresAreRecords() throws {
        let one = try run(["caption", "--model", tiny, chelsea])
        XCTAssertEqual(one.status, 0, one.stderr)
        let caption = one.stdout.trimmingCharacters(in: .newlines)
        XCTAssertFalse(caption.contains("\t"))
        let two = try run(["caption", "--model", tiny, Self.astronaut, chelsea, "/nonexistent/x.png"])
        XCTAssertEqual(two.status, 1)
        let lines = two.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 2)
        XCTAssertEqual(lines.last, "\(chelsea)\t\(caption)")
        XCTAssertTrue(lines[0].hasPrefix("\(Self.astronaut)\t"))
        XCTAssertEqual(two.stderr, "error: /nonexistent/x.png: cannot read the file: no such file\n")

        let json = try run(["caption", "--model", tiny, "--json", "/nonexistent/x.png", chelsea])
        XCTAssertEqual(json.status, 1)
        let records = try json.stdout.split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        XCTAssertEqual(records.count, 2)
        XCTAssertEqual(records[0]["image"] as? String, "/nonexistent/x.png")
        XCTAssertEqual(records[0]["error"] as? String, "/nonexistent/x.png: cannot read the file: no such file")
        XCTAssertEqual(records[1]["caption"] as? String, caption)
    }

    func testVQAQuestionsAreExplicitForSeveralImages() throws {
        let refused = try run(["vqa", "--model", tinyVQA, Self.astronaut, chelsea, "what is it?"])
        XCTAssertEqual(refused.status, 64)
        XCTAssertTrue(refused.stderr.contains("\"\(chelsea)\" is a file, not a question"), refused.stderr)

        let alone = try run(["vqa", "--model", tinyVQA, chelsea, "what is it?"])
        XCTAssertEqual(alone.status, 0, alone.stderr)
        let answer = alone.stdout.trimmingCharacters(in: .newlines)
        let both = try run(["vqa", "--model", tinyVQA, Self.astronaut, chelsea, "--question", "what is it?", "--question", "where?"])
        XCTAssertEqual(both.status, 0, both.stderr)
        let lines = both.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 4)
        XCTAssertEqual(lines[2], "\(chelsea)\twhat is it?\t\(answer)")
        XCTAssertTrue(lines[3].hasPrefix("\(chelsea)\twhere?\t"))
    }
}

extension CLITests {
    func testSamplingOptionsWithoutSampleWarn() throws {
        let r = try run(["caption", "--model", tiny, "--top-k", "5", "--temperature", "0.7", chelsea])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr, "warning: --top-k, --temperature only apply when sampling (--sample); ignored\n")
        let sampled = try run(["caption", "--model", tiny, "--sample", "--top-k", "5", "--seed", "3", chelsea])
        XCTAssertEqual(sampled.stderr, "")
    }
}

extension CLITests {
    /// Negative and out-of-range server settings name the option (they used to read as "Missing value").
    func testServeSettingsAreCheckedByName() throws {
        let cases: [([String], String)] = [
            (["--idle-timeout", "-1"], "error: idle timeout (--idle-timeout) must be a number of seconds in 0.01...86400, got -1.0"),
            (["--max-batch-size", "0"], "error: max batch size (--max-batch-size) must be in 1...1024, got 0"),
            (["--request-timeout", "nan"], "error: request timeout (--request-timeout) must be a number of seconds in 0.01...86400, got nan"),
        ]
        for (options, message) in cases {
            let r = try run(["serve", "--caption-model", tiny, "--port", "0"] + options)
            XCTAssertEqual(r.status, 1, "\(options)")
            XCTAssertEqual(r.stderr.trimmingCharacters(in: .newlines), message)
        }
        let port = try run(["serve", "--caption-model", tiny, "--port", "-5"])
        XCTAssertEqual(port.status, 64)
        XCTAssertTrue(port.stderr.contains("--port must be in 0...65535, got -5"), port.stderr)
    }
}

extension CLITests {
    /// A port in use is one readable line; a bad log level names the option.
    func testServePortInUseAndLogLevel() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(listener, 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 && listen(listener, 1) == 0
                && getsockname(listener, $0, &length) == 0 }
        }
        XCTAssertTrue(bound)
        let port = Int(UInt16(bigEndian: address.sin_port))
        let r = try run(["serve", "--caption-model", tiny, "--host", "127.0.0.1", "--port", String(port), "--no-access-log"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr.split(separator: "\n").last.map(String.init),
                       "error: port \(port) on 127.0.0.1 is already in use (another blip serve?); choose another with --port, or --port 0 for any free port")
        let level = try run(["serve", "--caption-model", tiny, "--log-level", "loud"])
        XCTAssertEqual(level.status, 64)
        XCTAssertTrue(level.stderr.contains("--log-level must be one of trace, debug, info, notice, warning, error, critical, got loud"), level.stderr)
    }
}

extension CLITests {
    /// Folders (their image files), `-` (standard input), and a clear message for URLs.
    func testFoldersStandardInputAndURLs() throws {
        let folder = Self.fixtures.appendingPathComponent("tiny/images")
        let all = try run(["caption", "--model", tiny, folder.path])
        XCTAssertEqual(all.status, 0, all.stderr)
        let lines = all.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 3)
        XCTAssertEqual(lines.map { String($0.split(separator: "\t")[0]) },
                       ["astronaut_96x80.png", "camera_gray_40x56.png", "chelsea_60x90.png"].map { folder.appendingPathComponent($0).path })
        let fromFile = try run(["caption", "--model", tiny, chelsea])
        let fromStdin = try run(["caption", "--model", tiny, "-"], stdin: URL(fileURLWithPath: chelsea))
        XCTAssertEqual(fromStdin.status, 0, fromStdin.stderr)
        XCTAssertEqual(fromStdin.stdout, fromFile.stdout)
        XCTAssertEqual(lines[2], "\(folder.appendingPathComponent("chelsea_60x90.png").path)\t\(fromFile.stdout.trimmingCharacters(in: .newlines))")

        let url = try run(["caption", "--model", tiny, "https://example.com/photo.jpg"])
        XCTAssertEqual(url.status, 1)
        XCTAssertEqual(url.stderr, "error: https://example.com/photo.jpg: cannot read the file: URLs are not supported: download the image first (e.g. curl -sLO URL)\n")
        let twice = try run(["caption", "--model", tiny, "-", "-"])
        XCTAssertEqual(twice.status, 64)
        XCTAssertTrue(twice.stderr.contains("- (standard input) can be given once"), twice.stderr)
    }
}

extension CLITests {
    /// `serve --index` needs the model the index was built with, and an index that exists.
    func testServeIndexNeedsItsModel() throws {
        let alone = try run(["serve", "--caption-model", tiny, "--index", "photos.sqlite"])
        XCTAssertEqual(alone.status, 64)
        XCTAssertTrue(alone.stderr.contains("--index needs --itm-model (the model the index was built with)"), alone.stderr)
        let missing = try run(["serve", "--itm-model", Self.fixtures.appendingPathComponent("tiny-itm").path,
                               "--index", "/nonexistent/photos.sqlite", "--port", "0"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertEqual(missing.stderr.split(separator: "\n").last.map(String.init),
                       "error: /nonexistent/photos.sqlite: no such index (create one with `blip index add`)")
    }
}
