import Foundation
import XCTest
@testable import BLIP

/// ByteLevelBPETokenizer against transformers 5 / tokenizers 0.23 on the tiny OPT-style fixture
/// (scripts/make_bpe_fixtures.py: a small byte-level BPE wrapped as facebook/opt and
/// Salesforce/blip2-opt-2.7b carry it) and a variant fixture (RobertaProcessing, add_prefix_space,
/// lstrip / rstrip / single_word / normalized added tokens, forced cleanup).
final class ByteLevelBPETests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let directory = fixtures.appendingPathComponent("tiny-bpe")
    static let variantDirectory = fixtures.appendingPathComponent("tiny-bpe-variant")

    struct Entry: Decodable {
        var text: String
        var scalars: Int
        var ids: [Int]
        /// Omitted in the main fixture when it is `ids` without OPT's leading `</s>`.
        var idsNoSpecial: [Int]?
        var tokens: [String]
        var decoded: String
        var decodedSkipSpecial: String
        var decodedNoCleanup: String?

        var plainIds: [Int] { idsNoSpecial ?? Array(ids.dropFirst()) }
    }

    struct DecodeCase: Decodable {
        var ids: [Int]
        var decoded: String
        var decodedSkipSpecial: String
    }

    struct Variant: Decodable {
        var count: Int
        var bosTokenId: Int?, eosTokenId: Int?, padTokenId: Int?, unkTokenId: Int?
        var entries: [Entry]
    }

    struct Expected: Decodable {
        var count: Int
        var vocabSize: Int
        var bosTokenId: Int?, eosTokenId: Int?, padTokenId: Int?, unkTokenId: Int?
        var imageTokenId: Int
        var entries: [Entry]
        var decodeCases: [DecodeCase]
        var variant: Variant
    }

    static let expected: Expected = {
        let data = try! Data(contentsOf: directory.appendingPathComponent("expected.json"))
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try! decoder.decode(Expected.self, from: data)
    }()

    /// Compares every entry and fails once with the number of mismatches and the first few.
    func assertMatches(_ tokenizer: ByteLevelBPETokenizer, _ entries: [Entry], label: String,
                       fields: Set<String> = ["ids", "ids_no_special", "tokens", "decoded", "decoded_skip_special"],
                       file: StaticString = #filePath, line: UInt = #line) {
        var mismatches: [String] = []
        for e in entries {
            func check<T: Equatable>(_ name: String, _ got: T, _ want: T) {
                if fields.contains(name) && got != want {
                    mismatches.append("\(name) for \(e.text.debugDescription.prefix(80)): got \(String(describing: got).prefix(300)), want \(String(describing: want).prefix(300))")
                }
            }
            let ids = tokenizer.encode(e.text)
            check("ids", ids, e.ids)
            check("ids_no_special", tokenizer.encode(e.text, addSpecialTokens: false), e.plainIds)
            check("tokens", e.ids.map { tokenizer.token(for: $0) ?? "<nil>" }, e.tokens)
            check("decoded", tokenizer.decode(e.ids), e.decoded)
            check("decoded_no_cleanup", tokenizer.decode(e.ids), e.decodedNoCleanup ?? e.decoded)
            check("decoded_skip_special", tokenizer.decode(e.ids, skipSpecialTokens: true), e.decodedSkipSpecial)
        }
        XCTAssert(mismatches.isEmpty, "\(label): \(mismatches.count) mismatches over \(entries.count) entries; first:\n"
                  + mismatches.prefix(6).joined(separator: "\n"), file: file, line: line)
    }

    func testFixtureTextsSurviveJSON() {
        let e = Self.expected
        XCTAssertGreaterThanOrEqual(e.entries.count, 300)
        for entry in e.entries + e.variant.entries {
            XCTAssertEqual(entry.text.unicodeScalars.count, entry.scalars, entry.text.debugDescription)
        }
    }

    func testDirectoryMatchesTransformers() throws {
        let tokenizer = try ByteLevelBPETokenizer(directory: Self.directory)
        assertMatches(tokenizer, Self.expected.entries, label: "tiny-bpe directory")
    }

    func testSpecialTokensAndCounts() throws {
        let e = Self.expected
        let tokenizer = try ByteLevelBPETokenizer(directory: Self.directory)
        // OPT: bos = eos = unk = </s> (2), pad <pad> (1); BLIP-2's <image> right after the vocabulary.
        XCTAssertEqual(tokenizer.bosTokenId, e.bosTokenId)
        XCTAssertEqual(tokenizer.bosTokenId, 2)
        XCTAssertEqual(tokenizer.eosTokenId, e.eosTokenId)
        XCTAssertEqual(tokenizer.padTokenId, e.padTokenId)
        XCTAssertEqual(tokenizer.unkTokenId, e.unkTokenId)
        XCTAssertEqual(tokenizer.count, e.count)
        XCTAssertEqual(tokenizer.id(of: "<image>"), e.imageTokenId)
        XCTAssertEqual(tokenizer.id(of: "<s>"), 0)
        XCTAssertEqual(tokenizer.token(for: 3), "<unk>")
        XCTAssertNil(tokenizer.token(for: e.count + 10))
        XCTAssertNil(tokenizer.token(for: -1))
        XCTAssertFalse(tokenizer.addPrefixSpace)
        XCTAssertFalse(tokenizer.cleanUpTokenizationSpaces, "transformers 5 ignores clean_up_tokenization_spaces for BPE")
        XCTAssertTrue(tokenizer.isSpecial(2))
        XCTAssertFalse(tokenizer.isSpecial(0), "<s> is a plain vocabulary entry in OPT")
        XCTAssertEqual(tokenizer.encode("Question: what is this? Answer:").first, 2)
    }

    func testTokenizerJSONMatchesTokenizers() throws {
        let tokenizer = try ByteLevelBPETokenizer(tokenizerJSON: Self.directory.appendingPathComponent("tokenizer.json"))
        assertMatches(tokenizer, Self.expected.entries, label: "tiny-bpe tokenizer.json")
        XCTAssertEqual(tokenizer.bosTokenId, 2)
        XCTAssertEqual(tokenizer.eosTokenId, 2)
        XCTAssertEqual(tokenizer.padTokenId, 1)
        XCTAssertNil(tokenizer.unkTokenId)
        XCTAssertEqual(tokenizer.count, Self.expected.count)
    }

    func testVocabAndMergesDirectoryMatches() throws {
        let tmp = try temporaryDirectory()
        for name in ["vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"] {
            try FileManager.default.copyItem(at: Self.directory.appendingPathComponent(name),
                                             to: tmp.appendingPathComponent(name))
        }
        let tokenizer = try ByteLevelBPETokenizer(directory: tmp)
        assertMatches(tokenizer, Self.expected.entries, label: "vocab.json + merges.txt directory")
        XCTAssertEqual(tokenizer.count, Self.expected.count)
        XCTAssertEqual(tokenizer.unkTokenId, 2)
    }

    func testVocabAndMergesFiles() throws {
        let tokenizer = try ByteLevelBPETokenizer(
            vocabFile: Self.directory.appendingPathComponent("vocab.json"),
            mergesFile: Self.directory.appendingPathComponent("merges.txt"),
            addedTokens: ["<pad>", "</s>", "<image>"])
        // No configuration: no post-processor, so the ids are transformers' ids without special tokens.
        assertMatches(tokenizer, Self.expected.entries, label: "vocab.json + merges.txt files",
                      fields: ["ids_no_special", "tokens", "decoded", "decoded_skip_special"])
        for e in Self.expected.entries.prefix(50) { XCTAssertEqual(tokenizer.encode(e.text), e.plainIds) }
        XCTAssertEqual(tokenizer.id(of: "<image>"), Self.expected.imageTokenId)
        XCTAssertEqual(tokenizer.count, Self.expected.count)
    }

    func testDecodeCases() throws {
        let tokenizer = try ByteLevelBPETokenizer(directory: Self.directory)
        var mismatches: [String] = []
        for c in Self.expected.decodeCases {
            let got = tokenizer.decode(c.ids), skip = tokenizer.decode(c.ids, skipSpecialTokens: true)
            if got != c.decoded { mismatches.append("\(c.ids): \(got.debugDescription) ≠ \(c.decoded.debugDescription)") }
            if skip != c.decodedSkipSpecial { mismatches.append("skip \(c.ids): \(skip.debugDescription) ≠ \(c.decodedSkipSpecial.debugDescription)") }
        }
        XCTAssert(mismatches.isEmpty, mismatches.prefix(6).joined(separator: "\n"))
    }

    func testVariantDirectoryMatchesTransformers() throws {
        let v = Self.expected.variant
        let tokenizer = try ByteLevelBPETokenizer(directory: Self.variantDirectory)
        assertMatches(tokenizer, v.entries, label: "tiny-bpe-variant directory")
        XCTAssertTrue(tokenizer.addPrefixSpace)
        XCTAssertTrue(tokenizer.cleanUpTokenizationSpaces)
        XCTAssertEqual(tokenizer.bosTokenId, v.bosTokenId)
        XCTAssertEqual(tokenizer.eosTokenId, v.eosTokenId)
        XCTAssertEqual(tokenizer.padTokenId, v.padTokenId)
        XCTAssertEqual(tokenizer.unkTokenId, v.unkTokenId)
        XCTAssertEqual(tokenizer.count, v.count)
    }

    func testVariantTokenizerJSONMatchesTokenizers() throws {
        let tokenizer = try ByteLevelBPETokenizer(tokenizerJSON: Self.variantDirectory.appendingPathComponent("tokenizer.json"))
        // tokenizers itself never applies transformers' cleanup.
        assertMatches(tokenizer, Self.expected.variant.entries, label: "tiny-bpe-variant tokenizer.json",
                      fields: ["ids", "ids_no_special", "tokens", "decoded_no_cleanup"])
        XCTAssertEqual(tokenizer.bosTokenId, 0)
        XCTAssertEqual(tokenizer.eosTokenId, 2)
        XCTAssertEqual(tokenizer.unkTokenId, 3)
    }

    /// BPE options OPT does not use (ignore_merges, unk_token with and without fuse_unk,
    /// byte_fallback): the variant tokenizer.json edited as the script edited it for `tokenizers`.
    func testBPEModelOptionsMatchTokenizers() throws {
        let data = try Data(contentsOf: Self.directory.appendingPathComponent("expected.json"))
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let groups = try XCTUnwrap((root["variant"] as? [String: Any])?["model_options"] as? [[String: Any]])
        XCTAssertGreaterThanOrEqual(groups.count, 5)
        let source = Self.variantDirectory.appendingPathComponent("tokenizer.json")
        let base = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: source)) as? [String: Any])
        let tmp = try temporaryDirectory()
        for (index, group) in groups.enumerated() {
            var json = base
            var model = try XCTUnwrap(json["model"] as? [String: Any])
            var vocab = try XCTUnwrap(model["vocab"] as? [String: Any])
            for token in group["remove_tokens"] as? [String] ?? [] { vocab[token] = nil }
            for (token, id) in group["add_tokens"] as? [String: Any] ?? [:] { vocab[token] = id }
            model["vocab"] = vocab
            for (key, value) in group["options"] as? [String: Any] ?? [:] { model[key] = value }
            json["model"] = model
            let url = tmp.appendingPathComponent("options\(index).json")
            try JSONSerialization.data(withJSONObject: json).write(to: url)
            let tokenizer = try ByteLevelBPETokenizer(tokenizerJSON: url)
            let cases = try XCTUnwrap(group["cases"] as? [[String: Any]])
            XCTAssertGreaterThan(cases.count, 5)
            for c in cases {
                let text = try XCTUnwrap(c["text"] as? String)
                XCTAssertEqual(tokenizer.encode(text), c["ids"] as? [Int], "\(group["options"] ?? "") \(text.debugDescription)")
            }
        }
    }

    /// Other checkpoint layouts (old facebook/opt-* files without added_tokens_decoder, a legacy
    /// added_tokens.json, an `image_token` key, tokenizer.json alone, vocab.json + merges.txt alone),
    /// built as the script built them for transformers.
    func testOtherCheckpointLayoutsMatchTransformers() throws {
        let data = try Data(contentsOf: Self.directory.appendingPathComponent("expected.json"))
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let layouts = try XCTUnwrap(root["layouts"] as? [[String: Any]])
        XCTAssertEqual(layouts.count, 5)
        let tmp = try temporaryDirectory()
        for layout in layouts {
            let name = try XCTUnwrap(layout["name"] as? String)
            let dir = tmp.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            for file in layout["copy"] as? [String] ?? [] {
                try FileManager.default.copyItem(at: Self.directory.appendingPathComponent(file), to: dir.appendingPathComponent(file))
            }
            for (file, object) in layout["write"] as? [String: Any] ?? [:] {
                try JSONSerialization.data(withJSONObject: object).write(to: dir.appendingPathComponent(file))
            }
            if let drop = layout["drop_added_tokens"] as? [String] {
                let url = dir.appendingPathComponent("tokenizer.json")
                var json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
                json["added_tokens"] = (json["added_tokens"] as? [[String: Any]] ?? []).filter {
                    !drop.contains($0["content"] as? String ?? "")
                }
                try JSONSerialization.data(withJSONObject: json).write(to: url)
            }
            let tokenizer = try ByteLevelBPETokenizer(directory: dir)
            XCTAssertEqual(tokenizer.count, layout["count"] as? Int, name)
            if layout["no_named_tokens"] as? Bool != true {  // else transformers names none; see init(tokenizerJSON:)
                let special = try XCTUnwrap(layout["special_ids"] as? [String: Any])
                XCTAssertEqual(tokenizer.bosTokenId, special["bos_token_id"] as? Int, name)
                XCTAssertEqual(tokenizer.eosTokenId, special["eos_token_id"] as? Int, name)
                XCTAssertEqual(tokenizer.padTokenId, special["pad_token_id"] as? Int, name)
                XCTAssertEqual(tokenizer.unkTokenId, special["unk_token_id"] as? Int, name)
            }
            for (token, id) in try XCTUnwrap(layout["token_ids"] as? [String: Int]) {
                XCTAssertEqual(tokenizer.id(of: token), id, "\(name) \(token)")
            }
            let cases = try XCTUnwrap(layout["cases"] as? [[String: Any]])
            XCTAssertGreaterThan(cases.count, 10)
            for c in cases {
                let text = try XCTUnwrap(c["text"] as? String)
                let ids = tokenizer.encode(text)
                XCTAssertEqual(ids, c["ids"] as? [Int], "\(name) \(text.debugDescription)")
                XCTAssertEqual(tokenizer.decode(ids), c["decoded"] as? String, "\(name) \(text.debugDescription)")
                XCTAssertEqual(tokenizer.decode(ids, skipSpecialTokens: true), c["decoded_skip_special"] as? String,
                               "\(name) \(text.debugDescription)")
            }
        }
    }

    /// Other post-processors, checked against the fixture's ids without special tokens.
    func testPostProcessorKinds() throws {
        let source = Self.directory.appendingPathComponent("tokenizer.json")
        var root = try JSONSerialization.jsonObject(with: Data(contentsOf: source)) as! [String: Any]
        let template = root["post_processor"]!
        let tmp = try temporaryDirectory()
        let cases: [(Any, ([Int]) -> [Int])] = [
            (NSNull(), { $0 }),
            (["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true], { $0 }),
            (["type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0], "trim_offsets": true,
              "add_prefix_space": false], { [0] + $0 + [2] }),
            (["type": "Sequence", "processors": [["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true,
                                                 "use_regex": true], template]], { [2] + $0 }),
        ]
        for (index, (processor, wrap)) in cases.enumerated() {
            root["post_processor"] = processor
            let url = tmp.appendingPathComponent("tokenizer\(index).json")
            try JSONSerialization.data(withJSONObject: root).write(to: url)
            let tokenizer = try ByteLevelBPETokenizer(tokenizerJSON: url)
            for e in Self.expected.entries.prefix(80) {
                XCTAssertEqual(tokenizer.encode(e.text), wrap(e.plainIds), "case \(index): \(e.text.debugDescription)")
                XCTAssertEqual(tokenizer.encode(e.text, addSpecialTokens: false), e.plainIds)
            }
        }
    }

    // MARK: - Helpers

    func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bpe-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }
}
