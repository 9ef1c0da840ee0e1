import Foundation
import XCTest
@testable import BLIP

/// Checks the Swift BertTokenizer against fixtures written by scripts/make_tokenizer_fixtures.py
/// from transformers 5 (`BertTokenizer`, tokenizers backend, with BLIP's [DEC]/[ENC] tokens).
final class TokenizerTests: XCTestCase {
    static let fixtures: URL = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
        .appendingPathComponent("tokenizer")

    struct Case: Decodable {
        var text: String
        var ids: [Int]
        var ids_no_special: [Int]
        var tokens: [String]
        var legacy_ids: [Int]?
        var decode: String?
        var decode_skip: String?
        var decode_cleanup: String?
    }
    struct TruncationCase: Decodable { var text: String; var max_length: Int; var ids: [Int] }
    struct DecodeCase: Decodable {
        var ids: [Int]
        var decode: String
        var decode_skip: String
        var decode_cleanup: String
        var decode_skip_cleanup: String
    }
    struct Batch: Decodable { var texts: [String]; var input_ids: [[Int]]; var attention_mask: [[Int]] }
    struct Corpus: Decodable {
        var cases: [Case]
        var truncation: [TruncationCase]
        var decodes: [DecodeCase]
        var batch: Batch
    }

    static let corpus: Corpus = {
        let data = try! Data(contentsOf: fixtures.appendingPathComponent("corpus.json"))
        return try! JSONDecoder().decode(Corpus.self, from: data)
    }()

    /// A temporary directory holding the given fixture files (renamed as asked).
    func makeDirectory(_ files: [String: String]) throws -> URL {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("blip-tok-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        for (name, source) in files {
            try FileManager.default.copyItem(at: Self.fixtures.appendingPathComponent(source),
                                             to: dir.appendingPathComponent(name))
        }
        return dir
    }

    /// Scalar-exact string comparison (Swift's == treats canonically equivalent strings as equal).
    func assertScalarsEqual(_ a: String, _ b: String, _ message: String,
                            file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(Array(a.unicodeScalars), Array(b.unicodeScalars), message, file: file, line: line)
    }

    func loadAll() throws -> [(String, BertTokenizer)] {
        let checkpoint = try makeDirectory([
            "vocab.txt": "vocab.txt", "tokenizer_config.json": "tokenizer_config.json",
            "special_tokens_map.json": "special_tokens_map.json",
        ])
        let v5 = try makeDirectory(["vocab.txt": "vocab.txt", "tokenizer.json": "tokenizer.json",
                                    "tokenizer_config.json": "tokenizer_config_v5.json"])
        let vocabOnlyDir = try makeDirectory(["vocab.txt": "vocab.txt"])
        return [
            ("checkpoint dir (vocab.txt + 4.x configs)", try BertTokenizer(directory: checkpoint)),
            ("v5 dir (tokenizer.json + v5 config)", try BertTokenizer(directory: v5)),
            ("vocab.txt only dir", try BertTokenizer(directory: vocabOnlyDir)),
            ("vocabFile", try BertTokenizer(vocabFile: Self.fixtures.appendingPathComponent("vocab.txt"))),
            ("tokenizerJSON", try BertTokenizer(tokenizerJSON: Self.fixtures.appendingPathComponent("tokenizer.json"))),
        ]
    }

    func testSpecialTokenIds() throws {
        for (name, t) in try loadAll() {
            XCTAssertEqual(t.clsTokenId, 101, name)
            XCTAssertEqual(t.sepTokenId, 102, name)
            XCTAssertEqual(t.eosTokenId, 102, name)
            XCTAssertEqual(t.padTokenId, 0, name)
            XCTAssertEqual(t.unkTokenId, 100, name)
            XCTAssertEqual(t.maskTokenId, 103, name)
            XCTAssertEqual(t.bosTokenId, 30522, name)
            XCTAssertEqual(t.bosToken, "[DEC]", name)
            XCTAssertEqual(t.encTokenId, 30523, name)
            XCTAssertEqual(t.id(of: "[DEC]"), 30522, name)
            XCTAssertEqual(t.id(of: "[ENC]"), 30523, name)
            XCTAssertEqual(t.token(for: 30523), "[ENC]", name)
            XCTAssertEqual(t.token(for: 1037), "a", name)
            XCTAssertNil(t.token(for: 30524), name)
            XCTAssertEqual(t.baseVocabularySize, 30522, name)
            XCTAssertEqual(t.count, 30524, name)
            XCTAssertEqual(t.encode("a picture of"), [101, 1037, 3861, 1997, 102], name)
        }
    }

