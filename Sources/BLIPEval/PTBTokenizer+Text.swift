import Foundation

// The jar's token normalisations and Java's `String.toLowerCase(Locale.ENGLISH)`.

extension PTBTokenizer {
    /// Replaces each scalar for which `replacement` returns a string.
    static func mapScalars(_ text: String, _ replacement: (Unicode.Scalar) -> String?) -> String {
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if let replaced = replacement(scalar) {
                out.append(contentsOf: replaced.unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }

    /// Replaces every occurrence of the ASCII entity `entity` (matched exactly or, with
    /// `caseInsensitive`, ignoring ASCII case) by `replacement`.
    static func replacingEntity(_ entity: String, in text: String, with replacement: String,
                                caseInsensitive: Bool = false) -> String {
        let pattern = Array(entity.unicodeScalars)
        let scalars = Array(text.unicodeScalars)
        guard !pattern.isEmpty, scalars.count >= pattern.count else { return text }
        func same(_ a: Unicode.Scalar, _ b: Unicode.Scalar) -> Bool {
            guard caseInsensitive, a.isASCII, b.isASCII else { return a == b }
            return Character(a).lowercased() == Character(b).lowercased()
        }
        var out = String.UnicodeScalarView()
        var index = 0
        while index < scalars.count {
            if index + pattern.count <= scalars.count,
               (0..<pattern.count).allSatisfy({ same(scalars[index + $0], pattern[$0]) }) {
                out.append(contentsOf: replacement.unicodeScalars)
                index += pattern.count
            } else {
                out.append(scalars[index])
                index += 1
            }
        }
        return String(out)
    }

    /// Removes soft hyphens (U+00AD); a token of nothing but soft hyphens becomes "-".
    static func removingSoftHyphens(_ text: String) -> String {
        let kept = String(String.UnicodeScalarView(text.unicodeScalars.filter { $0.value != 0xAD }))
        return kept.isEmpty ? "-" : kept
    }

    /// `&amp;` (any ASCII case) becomes `&`.
    static func replacingAmpEntities(_ text: String) -> String {
        replacingEntity("&amp;", in: text, with: "&", caseInsensitive: true)
    }

    static func normalizingParentheses(_ text: String) -> String {
        mapScalars(text) { $0 == "(" ? "-LRB-" : $0 == ")" ? "-RRB-" : nil }
    }

    static func normalizingFractions(_ text: String) -> String {
        mapScalars(text) { scalar in
            switch scalar.value {
            case 0xBC: return "1/4"
            case 0xBD: return "1/2"
            case 0xBE: return "3/4"
            case 0x2153: return "1/3"
            case 0x2154: return "2/3"
            default: return nil
            }
        }
    }

    static func normalizingCurrency(_ text: String) -> String {
        mapScalars(text) { scalar in
            switch scalar.value {
            case 0xA2: return "cents"
            case 0xA3: return "#"
            case 0x80, 0xA4, 0x20A0, 0x20AC: return "$"
            default: return nil
            }
        }
    }

    /// The jar's LaTeX quotes: ASCII quotes by position (`left` before a word), curly ones by shape.
    static func latexQuotes(_ text: String, left: Bool) -> String {
        var out = replacingEntity("&apos;", in: text, with: left ? "`" : "'")
        out = mapScalars(out) { $0 == "'" ? (left ? "`" : "'") : nil }
        out = mapScalars(out) { $0 == "\"" ? (left ? "``" : "''") : nil }
        out = replacingEntity("&quot;", in: out, with: left ? "``" : "''")
        return mapScalars(out) { scalar in
            switch scalar.value {
            case 0x91, 0x2018, 0x201B, 0x2039: return "`"
            case 0x92, 0x2019, 0x203A: return "'"
            case 0x93, 0x201C, 0xAB: return "``"
            case 0x94, 0x201D, 0xBB: return "''"
            default: return nil
            }
        }
    }

    // MARK: - Lower-casing

    /// Java's `toLowerCase(Locale.ENGLISH)`: per-character lower case (U+0130 becomes "i̇"),
    /// with capital sigma becoming final ς at the end of a word that has cased letters before it.
    static func javaLowercased(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0.properties.changesWhenLowercased }) else { return text }
        let scalars = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        for (index, scalar) in scalars.enumerated() {
            if scalar.value == 0x3A3 {
                out.append(isFinalSigma(scalars, at: index) ? "\u{3C2}" : "\u{3C3}")
            } else {
                out.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            }
        }
        return String(out)
    }

    /// Java's final-sigma test: a cased letter before Σ and none after it, looking no further
    /// than the word boundaries (`BreakIterator.getWordInstance`) around it.
    private static func isFinalSigma(_ scalars: [Unicode.Scalar], at index: Int) -> Bool {
        let boundaries = javaWordBoundaries(scalars)
        var before = index
        while before > 0, !boundaries.contains(before) {
            before -= 1
            guard scalars[before].properties.isCased else { continue }
            var after = index + 1
            while after < scalars.count, !boundaries.contains(after) {
                if scalars[after].properties.isCased { return false }
                after += 1
            }
            return true
        }
        return false
    }

