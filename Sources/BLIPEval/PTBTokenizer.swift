import Foundation

/// Port of the caption tokenisation pycocoevalcap 1.2 runs: Stanford CoreNLP 3.4.1
/// `PTBTokenizer -preserveLines -lowerCase`, then the punctuation tokens it removes.
///
/// pycocoevalcap writes all captions to one file, one per line, so the jar sees each caption
/// followed by a line break and the next caption. A few of the jar's rules look past that line
/// break; this port reads every caption as if the next line were an ordinary lower-case caption
/// (e.g. `etc.` then stays one token, and `U.S.` or a one-letter acronym before a next line
/// starting with `The `/`A ` does not get its period split off). Line-break characters other than
/// `\n` inside a caption (`\r`, U+000B, U+000C, U+2028, U+2029) make the jar emit extra lines,
/// which misaligns pycocoevalcap's output; here they separate tokens like spaces.
public enum PTBTokenizer {
    /// The jar's tokens of one caption (newlines become spaces first), lower-cased as -lowerCase prints them.
    ///
    /// Tokens never contain U+0020: the jar turns spaces inside fractions, phone numbers and
    /// SGML tags into U+00A0.
    public static func ptbTokens(_ caption: String) -> [String] {
        var text = caption.utf16.map { $0 == 0x0A ? 0x20 : $0 }
        let end = text.count
        // What follows the caption in pycocoevalcap's file: a line break and another caption.
        text.append(contentsOf: [0x0A, 0x78])
        var tokens: [String] = []
        var fruitless: Set<UInt64> = []
        var position = 0
        while position < end {
            guard let (matchEnd, ruleIndex) = lexer.match(text, at: position, fruitless: &fruitless) else {
                position += 1
                continue
            }
            let rule = lexer.rules[ruleIndex]
            let (token, consumed) = apply(rule.action, to: text[position..<matchEnd])
            position += consumed > 0 ? consumed : max(1, matchEnd - position)
            if let token { tokens.append(javaLowercased(token)) }
        }
        return tokens
    }

    /// pycocoevalcap's tokenized caption: `ptbTokens` without its PUNCTUATIONS, joined by single spaces.
    public static func tokenize(_ caption: String) -> String {
        // pycocoevalcap: ' '.join(w for w in line.rstrip().split(' ') if w not in PUNCTUATIONS)
        var line = Array(ptbTokens(caption).joined(separator: " ").unicodeScalars)
        while let last = line.last, pythonWhitespace.contains(last.value) { line.removeLast() }
        let words = line.split(separator: " ", omittingEmptySubsequences: false)
            .map { String(String.UnicodeScalarView($0)) }
            .filter { word in !punctuation.contains { $0.utf8.elementsEqual(word.utf8) } }
        return words.joined(separator: " ")
    }

    /// pycocoevalcap's PUNCTUATIONS (upper-case bracket names included, as in its source).
    static let punctuation = ["''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-",
                              ".", "?", "!", ",", ":", "-", "--", "...", ";"]

    /// Code points Python's `str.rstrip()` removes.
    static let pythonWhitespace: Set<UInt32> = [
        0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x85, 0xA0, 0x1680,
        0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A,
        0x2028, 0x2029, 0x202F, 0x205F, 0x3000,
    ]

    // MARK: - Lexer

    /// The compiled rules: one automaton holding the union of all rules (tagged by rule
    /// index) plus, for rules with trailing context, separate entries for both halves.
    struct Lexer: Sendable {
        let dfa: LazyDFA
        let rules: [Rule]
        let start: Int
        let patternEntries: [Int]
        let contextEntries: [Int]

        init(_ sources: [(String, String?, Action)]) {
            var automaton = Automaton()
            var rules: [Rule] = []
            var patternEntries: [Int] = []
            var contextEntries: [Int] = []
            var entries: [Int] = []
            for (index, source) in sources.enumerated() {
                let pattern = PTBTokenizer.parsePattern(source.0)
                let context = source.1.map(PTBTokenizer.parsePattern)
                rules.append(Rule(pattern: pattern, context: context, action: source.2))
                entries.append(automaton.addRule([pattern] + (context.map { [$0] } ?? []), tag: index))
                if let context {
                    patternEntries.append(automaton.addRule([pattern], tag: 0))
                    contextEntries.append(automaton.addRule([context], tag: 0))
                } else {
                    patternEntries.append(-1)
                    contextEntries.append(-1)
                }
            }
            start = automaton.addUnion(entries)
            self.rules = rules
            self.patternEntries = patternEntries
            self.contextEntries = contextEntries
            dfa = LazyDFA(automaton)
        }

        /// The winning rule at `position` and the end of its token (trailing context excluded).
        func match(_ text: [UInt16], at position: Int, fruitless: inout Set<UInt64>) -> (Int, Int)? {
            guard let (end, tag) = dfa.longest(from: start, in: text, at: position, fruitless: &fruitless),
                  tag >= 0, tag < rules.count else { return nil }
            guard rules[tag].context != nil else { return (end, tag) }
            // Like JFlex: the longest pattern match whose remainder matches the context.
            let ends = dfa.longest(from: patternEntries[tag], in: text, at: position, limit: end,
                                   recordEnds: true).ends
            var split = end
            while split > position {
                let length = split - position
                if length < ends.count, ends[length],
                   dfa.matchesExactly(from: contextEntries[tag], in: text, from: split, to: end) {
                    return (split, tag)
                }
                split -= 1
            }
            return (end, tag)
        }
    }

    static let lexer = Lexer(ruleSources)

    // MARK: - Actions

    /// The token a rule's action makes of `matched`, and how many code units it consumes.
    static func apply(_ action: Action, to matched: ArraySlice<UInt16>) -> (String?, Int) {
        let length = matched.count
        let text = decode(matched)
        switch action {
        case .keep: return (text, length)
        case .softHyphens: return (removingSoftHyphens(text), length)
        case .skip, .newline: return (nil, length)
        case .literal(let token): return (token, length)
        case .pushBack(let count):
            let kept = max(1, length - count)
            return (decode(matched.prefix(kept)), kept)
        case .reduplicatePeriod: return (text, max(1, length - 1))
        case .acronymBeforeSentence:
            if length == 2 { return (decode(matched.prefix(1)), 1) }
            return (text, max(1, length - 1))
        case .quotes(let left): return (latexQuotes(text, left: left), length)
        case .ampersand: return (replacingAmpEntities(text), length)
        case .spaces: return (mapScalars(text) { $0 == " " ? "\u{A0}" : nil }, length)
        case .phone:
            let spaced = mapScalars(text) { $0 == " " ? "\u{A0}" : nil }
            return (normalizingParentheses(spaced), length)
        case .parentheses: return (normalizingParentheses(text), length)
        case .fractions: return (normalizingFractions(text), length)
        case .currency: return (normalizingCurrency(text), length)
        case .hyphens: return ((3...4).contains(length) ? "--" : text, length)
        case .ellipsis: return ("...", length)
        }
    }

    /// UTF-16 to String; an unpaired surrogate becomes "?" as in the jar's UTF-8 output.
    static func decode(_ units: ArraySlice<UInt16>) -> String {
        var scalars = String.UnicodeScalarView()
        var iterator = units.makeIterator()
        var decoder = UTF16()
        loop: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): scalars.append(scalar)
            case .error: scalars.append("?")
            case .emptyInput: break loop
            }
        }
        return String(scalars)
    }
}