    func testConfigValues() throws {
        let checkpoint = try BertTokenizer(directory: try makeDirectory([
            "vocab.txt": "vocab.txt", "tokenizer_config.json": "tokenizer_config.json",
            "special_tokens_map.json": "special_tokens_map.json",
        ]))
        XCTAssertEqual(checkpoint.modelMaxLength, 512)
        XCTAssertTrue(checkpoint.cleanUpTokenizationSpaces)
        XCTAssertEqual(checkpoint.additionalSpecialTokens, ["[ENC]"])
        let v5 = try BertTokenizer(directory: try makeDirectory([
            "tokenizer.json": "tokenizer.json", "tokenizer_config.json": "tokenizer_config_v5.json",
        ]))
        XCTAssertEqual(v5.modelMaxLength, 512)
        XCTAssertFalse(v5.cleanUpTokenizationSpaces)
        XCTAssertEqual(v5.additionalSpecialTokens, ["[ENC]"])
        // Without BLIP tokens a bare vocabulary knows nothing of [DEC]/[ENC].
        let plain = try BertTokenizer(vocabFile: Self.fixtures.appendingPathComponent("vocab.txt"),
                                      addBLIPTokens: false)
        XCTAssertNil(plain.bosTokenId)
        XCTAssertNil(plain.encTokenId)
        XCTAssertEqual(plain.count, 30522)
        XCTAssertEqual(plain.encode("[DEC]"), [101, 1031, 11703, 1033, 102])
    }

    func testCorpusIds() throws {
        let corpus = Self.corpus
        XCTAssertGreaterThanOrEqual(corpus.cases.count, 200)
        for (name, t) in try loadAll() {
            var passed = 0
            for c in corpus.cases {
                let ids = t.encode(c.text)
                XCTAssertEqual(ids, c.ids, "\(name): \(c.text.debugDescription)")
                XCTAssertEqual(t.encode(c.text, addSpecialTokens: false), c.ids_no_special,
                               "\(name): \(c.text.debugDescription)")
                if ids == c.ids { passed += 1 }
            }
            print("TokenizerTests \(name): \(passed)/\(corpus.cases.count) corpus cases match transformers")
        }
    }

    func testCorpusTokens() throws {
        let t = try BertTokenizer(tokenizerJSON: Self.fixtures.appendingPathComponent("tokenizer.json"))
        for c in Self.corpus.cases {
            let tokens = t.tokenize(c.text)
            XCTAssertEqual(tokens.map { Array($0.unicodeScalars) }, c.tokens.map { Array($0.unicodeScalars) },
                           c.text.debugDescription)
        }
    }

    func testCorpusDecode() throws {
        let t = try BertTokenizer(tokenizerJSON: Self.fixtures.appendingPathComponent("tokenizer.json"))
        var n = 0
        for c in Self.corpus.cases {
            guard let d = c.decode, let ds = c.decode_skip, let dc = c.decode_cleanup else { continue }
            assertScalarsEqual(t.decode(c.ids), d, "decode \(c.text.debugDescription)")
            assertScalarsEqual(t.decode(c.ids, skipSpecialTokens: true), ds, "skip \(c.text.debugDescription)")
            assertScalarsEqual(t.decode(c.ids, cleanUpTokenizationSpaces: true), dc,
                               "cleanup \(c.text.debugDescription)")
            n += 1
        }
        XCTAssertGreaterThan(n, 100)
        for d in Self.corpus.decodes {
            assertScalarsEqual(t.decode(d.ids), d.decode, "decode \(d.ids)")
            assertScalarsEqual(t.decode(d.ids, skipSpecialTokens: true), d.decode_skip, "skip \(d.ids)")
            assertScalarsEqual(t.decode(d.ids, cleanUpTokenizationSpaces: true), d.decode_cleanup, "cleanup \(d.ids)")
            assertScalarsEqual(t.decode(d.ids, skipSpecialTokens: true, cleanUpTokenizationSpaces: true),
                               d.decode_skip_cleanup, "skip+cleanup \(d.ids)")
        }
    }

