import Foundation
import XCTest
@testable import BLIP

/// Malformed, truncated and hostile files throw ``UnigramTokenizerError`` (never crash); edge inputs.
final class UnigramRobustnessTests: XCTestCase {
    static let directory = UnigramTokenizerTests.directory
    static let spiece = UnigramTokenizerTests.spieceDirectory.appendingPathComponent("spiece.model")
    static let tokenizerJSON = directory.appendingPathComponent("tokenizer.json")

    func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("unigram-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// Loads `bytes` as spiece.model: nil when refused (with an error naming the file), else the tokenizer.
    func loadModel(_ bytes: [UInt8], in dir: URL) -> UnigramTokenizer? {
        let url = dir.appendingPathComponent("spiece.model")
        try! Data(bytes).write(to: url)
        do {
            return try UnigramTokenizer(sentencePieceModel: url)
        } catch {
            XCTAssertTrue(error.description.contains(url.path), error.description)
            return nil
        }
    }

    func loadJSON(_ data: Data, in dir: URL) -> Result<UnigramTokenizer, UnigramTokenizerError> {
        let url = dir.appendingPathComponent("tokenizer.json")
        try! data.write(to: url)
        do { return .success(try UnigramTokenizer(tokenizerJSON: url)) } catch { return .failure(error) }
    }

    /// tokenizer.json with `key` replaced by `value`.
    func patchedJSON(_ key: String, _ value: Any, model: [String: Any]? = nil) throws -> Data {
        var root = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.tokenizerJSON)) as! [String: Any]
        root[key] = value
        if let model { root["model"] = (root["model"] as! [String: Any]).merging(model) { $1 } }
        return try JSONSerialization.data(withJSONObject: root)
    }

    // MARK: spiece.model

    func testModelProtoFields() throws {
        let m = try SentencePieceModel(contentsOf: Self.spiece)
        XCTAssertEqual(m.pieces.count, 1000)
        XCTAssertEqual(m.pieces[0], .init(piece: "<pad>", score: 0, type: .control))
        XCTAssertEqual(m.pieces[1].type, .control)
        XCTAssertEqual(m.pieces[2], .init(piece: "<unk>", score: 0, type: .unknown))
        XCTAssertEqual(m.modelType, .unigram)
        XCTAssertEqual([m.padId, m.eosId, m.unkId, m.bosId], [0, 1, 2, -1])
        XCTAssertFalse(m.byteFallback)
        XCTAssertEqual(m.vocabSize, 1000)
        XCTAssertEqual(m.normalizerName, "nmt_nfkc")
        XCTAssertGreaterThan(m.precompiledCharsmap.count, 100_000)
        XCTAssertTrue(m.addDummyPrefix && m.removeExtraWhitespaces && m.escapeWhitespaces)
    }

    func testTruncatedSpieceModel() throws {
        let bytes = [UInt8](try Data(contentsOf: Self.spiece))
        let dir = try temporaryDirectory()
        XCTAssertNil(loadModel([], in: dir))
        for cut in [1, 2, 3, 5, 9, 20, bytes.count / 2, bytes.count - 1] {
            XCTAssertNil(loadModel(Array(bytes[..<cut]), in: dir), "cut at \(cut)")
        }
        // Anywhere else: a clean error or (at a field boundary) a smaller model, never a crash.
        for cut in stride(from: 0, to: bytes.count, by: 997) {
            _ = loadModel(Array(bytes[..<cut]), in: dir)?.encode("Question: what is this? Answer:")
        }
    }

    func testGarbledSpieceModel() throws {
        let bytes = [UInt8](try Data(contentsOf: Self.spiece))
        let dir = try temporaryDirectory()
        var rng = SplitMix(seed: 7)
        for round in 0..<60 {
            var g = bytes
            // Flip bytes in the pieces (the start) and anywhere.
            for _ in 0..<(1 + round % 5) {
                let i = round % 2 == 0 ? Int(rng.next() % 20_000) : Int(rng.next() % UInt64(g.count))
                g[i] ^= UInt8(truncatingIfNeeded: rng.next() | 1)
            }
            if let t = loadModel(g, in: dir) {
                let ids = t.encode("Crème brûlée ｆｕｌｌ ①\u{301} 東京 \u{1F600}")
                _ = t.decode(ids, skipSpecialTokens: true)
            }
        }
        XCTAssertNil(loadModel([0xFF, 0xFF, 0xFF, 0xFF], in: dir))
        XCTAssertNil(loadModel(Array("not a model at all".utf8), in: dir))
    }

    func testNonUnigramSpieceModelIsRefused() throws {
        // ModelProto { pieces: [<unk> UNKNOWN, "a"], trainer_spec { model_type: BPE } }
        func piece(_ s: String, type: UInt8) -> [UInt8] {
            let body: [UInt8] = [0x0A, UInt8(s.utf8.count)] + Array(s.utf8) + [0x15, 0, 0, 0x80, 0xBF, 0x18, type]
            return [0x0A, UInt8(body.count)] + body
        }
        let bytes = piece("<unk>", type: 2) + piece("a", type: 1) + [0x12, 0x02, 0x18, 0x02]
        let url = try temporaryDirectory().appendingPathComponent("spiece.model")
        try Data(bytes).write(to: url)
        XCTAssertThrowsError(try UnigramTokenizer(sentencePieceModel: url)) { error in
            guard case let .unsupported(path, feature)? = error as? UnigramTokenizerError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, url.path)
            XCTAssertTrue(feature.contains("bpe"), feature)
        }
        // The same model as unigram: T5Tokenizer's unk id 2 needs a third entry (the one sentinel).
        try Data(piece("<unk>", type: 2) + piece("a", type: 1)).write(to: url)
        XCTAssertThrowsError(try UnigramTokenizer(sentencePieceModel: url, extraIds: 0)) {
            guard case .invalidModel(let path, let reason)? = $0 as? UnigramTokenizerError else { return XCTFail("\($0)") }
            XCTAssertEqual(path, url.path)
            XCTAssertTrue(reason.contains("unk_id 2"), reason)
        }
        let t = try UnigramTokenizer(sentencePieceModel: url, extraIds: 1)
        XCTAssertEqual(t.encode("a", addSpecialTokens: false), [2, 1])  // "▁" is unknown
        XCTAssertEqual(t.eosTokenId, 3)  // </s> is not a piece: the next id
        XCTAssertEqual(t.count, 5)
    }

    // MARK: tokenizer.json

    func testTruncatedAndGarbledTokenizerJSON() throws {
        let data = try Data(contentsOf: Self.tokenizerJSON)
        let dir = try temporaryDirectory()
        for cut in [0, 1, 100, data.count / 3, data.count - 2] {
            guard case .failure(let e) = loadJSON(data.prefix(cut), in: dir), case .invalidJSON(let path, _) = e else {
                return XCTFail("cut at \(cut) loaded")
            }
            XCTAssertTrue(path.hasSuffix("tokenizer.json"))
        }
        var rng = SplitMix(seed: 11)
        var bytes = [UInt8](data)
        for _ in 0..<40 {
            let i = Int(rng.next() % UInt64(bytes.count))
            bytes[i] = UInt8(truncatingIfNeeded: rng.next())
            if case .success(let t) = loadJSON(Data(bytes), in: dir) { _ = t.decode(t.encode("hello world"), skipSpecialTokens: false) }
        }
    }

    func testUnknownComponentsAreUnsupported() throws {
        let dir = try temporaryDirectory()
        let cases: [(String, Any, String)] = [
            ("normalizer", ["type": "FancyNormalizer"], "normalizer FancyNormalizer"),
            ("normalizer", ["type": "Sequence", "normalizers": [["type": "BertNormalizer"]]], "normalizer BertNormalizer"),
            ("pre_tokenizer", ["type": "ByteLevel", "add_prefix_space": true], "pre-tokenizer ByteLevel"),
            ("decoder", ["type": "WordPiece", "prefix": "##"], "decoder WordPiece"),
            ("post_processor", ["type": "Mystery"], "post-processor Mystery"),
        ]
        for (key, value, feature) in cases {
            guard case .failure(.unsupported(let path, let f)) = loadJSON(try patchedJSON(key, value), in: dir) else {
                return XCTFail("\(feature) accepted")
            }
            XCTAssertEqual(f, feature)
            XCTAssertTrue(UnigramTokenizerError.unsupported(path: path, feature: f).description.contains("tokenizer.json"))
        }
        guard case .failure(.unsupported(_, let f)) = loadJSON(try patchedJSON("x", 0, model: ["type": "BPE"]), in: dir) else {
            return XCTFail("BPE model accepted")
        }
        XCTAssertTrue(f.contains("BPE"))
    }

    func testMalformedComponentsAreInvalid() throws {
        let dir = try temporaryDirectory()
        let cases: [(String, Any, [String: Any]?)] = [
            ("normalizer", ["type": "Precompiled", "precompiled_charsmap": "not base64!"], nil),
            ("normalizer", ["type": "Precompiled", "precompiled_charsmap": Data([9, 0, 0]).base64EncodedString()], nil),
            ("normalizer", ["type": "Precompiled", "precompiled_charsmap": Data([0, 0, 0, 0, 0xFF, 0xFE]).base64EncodedString()], nil),
            ("normalizer", ["type": "Replace", "pattern": ["Regex": "(unclosed"], "content": ""], nil),
            ("normalizer", ["type": "Strip"], nil),
            ("pre_tokenizer", ["type": "Metaspace", "replacement": "ab"], nil),
            ("pre_tokenizer", ["type": "Metaspace", "replacement": "▁", "add_prefix_space": false], nil),
            ("pre_tokenizer", ["type": "Metaspace", "replacement": "▁", "prepend_scheme": "sometimes"], nil),
            ("decoder", ["type": "Strip", "content": " ", "start": 1], nil),
            ("x", 0, ["unk_id": 5000]),
            ("x", 0, ["unk_id": "two"]),
            ("x", 0, ["vocab": [["a", "high"]]]),
            ("x", 0, ["vocab": "a b c"]),
            ("x", 0, ["vocab": [], "unk_id": 0]),
            ("added_tokens", [["content": 5]], nil),
        ]
        for (key, value, model) in cases {
            guard case .failure(.invalidJSON(let path, let reason)) = loadJSON(try patchedJSON(key, value, model: model), in: dir) else {
                return XCTFail("\(key) \(value) \(model ?? [:]) accepted or wrong error")
            }
            XCTAssertTrue(path.hasSuffix("tokenizer.json") && !reason.isEmpty)
        }
    }

    /// A charsmap whose double array points anywhere normalises without crashing.
    func testHostileCharsmap() throws {
        var rng = SplitMix(seed: 3)
        for _ in 0..<200 {
            let units = Int(rng.next() % 64)
            var blob: [UInt8] = withUnsafeBytes(of: UInt32(units * 4).littleEndian, Array.init)
            for _ in 0..<units { blob += withUnsafeBytes(of: UInt32(truncatingIfNeeded: rng.next()).littleEndian, Array.init) }
            blob += Array("ab\0c\0\u{e9}\0".utf8)
            guard let map = try? PrecompiledCharsmap(blob) else { continue }
            var text = NormalizedText(Array("aé A\u{301} \u{1F44D}\u{1F3FD} x\0y".unicodeScalars)[...])
            text.applyPrecompiled(map)
            XCTAssertEqual(text.scalars.count, text.align.count)
        }
    }

    // MARK: Directories and inputs

    func testMissingFiles() throws {
        let dir = try temporaryDirectory()
        XCTAssertThrowsError(try UnigramTokenizer(directory: dir)) {
            XCTAssertEqual($0 as? UnigramTokenizerError, .noVocabulary(directory: dir.path))
        }
        let missing = dir.appendingPathComponent("nope.json")
        XCTAssertThrowsError(try UnigramTokenizer(tokenizerJSON: missing)) {
            guard case .unreadableFile(let path, _)? = $0 as? UnigramTokenizerError else { return XCTFail("\($0)") }
            XCTAssertEqual(path, missing.path)
        }
        try Data("{\"tokenizer_class\": ".utf8).write(to: dir.appendingPathComponent("tokenizer_config.json"))
        try FileManager.default.copyItem(at: Self.spiece, to: dir.appendingPathComponent("spiece.model"))
        XCTAssertThrowsError(try UnigramTokenizer(directory: dir)) {
            guard case .invalidJSON(let path, _)? = $0 as? UnigramTokenizerError else { return XCTFail("\($0)") }
            XCTAssertTrue(path.hasSuffix("tokenizer_config.json"))
        }
    }

    func testEmptyAndLongInputs() throws {
        let t = try UnigramTokenizer(directory: Self.directory)
        XCTAssertEqual(t.encode(""), [1])
        XCTAssertEqual(t.encode("", addSpecialTokens: false), [])
        XCTAssertEqual(t.encode(" \t\n\u{3000}", addSpecialTokens: false), [])
        XCTAssertEqual(t.decode([], skipSpecialTokens: true), "")
        XCTAssertEqual(t.decode([1, 0, -5, 123_456], skipSpecialTokens: true), "")

        let unit = "Question: what is in the picture? Answer: a dog, 東京 café ｆｕｌｌ \u{1F600}\t\n"
        let long = String(repeating: unit, count: 100_000 / unit.count + 1)
        XCTAssertGreaterThanOrEqual(long.count, 100_000)
        let ids = t.encode(long)
        XCTAssertEqual(ids.last, 1)
        XCTAssertGreaterThan(ids.count, 20_000)
        XCTAssertFalse(t.decode(ids, skipSpecialTokens: true).isEmpty)
        // One 100k-character word (a single Viterbi lattice) and 100k unknown characters (one fused <unk>).
        XCTAssertGreaterThan(t.encode(String(repeating: "abcdefghij", count: 10_000)).count, 1_000)
        XCTAssertEqual(t.encode(String(repeating: "\u{2603}", count: 100_000), addSpecialTokens: false).count, 2)
    }
}

/// A small deterministic generator for the garbling tests.
struct SplitMix {
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