    /// Word boundaries as the JDK's rule-based word iterator finds them (its default rules:
    /// letters joined by dashes, underscores, apostrophes, quotes and periods; numbers with their
    /// separators; runs of kana or ideographs; combining marks stay with what precedes them).
    /// Format characters (other than the soft hyphen, which the rules name) are transparent.
    static func javaWordBoundaries(_ scalars: [Unicode.Scalar]) -> Set<Int> {
        var units: [UInt16] = []
        var offsets: [Int] = []
        for (offset, scalar) in scalars.enumerated()
        where scalar.properties.generalCategory != .format || scalar.value == 0xAD {
            units.append(scalar.value <= 0xFFFF ? UInt16(scalar.value) : 0xFFFD)
            offsets.append(offset)
        }
        var boundaries: Set<Int> = [0, scalars.count]
        var position = 0
        while position < units.count {
            let end = wordSegmenter.dfa.longest(from: wordSegmenter.start, in: units, at: position,
                                                limit: units.count).match?.end
            position = min(units.count, max(position + 1, end ?? position + 1))
            if position < units.count { boundaries.insert(offsets[position]) }
        }
        return boundaries
    }

    private static let wordSegmenter: (dfa: LazyDFA, start: Int) = {
        typealias Category = Unicode.GeneralCategory
        func category(_ categories: [Category]) -> UnitSet {
            UnitSet.scanning { unit in
                Unicode.Scalar(unit).map { categories.contains($0.properties.generalCategory) } ?? false
            }
        }
        func chars(_ list: String) -> UnitSet { UnitSet(ranges: list.unicodeScalars.map { ($0.value, $0.value) }) }
        func one(_ set: UnitSet) -> Pattern { .units(set) }
        func optional(_ pattern: Pattern) -> Pattern { .repeated(pattern, min: 0, max: 1) }
        func many(_ pattern: Pattern) -> Pattern { .repeated(pattern, min: 0, max: nil) }
        func some(_ pattern: Pattern) -> Pattern { .repeated(pattern, min: 1, max: nil) }

        let enclosing = category([.nonspacingMark, .enclosingMark])
        let kanji = UnitSet(ranges: [(0x3005, 0x3005), (0x4E00, 0x9FA5), (0xF900, 0xFA2D)])
        let kata = UnitSet(ranges: [(0x30A1, 0x30FA), (0x30FD, 0x30FE)])
        let hira = UnitSet(ranges: [(0x3041, 0x3094), (0x309D, 0x309E)])
        let cjkDiacritic = UnitSet(ranges: [(0x3099, 0x309C), (0x30FB, 0x30FC)])
        let letterBase = category([.uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter,
                                   .otherLetter, .spacingMark])
            .subtracting(kanji.union(kata).union(hira).union(cjkDiacritic))
        let letter = Pattern.sequence([one(letterBase), many(one(enclosing))])
        let digit = Pattern.sequence([one(category([.decimalNumber, .letterNumber, .otherNumber])), many(one(enclosing))])
        let midWord = category([.dashPunctuation, .connectorPunctuation]).union(chars("\u{AD}\u{2027}\"'."))
        let midNumber = chars("\"',\u{66B}.")
        let preNumber = category([.currencySymbol]).union(chars("#.")).subtracting(chars("\u{A2}"))
        let postNumber = chars("%&\u{A2}\u{66A}\u{2030}\u{2031}")
        let space = Pattern.sequence([one(category([.spaceSeparator]).union(chars("\t"))), many(one(enclosing))])
        let base = category([.control, .format, .lineSeparator, .paragraphSeparator]).union(enclosing).inverted()

        let word = Pattern.sequence([some(letter), many(.sequence([one(midWord), some(letter)])),
                                     optional(one(chars("\u{964}\u{965}")))])
        let number = Pattern.sequence([some(digit), many(.sequence([one(midNumber), some(digit)]))])
        let tail = Pattern.sequence([many(.sequence([number, word])),
                                     optional(.sequence([number, optional(one(postNumber))]))])
        let rules: [Pattern] = [
            one(.all),
            .sequence([optional(word), tail]),
            .sequence([one(preNumber), tail]),
            .sequence([many(space), optional(one(chars("\r"))), optional(one(chars("\n\u{C}\u{2028}\u{2029}")))]),
            many(one(kata.union(cjkDiacritic))), many(one(hira.union(cjkDiacritic))), many(one(kanji)),
            .sequence([one(base), some(one(enclosing))]),
        ]
        var automaton = Automaton()
        let entries = rules.map { automaton.addRule([$0], tag: 0) }
        let start = automaton.addUnion(entries)
        return (LazyDFA(automaton), start)
    }()
}