    func testDecodeUsesConfigCleanup() throws {
        let checkpoint = try BertTokenizer(directory: try makeDirectory([
            "vocab.txt": "vocab.txt", "tokenizer_config.json": "tokenizer_config.json",
        ]))
        let ids = checkpoint.encode("it's a dog's life, isn't it?")
        XCTAssertEqual(checkpoint.decode(ids, skipSpecialTokens: true), "it's a dog's life, isn't it?")
        XCTAssertEqual(checkpoint.decode(ids, skipSpecialTokens: true, cleanUpTokenizationSpaces: false),
                       "it ' s a dog ' s life, isn ' t it?")
    }

    /// Non-special added tokens: `normalized` ones match the lower-cased text, `lstrip`/`rstrip` ones
    /// swallow neighbouring spaces. Expected ids from transformers 5.23 after
    /// `add_tokens([AddedToken("NewWord", normalized=True), AddedToken("<X>", lstrip=True, rstrip=True,
    /// normalized=False, special=False)])` on the BLIP tokenizer.
    func testNonSpecialAddedTokens() throws {
        let dir = try makeDirectory(["vocab.txt": "vocab.txt", "special_tokens_map.json": "special_tokens_map.json"])
        let config = """
        {"added_tokens_decoder": {
          "30522": {"content": "[DEC]", "lstrip": false, "normalized": false, "rstrip": false, "single_word": false, "special": true},
          "30523": {"content": "[ENC]", "lstrip": false, "normalized": false, "rstrip": false, "single_word": false, "special": true},
          "30524": {"content": "NewWord", "lstrip": false, "normalized": true, "rstrip": false, "single_word": false, "special": false},
          "30525": {"content": "<X>", "lstrip": true, "normalized": false, "rstrip": true, "single_word": false, "special": false}},
         "do_lower_case": true, "model_max_length": 512}
        """
        try config.write(to: dir.appendingPathComponent("tokenizer_config.json"), atomically: true, encoding: .utf8)
        let t = try BertTokenizer(directory: dir)
        XCTAssertEqual(t.count, 30526)
        let cases: [(String, [Int])] = [
            ("a NEWWORD b", [101, 1037, 30524, 1038, 102]), ("newwordy", [101, 30524, 1061, 102]),
            ("xNewWord", [101, 1060, 30524, 102]), ("a <X> b", [101, 1037, 30525, 1038, 102]),
            ("a<X>b", [101, 1037, 30525, 1038, 102]), ("a   <X>   b", [101, 1037, 30525, 1038, 102]),
            ("<x>", [101, 1026, 1060, 1028, 102]), ("NewWord<X>NewWord", [101, 30524, 30525, 30524, 102]),
        ]
        for (text, ids) in cases { XCTAssertEqual(t.encode(text), ids, text) }
        XCTAssertEqual(t.decode([101, 1037, 30525, 1038, 102], skipSpecialTokens: true), "a <X> b")
    }

    func testTruncation() throws {
        let t = try BertTokenizer(vocabFile: Self.fixtures.appendingPathComponent("vocab.txt"))
        for c in Self.corpus.truncation {
            XCTAssertEqual(t.encode(c.text, maxLength: c.max_length), c.ids, "\(c.text) max \(c.max_length)")
        }
        XCTAssertEqual(t.encode("a picture of a dog", addSpecialTokens: false, maxLength: 2), [1037, 3861])
    }

