import Foundation
import XCTest
@testable import BLIP

/// UnigramTokenizer against transformers 5 / tokenizers 0.23 on the tiny T5-style fixtures
/// (scripts/make_unigram_fixtures.py: a small sentencepiece unigram model with the nmt_nfkc charsmap,
/// saved as T5Tokenizer does), in both layouts (tokenizer.json directory, spiece.model directory) and
/// the variants the script records (raw tokenizer.json, cleanup, legacy flag, converter pipelines,
/// NFKC + Lowercase, byte fallback).
final class UnigramTokenizerTests: XCTestCase {
    static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
    static let directory = fixtures.appendingPathComponent("tiny-unigram")
    static let spieceDirectory = fixtures.appendingPathComponent("tiny-unigram-spiece")

    struct Row: Decodable, Sendable {
        var text: String?
        var ids: [Int]?
        /// Omitted in the base entries when it is `decodedSkipSpecial` + "</s>".
        var decoded: String?
        var decodedSkipSpecial: String?
    }

    struct Variant: Decodable, Sendable {
        var diff: [String: Row]
        /// The corpus entries checked (all when nil).
        var indices: [Int]?
        var patch: [String: JSONValue]?
        var config: [String: JSONValue]?
        var tokenizerJSON: JSONValue?
        var count: Int?
    }

    struct Expected: Decodable, Sendable {
        var count: Int
        var spieceCount: Int
        var bosTokenId: Int?, eosTokenId: Int?, padTokenId: Int?, unkTokenId: Int?
        var entries: [Row]
        var decodeCases: [Row]
        var variants: [String: Variant]
    }

    /// Base entries with `decoded` filled in.
    struct Entry {
        var text: String
        var ids: [Int]
        var decoded: String
        var decodedSkipSpecial: String
    }

    static let expected: Expected = {
        let data = try! Data(contentsOf: directory.appendingPathComponent("expected.json"))
        return try! JSONDecoder().decode(Expected.self, from: data)
    }()

    static var base: [Entry] {
        expected.entries.map { r in
            Entry(text: r.text!, ids: r.ids!, decoded: r.decoded ?? r.decodedSkipSpecial! + "</s>",
                  decodedSkipSpecial: r.decodedSkipSpecial!)
        }
    }

    /// The base entries with a variant's differences applied (only its `indices` when it has some).
    static func entries(_ name: String) -> [Entry] {
        let v = expected.variants[name]!
        var rows = base
        for (key, d) in v.diff {
            let i = Int(key)!
            if let ids = d.ids { rows[i].ids = ids }
            if let s = d.decoded { rows[i].decoded = s }
            if let s = d.decodedSkipSpecial { rows[i].decodedSkipSpecial = s }
        }
        return v.indices.map { $0.map { rows[$0] } } ?? rows
    }

    func check(_ tokenizer: UnigramTokenizer, _ rows: [Entry], eos: Int? = 1, _ label: String,
               file: StaticString = #filePath, line: UInt = #line) {
        var failures = 0
        for (i, row) in rows.enumerated() where failures < 10 {
            let ids = tokenizer.encode(row.text)
            let ok = ids == row.ids
                && tokenizer.encode(row.text, addSpecialTokens: false) == (eos == nil ? row.ids : Array(row.ids.dropLast()))
                && tokenizer.decode(row.ids, skipSpecialTokens: false) == row.decoded
                && tokenizer.decode(row.ids, skipSpecialTokens: true) == row.decodedSkipSpecial
            if !ok {
                failures += 1
                XCTFail("""
                    \(label) entry \(i) \(row.text.debugDescription): ids \(ids) expected \(row.ids); \
                    decoded \(tokenizer.decode(row.ids, skipSpecialTokens: false).debugDescription) expected \(row.decoded.debugDescription); \
                    skip \(tokenizer.decode(row.ids, skipSpecialTokens: true).debugDescription) expected \(row.decodedSkipSpecial.debugDescription)
                    """, file: file, line: line)
            }
        }
    }

