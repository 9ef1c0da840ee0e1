import BLIPEval
import Foundation
import XCTest

/// Checks `PTBTokenizer` against the Stanford CoreNLP 3.4.1 jar pycocoevalcap runs
/// (fixture made by scripts/ptb_reference.py) and on hand-checkable cases.
final class PTBTokenizerTests: XCTestCase {
    private struct Entry: Decodable {
        let caption: String
        let tokens: [String]
        let tokenized: String
    }

    private static let fixtureURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/ptb_tokens.json")

    /// Exact comparison (Swift's `==` on strings would equate canonically equivalent ones).
    private func scalars(_ strings: [String]) -> [[UInt32]] {
        strings.map { $0.unicodeScalars.map(\.value) }
    }

    private func assertTokens(_ caption: String, _ expected: [String], _ tokenized: String,
                              file: StaticString = #filePath, line: UInt = #line) {
        let tokens = PTBTokenizer.ptbTokens(caption)
        XCTAssertEqual(scalars(tokens), scalars(expected), "ptbTokens(\(caption.debugDescription)) = \(tokens)",
                       file: file, line: line)
        let result = PTBTokenizer.tokenize(caption)
        XCTAssertEqual(scalars([result]), scalars([tokenized]), "tokenize(\(caption.debugDescription)) = \(result)",
                       file: file, line: line)
    }

    func testMatchesJarOnFixture() throws {
        let data = try Data(contentsOf: Self.fixtureURL)
        let entries = try JSONDecoder().decode([Entry].self, from: data)
        XCTAssertGreaterThanOrEqual(entries.count, 2000)
        var mismatches: [String] = []
        for entry in entries {
            let tokens = PTBTokenizer.ptbTokens(entry.caption)
            let tokenized = PTBTokenizer.tokenize(entry.caption)
            if scalars(tokens) != scalars(entry.tokens) || scalars([tokenized]) != scalars([entry.tokenized]) {
                mismatches.append("\(entry.caption.debugDescription): jar \(entry.tokens) \(entry.tokenized.debugDescription)"
                    + ", port \(tokens) \(tokenized.debugDescription)")
            }
        }
        XCTAssertTrue(mismatches.isEmpty, "\(mismatches.count) of \(entries.count) differ; first: "
            + mismatches.prefix(5).joined(separator: "\n"))
    }

    func testEverydayCaption() {
        assertTokens("A man riding a wave on top of a surfboard.",
                     ["a", "man", "riding", "a", "wave", "on", "top", "of", "a", "surfboard", "."],
                     "a man riding a wave on top of a surfboard")
        assertTokens("It costs $5.99!", ["it", "costs", "$", "5.99", "!"], "it costs $ 5.99")
    }

    func testBracketsSurviveAsLowerCaseNames() {
        // PUNCTUATIONS lists -LRB- etc. in upper case, so the lower-cased tokens stay.
        assertTokens("A dog (a golden retriever) {x} [y]",
                     ["a", "dog", "-lrb-", "a", "golden", "retriever", "-rrb-", "-lcb-", "x", "-rcb-", "-lsb-", "y", "-rsb-"],
                     "a dog -lrb- a golden retriever -rrb- -lcb- x -rcb- -lsb- y -rsb-")
        assertTokens(":)", [":-rrb-"], ":-rrb-")
    }

    func testContractionsAndQuotes() {
        assertTokens("don't can't won't I'm", ["do", "n't", "ca", "n't", "wo", "n't", "i", "'m"],
                     "do n't ca n't wo n't i 'm")
        assertTokens("Mr. Smith's cat", ["mr.", "smith", "'s", "cat"], "mr. smith 's cat")
        assertTokens("cannot gonna", ["can", "not", "gon", "na"], "can not gon na")
        assertTokens("\"hi\" 'yo'", ["``", "hi", "''", "`", "yo", "'"], "hi yo")
    }

    func testNumbersCurrencyDashesEllipses() {
        assertTokens("3 1/2 cups", ["3\u{A0}1/2", "cups"], "3\u{A0}1/2 cups")
        assertTokens("£3 €5 ¢", ["#", "3", "$", "5", "cents"], "# 3 $ 5 cents")
        assertTokens("a -- b --- c ---- d ----- e — f",
                     ["a", "--", "b", "--", "c", "--", "d", "-----", "e", "--", "f"], "a b c d ----- e f")
        assertTokens("wait… . . .", ["wait", "...", "..."], "wait")
        assertTokens("http://example.com/a.", ["http://example.com/a", "."], "http://example.com/a")
    }

    func testAbbreviationsAtCaptionEnd() {
        // Read as followed by an ordinary lower-case caption (see the type's documentation).
        assertTokens("etc.", ["etc."], "etc.")
        assertTokens("U.S.", ["u.s."], "u.s.")
        assertTokens("letter A.", ["letter", "a."], "letter a.")
    }

    func testUnicode() {
        assertTokens("a 😀 dog", ["a", "dog"], "a dog")   // the jar drops what it cannot tokenise
        assertTokens("ΟΔΟΣ", ["οδος"], "οδος")            // Java's final sigma
        assertTokens("a\u{AD}b", ["ab"], "ab")            // soft hyphen removed
        assertTokens("naïve café", ["naïve", "café"], "naïve café")
    }

    func testEmptyBlankAndNewlines() {
        assertTokens("", [], "")
        assertTokens("   \t ", [], "")
        assertTokens("a\nb", ["a", "b"], "a b")
        assertTokens("a\r\nb\u{2028}c", ["a", "b", "c"], "a b c")
    }

    func testConcurrentUseGivesTheSameTokens() throws {
        let data = try Data(contentsOf: Self.fixtureURL)
        let captions = try JSONDecoder().decode([Entry].self, from: data).map(\.caption)
        let expected = captions.map(PTBTokenizer.tokenize)
        final class Tally: @unchecked Sendable {
            private let lock = NSLock()
            private(set) var count = 0
            func add(_ value: Int) { lock.lock(); count += value; lock.unlock() }
        }
        let differing = Tally()
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            differing.add(stride(from: worker, to: captions.count, by: 4).filter {
                PTBTokenizer.tokenize(captions[$0]) != expected[$0]
            }.count)
        }
        XCTAssertEqual(differing.count, 0)
    }

    func testNeverCrashesOnAwkwardInput() {
        XCTAssertEqual(PTBTokenizer.ptbTokens(String(repeating: "x,", count: 20_000)).count, 40_000)
        XCTAssertEqual(PTBTokenizer.ptbTokens(String(repeating: "word ", count: 20_000)).count, 20_000)
        XCTAssertFalse(PTBTokenizer.ptbTokens(String(repeating: "a", count: 100_000)).isEmpty)
        // Every BMP scalar, and a sample of the others, in runs of 64.
        let scalars = (0..<0x1_0000).compactMap { Unicode.Scalar(UInt32($0)) }
            + stride(from: 0x1_0000, to: 0x11_0000, by: 101).compactMap { Unicode.Scalar(UInt32($0)) }
        for start in stride(from: 0, to: scalars.count, by: 64) {
            _ = PTBTokenizer.tokenize(String(String.UnicodeScalarView(scalars[start..<min(start + 64, scalars.count)])))
        }
        for text in ["\u{0}", "\u{301}", "'", "\"", "<", "&", "http://", "@", "#", "a\u{D}", "\u{FEFF}", "Σ"] {
            _ = PTBTokenizer.tokenize(text)
            _ = PTBTokenizer.tokenize(text + text + " " + text)
        }
    }
}