    func testBatch() throws {
        let t = try BertTokenizer(vocabFile: Self.fixtures.appendingPathComponent("vocab.txt"))
        let b = Self.corpus.batch
        let enc = t.encodeBatch(b.texts)
        XCTAssertEqual(enc.inputIds, b.input_ids)
        XCTAssertEqual(enc.attentionMask, b.attention_mask)
        let wide = t.encodeBatch(["a b"], padToLength: 6)
        XCTAssertEqual(wide.inputIds, [[101, 1037, 1038, 102, 0, 0]])
        XCTAssertEqual(wide.attentionMask, [[1, 1, 1, 1, 0, 0]])
        XCTAssertEqual(t.encodeBatch([]).inputIds, [])
    }

    func testErrors() throws {
        let missing = URL(fileURLWithPath: "/nonexistent/blip/vocab.txt")
        XCTAssertThrowsError(try BertTokenizer(vocabFile: missing)) { error in
            XCTAssertEqual(error as? TokenizerError,
                           .unreadableFile(path: missing.path, reason: "no such file"))
            XCTAssertTrue("\(error)".contains("/nonexistent/blip/vocab.txt"))
        }
        let dir = try makeDirectory([:])
        XCTAssertThrowsError(try BertTokenizer(directory: dir)) { error in
            XCTAssertEqual(error as? TokenizerError, .noVocabulary(directory: dir.path))
        }
        let empty = dir.appendingPathComponent("empty.txt")
        try Data().write(to: empty)
        XCTAssertThrowsError(try BertTokenizer(vocabFile: empty)) { error in
            XCTAssertEqual(error as? TokenizerError, .emptyVocabulary(path: empty.path))
        }
        let binary = dir.appendingPathComponent("binary.txt")
        try Data([0x5B, 0x50, 0x41, 0x44, 0x5D, 0x0A, 0xFF, 0xFE, 0x00, 0x0A]).write(to: binary)
        XCTAssertThrowsError(try BertTokenizer(vocabFile: binary)) { error in
            XCTAssertEqual(error as? TokenizerError, .invalidEncoding(path: binary.path))
        }
        let noUnk = dir.appendingPathComponent("nounk.txt")
        try "[PAD]\n[CLS]\n[SEP]\nhello\n".write(to: noUnk, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try BertTokenizer(vocabFile: noUnk)) { error in
            XCTAssertEqual(error as? TokenizerError, .missingToken(token: "[UNK]", path: noUnk.path))
        }
        let badJSON = dir.appendingPathComponent("tokenizer.json")
        try "{\"model\": {\"vocab\": ".write(to: badJSON, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try BertTokenizer(tokenizerJSON: badJSON)) { error in
            guard case .invalidJSON(let path, _)? = error as? TokenizerError else {
                return XCTFail("unexpected \(error)")
            }
            XCTAssertEqual(path, badJSON.path)
        }
        XCTAssertThrowsError(try BertTokenizer(directory: dir)) { error in  // garbled tokenizer.json wins
            guard case .invalidJSON? = error as? TokenizerError else { return XCTFail("unexpected \(error)") }
        }
        let bpe = dir.appendingPathComponent("bpe.json")
        try "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}}}".write(to: bpe, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try BertTokenizer(tokenizerJSON: bpe))
        let badConfigDir = try makeDirectory(["vocab.txt": "vocab.txt"])
        try "not json".write(to: badConfigDir.appendingPathComponent("tokenizer_config.json"),
                             atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try BertTokenizer(directory: badConfigDir)) { error in
            guard case .invalidJSON(let path, _)? = error as? TokenizerError else {
                return XCTFail("unexpected \(error)")
            }
            XCTAssertTrue(path.hasSuffix("tokenizer_config.json"))
        }
    }

