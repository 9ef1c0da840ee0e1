import Foundation
import XCTest
@testable import BLIP

/// ByteLevelBPETokenizer: errors that name the file, no crash on any input, shared use across threads.
final class ByteLevelBPERobustnessTests: XCTestCase {
    static let directory = ByteLevelBPETests.directory

    static var expected: ByteLevelBPETests.Expected { ByteLevelBPETests.expected }

    func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bpe-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    // MARK: - Errors

    func testMissingFilesThrowNamingTheFile() throws {
        let tmp = try temporaryDirectory()
        XCTAssertThrowsError(try ByteLevelBPETokenizer(directory: tmp)) { error in
            XCTAssertEqual(error as? BPETokenizerError, .noVocabulary(directory: tmp.path))
            XCTAssert("\(error)".contains(tmp.path))
        }
        let missing = tmp.appendingPathComponent("nope/tokenizer.json")
        XCTAssertThrowsError(try ByteLevelBPETokenizer(tokenizerJSON: missing)) { error in
            XCTAssertEqual(error as? BPETokenizerError, .unreadableFile(path: missing.path, reason: "no such file"))
        }
        let vocab = Self.directory.appendingPathComponent("vocab.json")
        let noMerges = tmp.appendingPathComponent("merges.txt")
        XCTAssertThrowsError(try ByteLevelBPETokenizer(vocabFile: vocab, mergesFile: noMerges)) { error in
            XCTAssert("\(error)".contains(noMerges.path), "\(error)")
        }
    }

    func testMalformedFilesThrowNamingTheFile() throws {
        let tmp = try temporaryDirectory()
        let json = try String(contentsOf: Self.directory.appendingPathComponent("tokenizer.json"), encoding: .utf8)
        func expectError(_ name: String, _ contents: String, contains fragment: String,
                         load: (URL) throws -> ByteLevelBPETokenizer, line: UInt = #line) throws {
            let url = tmp.appendingPathComponent(name)
            try contents.write(to: url, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try load(url), line: line) { error in
                let message = "\(error)"
                XCTAssert(message.contains(url.path), "message does not name the file: \(message)", line: line)
                XCTAssert(message.contains(fragment), "message \(message) lacks \(fragment)", line: line)
            }
        }
        let fromJSON = { (url: URL) in try ByteLevelBPETokenizer(tokenizerJSON: url) }
        try expectError("truncated.json", String(json.prefix(json.count / 2)), contains: "not well-formed", load: fromJSON)
        try expectError("array.json", "[1, 2]", contains: "not an object", load: fromJSON)
        try expectError("nomodel.json", "{\"added_tokens\": []}", contains: "model", load: fromJSON)
        try expectError("wordpiece.json", json.replacingOccurrences(of: "\"type\":\"BPE\"", with: "\"type\":\"WordPiece\""),
                        contains: "WordPiece", load: fromJSON)
        try expectError("normalizer.json", json.replacingOccurrences(of: "\"normalizer\":null",
                                                                     with: "\"normalizer\":{\"type\":\"NFC\"}"),
                        contains: "normalizer", load: fromJSON)
        try expectError("badmerge.json", json.replacingOccurrences(of: "\"merges\":[", with: "\"merges\":[[\"qqq\",\"zzz\"],"),
                        contains: "qqq", load: fromJSON)
        let merges = Self.directory.appendingPathComponent("merges.txt")
        let vocab = Self.directory.appendingPathComponent("vocab.json")
        try expectError("vocab.json", "{\"a\": 0,", contains: "not well-formed") {
            try ByteLevelBPETokenizer(vocabFile: $0, mergesFile: merges)
        }
        try expectError("merges.txt", "#version: 0.2\nĠ t\nthree parts here\n", contains: "merge 2") {
            try ByteLevelBPETokenizer(vocabFile: vocab, mergesFile: $0)
        }
        // A broken tokenizer_config.json in a directory is reported too.
        let dir = tmp.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Self.directory.appendingPathComponent("tokenizer.json"),
                                         to: dir.appendingPathComponent("tokenizer.json"))
        let config = dir.appendingPathComponent("tokenizer_config.json")
        try "{\"bos_token\": ".write(to: config, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ByteLevelBPETokenizer(directory: dir)) { error in
            XCTAssert("\(error)".contains(config.path), "\(error)")
        }
    }

    // MARK: - Robustness

    func testNoCrashAndLosslessRoundTrip() throws {
        let tokenizer = try ByteLevelBPETokenizer(directory: Self.directory)
        var rng = BPETestRandom(seed: 7)
        var texts = ["", "\0", "\0\0a\0", "\u{301}", " \u{301}\u{302}", "\u{1}\u{2}\u{7f}\u{1b}[0m", "\r\n\t\u{b}\u{c}",
                     String(repeating: "a", count: 10_000), String(repeating: "ab", count: 5_000),
                     String(repeating: "😀", count: 2_000), String(repeating: " ", count: 5_000),
                     String(repeating: "\u{301}", count: 3_000), String(repeating: "'s", count: 3_000)]
        let letters = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
        texts.append(String((0..<10_000).map { _ in letters[Int(rng.next() % UInt64(letters.count))] }))
        for _ in 0..<200 {
            var s = String.UnicodeScalarView()
            for _ in 0..<Int(rng.next() % 40) {
                let r = rng.next()
                let v: UInt32 = r % 3 == 0 ? UInt32((r >> 8) % 0x80) : UInt32((r >> 8) % 0x11_0000)
                if let scalar = Unicode.Scalar(v) { s.append(scalar) }
            }
            texts.append(String(s))
        }
        let start = Date()
        for text in texts {
            let ids = tokenizer.encode(text, addSpecialTokens: false)
            if !text.contains("<") {  // byte-level BPE is lossless when no added token is in the text
                XCTAssertEqual(tokenizer.decode(ids), text, text.debugDescription.prefix(60).description)
            }
            XCTAssertEqual(tokenizer.encode(text).first, 2)
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 60)
        // Unknown, negative and huge ids are skipped.
        XCTAssertEqual(tokenizer.decode([-1, Int.max, Int.min, 10_000_000]), "")
        for _ in 0..<200 {
            let ids = (0..<Int(rng.next() % 20)).map { _ in Int(rng.next() % UInt64(tokenizer.count + 50)) - 20 }
            _ = tokenizer.decode(ids)
            _ = tokenizer.decode(ids, skipSpecialTokens: true)
        }
    }

    func testConcurrentEncodingSharesTheCache() throws {
        let tokenizer = try ByteLevelBPETokenizer(directory: Self.directory)
        let entries = Self.expected.entries
        let failures = BPETestCounter()
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            for e in entries where e.ids != tokenizer.encode(e.text) { failures.increment() }
            _ = worker
        }
        XCTAssertEqual(failures.value, 0)
    }
}

private struct BPETestRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

private final class BPETestCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}