    func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("unigram-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    // MARK: - Layouts

    func testCorpusIsLarge() {
        XCTAssertGreaterThanOrEqual(Self.expected.entries.count, 300)
    }

    func testTokenizerJSONDirectory() throws {
        let t = try UnigramTokenizer(directory: Self.directory)
        check(t, Self.base, "tokenizer.json directory")
        XCTAssertEqual(t.count, Self.expected.count)
        XCTAssertEqual(t.bosTokenId, Self.expected.bosTokenId)
        XCTAssertEqual(t.eosTokenId, Self.expected.eosTokenId)
        XCTAssertEqual(t.padTokenId, Self.expected.padTokenId)
        XCTAssertEqual(t.unkTokenId, Self.expected.unkTokenId)
        XCTAssertFalse(t.cleanUpTokenizationSpaces)
        // T5: <extra_id_99> is the first id after the SentencePiece pieces, <extra_id_0> the last.
        XCTAssertEqual(t.id(of: "<extra_id_99>"), 1000)
        XCTAssertEqual(t.id(of: "<extra_id_0>"), 1099)
        XCTAssertTrue(t.isSpecial(1099))
        for c in Self.expected.decodeCases {
            XCTAssertEqual(t.decode(c.ids!, skipSpecialTokens: false), c.decoded, "decode \(c.ids!)")
            XCTAssertEqual(t.decode(c.ids!, skipSpecialTokens: true), c.decodedSkipSpecial, "decode skip \(c.ids!)")
        }
    }

    func testSpieceDirectory() throws {
        let t = try UnigramTokenizer(directory: Self.spieceDirectory)
        check(t, Self.entries("spiece"), "spiece.model directory")
        XCTAssertEqual(t.count, Self.expected.spieceCount)
        XCTAssertEqual(t.eosTokenId, 1)
        XCTAssertEqual(t.padTokenId, 0)
        XCTAssertEqual(t.unkTokenId, 2)
        XCTAssertNil(t.bosTokenId)
        for c in Self.expected.decodeCases {
            XCTAssertEqual(t.decode(c.ids!, skipSpecialTokens: false), c.decoded)
            XCTAssertEqual(t.decode(c.ids!, skipSpecialTokens: true), c.decodedSkipSpecial)
        }
    }

    /// transformers' `T5Tokenizer.from_pretrained` on a directory holding spiece.model alone.
    func testBareSpieceModel() throws {
        let dir = try temporaryDirectory()
        let model = Self.spieceDirectory.appendingPathComponent("spiece.model")
        try FileManager.default.copyItem(at: model, to: dir.appendingPathComponent("spiece.model"))
        check(try UnigramTokenizer(directory: dir), Self.entries("spiece"), "bare spiece.model directory")
        check(try UnigramTokenizer(sentencePieceModel: model), Self.entries("spiece"), "init(sentencePieceModel:)")
    }

    func testRawTokenizerJSON() throws {
        let t = try UnigramTokenizer(tokenizerJSON: Self.directory.appendingPathComponent("tokenizer.json"))
        check(t, Self.entries("rawFile"), "Tokenizer.from_file")
        XCTAssertEqual(t.eosTokenId, 1)
        XCTAssertEqual(t.unkTokenId, 2)
        XCTAssertEqual(t.padTokenId, 0)
        XCTAssertNil(t.bosTokenId)
    }

    /// Both layouts read the same scores (JSON doubles and the model's float32 values agree).
    func testSameModelFromBothLayouts() throws {
        var json = UnigramFiles(), spiece = UnigramFiles()
        try json.loadTokenizerJSON(Self.directory.appendingPathComponent("tokenizer.json"))
        try spiece.loadSentencePiece(Self.spieceDirectory.appendingPathComponent("spiece.model"), extraIds: 100)
        XCTAssertEqual(json.vocab.map(\.piece), spiece.vocab.map(\.piece))
        XCTAssertEqual(json.vocab.map(\.score), spiece.vocab.map(\.score))
    }

    // MARK: - Variants

    /// A copy of the tokenizer.json directory with tokenizer_config.json changed.
    func configVariant(_ name: String) throws -> UnigramTokenizer {
        let dir = try temporaryDirectory()
        for f in ["tokenizer.json", "tokenizer_config.json"] {
            try FileManager.default.copyItem(at: Self.directory.appendingPathComponent(f), to: dir.appendingPathComponent(f))
        }
        let url = dir.appendingPathComponent("tokenizer_config.json")
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        for (k, v) in Self.expected.variants[name]!.config! { config[k] = v.any }
        try JSONSerialization.data(withJSONObject: config).write(to: url)
        return try UnigramTokenizer(directory: dir)
    }

    func testCleanUpTokenizationSpaces() throws {
        let t = try configVariant("cleanup")
        XCTAssertTrue(t.cleanUpTokenizationSpaces)
        check(t, Self.entries("cleanup"), "clean_up_tokenization_spaces")
    }

    func testLegacyFlagIsIgnored() throws {
        XCTAssertTrue(Self.expected.variants["legacyFalse"]!.diff.isEmpty)
        check(try configVariant("legacyFalse"), Self.entries("legacyFalse"), "legacy false")
    }

    /// tokenizer.json with some components replaced, run as `Tokenizer.from_file`.
    func patchedTokenizer(_ name: String) throws -> UnigramTokenizer {
        let url = Self.directory.appendingPathComponent("tokenizer.json")
        var root = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        let charsmap = root["normalizer"]!
        func fill(_ v: Any) -> Any {
            if let s = v as? String, s == "$CHARSMAP" { return charsmap }
            if let d = v as? [String: Any] { return d.mapValues(fill) }
            if let l = v as? [Any] { return l.map(fill) }
            return v
        }
        for (k, v) in Self.expected.variants[name]!.patch! { root[k] = fill(v.any) }
        let out = try temporaryDirectory().appendingPathComponent("tokenizer.json")
        try JSONSerialization.data(withJSONObject: root).write(to: out)
        return try UnigramTokenizer(tokenizerJSON: out)
    }

    func testConverterPipelineLegacyTrue() throws {
        check(try patchedTokenizer("converterAlways"), Self.entries("converterAlways"), "converter, prepend always")
    }

    func testConverterPipelineLegacyFalse() throws {
        check(try patchedTokenizer("converterFirst"), Self.entries("converterFirst"), "converter, prepend first")
    }

    func testOldMetaspaceLayout() throws {
        check(try patchedTokenizer("oldLayout"), Self.entries("oldLayout"), "add_prefix_space Metaspace")
    }

    func testNFKCLowercaseNormalizers() throws {
        check(try patchedTokenizer("nfkcLowercase"), Self.entries("nfkcLowercase"), "NFKC + Lowercase")
    }

    func testByteFallback() throws {
        let v = Self.expected.variants["byteFallback"]!
        let url = try temporaryDirectory().appendingPathComponent("tokenizer.json")
        try JSONSerialization.data(withJSONObject: v.tokenizerJSON!.any).write(to: url)
        let t = try UnigramTokenizer(tokenizerJSON: url)
        XCTAssertEqual(t.count, v.count)
        check(t, Self.entries("byteFallback"), "byte fallback")
    }

    func testBlip2Protocol() throws {
        let t: any Blip2TextTokenizer = try UnigramTokenizer(directory: Self.directory)
        let row = Self.base.first { $0.text == "Question: what is in the picture? Answer:" }!
        XCTAssertEqual(t.encode(row.text, addSpecialTokens: true), row.ids)
        XCTAssertEqual(t.decode(row.ids, skipSpecialTokens: true), row.decodedSkipSpecial)
    }
}

/// Any JSON value (for the fixture's patches and configs).
enum JSONValue: Decodable, Sendable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    var any: Any {
        switch self {
        case .null: return NSNull()
        case .bool(let b): return b
        case .number(let n): return n
        case .string(let s): return s
        case .array(let a): return a.map(\.any)
        case .object(let o): return o.mapValues(\.any)
        }
    }
}