    func testSmallVocabularyRules() throws {
        let dir = try makeDirectory([:])
        let vocab = dir.appendingPathComponent("small.txt")
        // CRLF line ends, a duplicate (the later id wins for lookups), continuation pieces.
        try "[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\nun\r\n##aff\r\n##able\r\naff\r\nun\r\n".write(
            to: vocab, atomically: true, encoding: .utf8)
        let t = try BertTokenizer(vocabFile: vocab, addBLIPTokens: false)
        XCTAssertEqual(t.baseVocabularySize, 9)
        XCTAssertEqual(t.id(of: "un"), 8)
        XCTAssertEqual(t.tokenize("unaffable"), ["un", "##aff", "##able"])
        XCTAssertEqual(t.encode("unaffable affx"), [2, 8, 5, 6, 1, 3])
        XCTAssertEqual(t.maskTokenId, nil)
        let cased = try BertTokenizer(vocabFile: vocab, lowercase: false, addBLIPTokens: false)
        XCTAssertEqual(cased.encode("UNaffable", addSpecialTokens: false), [1])
    }

    /// Every scalar of planes 0–3 and 14: removal, whitespace, punctuation and CJK classes, and the
    /// lowercase / accent-stripping output, against the reference's per-scalar behaviour.
    func testUnicodeSweep() throws {
        let data = try Data(contentsOf: Self.fixtures.appendingPathComponent("corpus.json"))
        let root = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let sweep = try XCTUnwrap(root["unicode_sweep"] as? [String: Any])
        let ranges = try XCTUnwrap(sweep["ranges"] as? [[Int]])
        let runs = try XCTUnwrap(sweep["runs"] as? [[Any]])
        let expectedHash = try XCTUnwrap(sweep["normalized_fnv1a64"] as? String)
        var expected: [UInt32: Character] = [:]
        for run in runs {
            let lo = try XCTUnwrap(run[0] as? Int), hi = try XCTUnwrap(run[1] as? Int)
            let k = try XCTUnwrap((run[2] as? String)?.first)
            for cp in lo...hi { expected[UInt32(cp)] = k }
        }
        let full = BasicTokenizer(lowercase: true, stripAccents: nil, handleChineseChars: false, cleanText: false)
        let low = BasicTokenizer(lowercase: true, stripAccents: false, handleChineseChars: false, cleanText: false)
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        func mix(_ b: UInt8) { hash = (hash ^ UInt64(b)) &* 0x100_0000_01B3 }
        var mismatches: [String] = []
        for range in ranges {
            for cp in UInt32(range[0])..<UInt32(range[1]) {
                guard let s = Unicode.Scalar(cp) else { continue }
                let k: Character?
                if cp == 0 || cp == 0xFFFD || BasicTokenizer.isControl(s) { k = "R" }
                else if BasicTokenizer.isWhitespace(s) && cp != 0x20 { k = "W" }
                else if BasicTokenizer.isPunctuation(s) { k = "P" }
                else if BasicTokenizer.isChineseChar(s) { k = "C" }
                else { k = nil }
                if k != expected[cp], mismatches.count < 20 {
                    mismatches.append("U+\(String(cp, radix: 16, uppercase: true)): \(k.map(String.init) ?? "-") vs \(expected[cp].map(String.init) ?? "-")")
                }
                for u in full.normalize([s]) { UTF8.encode(u, into: mix) }
                mix(0)
                for u in low.normalize([s]) { UTF8.encode(u, into: mix) }
                mix(1)
            }
        }
        XCTAssertEqual(mismatches, [])
        XCTAssertEqual(String(hash, radix: 16).leftPadded(to: 16), expectedHash)
    }

    func testPerformance() throws {
        let t = try BertTokenizer(vocabFile: Self.fixtures.appendingPathComponent("vocab.txt"))
        let text = String(repeating: "A man riding a wave on top of a surfboard, naïve café 東京. ", count: 200)
        let start = Date()
        let ids = t.encode(text)
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertGreaterThan(ids.count, 2000)
        XCTAssertLessThan(elapsed, 2.0, "tokenizing \(text.count) characters took \(elapsed) s")
        let long = String(repeating: "x", count: 200_000)
        XCTAssertEqual(t.encode(long), [101, 100, 102])
    }
}

private extension String {
    func leftPadded(to n: Int) -> String { String(repeating: "0", count: max(0, n - count)) + self }
}
