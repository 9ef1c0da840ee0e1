import Foundation

/// The text normalisation and pre-tokenisation rules of BERT's "basic tokenizer", as Hugging Face
/// `tokenizers` implements them (`BertNormalizer` followed by `BertPreTokenizer`).
///
/// The steps, in order:
/// 1. **Clean text**: drop U+0000, U+FFFD and every control/format/private-use scalar
///    (general categories Cc, Cf, Co; `\t`, `\n`, `\r` excepted), and turn every whitespace scalar
///    (`\t`, `\n`, `\r` and the Unicode White_Space property) into a plain space.
/// 2. **CJK characters**: put spaces around every scalar in the CJK ideograph blocks BERT uses.
/// 3. **Strip accents** (when `stripAccents` is true, or when it is `nil` and `lowercase` is true):
///    canonical decomposition (NFD), then drop nonspacing marks (Mn).
/// 4. **Lowercase**: the full, context-free Unicode lowercase mapping of each scalar (so a final
///    capital sigma becomes `σ`, not `ς`, exactly as `tokenizers` does).
/// 5. **Split** on whitespace (dropped) and punctuation (each punctuation scalar its own word).
///    Punctuation is ASCII 33–47, 58–64, 91–96, 123–126 plus the Unicode P* categories.
///
/// Character classes (controls, punctuation, nonspacing marks) follow the Unicode 8.0 tables the
/// reference uses: scalars assigned after Unicode 8.0 count as unassigned (kept, not punctuation,
/// not stripped). Lower-casing uses the current Unicode tables, as the reference does.
///
/// Everything works on Unicode scalars, never on `Character`s (grapheme clusters), so combining
/// marks and emoji modifiers are handled scalar by scalar as in the reference.
public struct BasicTokenizer: Sendable {
    /// Lower-case the text.
    public var lowercase: Bool
    /// Strip accents; `nil` means "only when lower-casing" (the original BERT behaviour).
    public var stripAccents: Bool?
    /// Put spaces around CJK ideographs so each becomes its own word.
    public var handleChineseChars: Bool
    /// Remove control characters and normalise whitespace.
    public var cleanText: Bool

    /// Creates a basic tokenizer with BERT-uncased defaults.
    public init(lowercase: Bool = true, stripAccents: Bool? = nil, handleChineseChars: Bool = true,
                cleanText: Bool = true) {
        self.lowercase = lowercase
        self.stripAccents = stripAccents
        self.handleChineseChars = handleChineseChars
        self.cleanText = cleanText
    }

    /// Applies the normaliser (steps 1–4) to a run of scalars.
    public func normalize(_ input: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var scalars: [Unicode.Scalar] = []
        scalars.reserveCapacity(input.count + 8)
        for s in input {
            if cleanText {
                if s.value == 0 || s.value == 0xFFFD || Self.isControl(s) { continue }
                if Self.isWhitespace(s) { scalars.append(" "); continue }
            }
            if handleChineseChars && Self.isChineseChar(s) {
                scalars.append(" "); scalars.append(s); scalars.append(" ")
            } else {
                scalars.append(s)
            }
        }
        if stripAccents ?? lowercase {
            scalars = Self.stripAccents(scalars)
        }
        if lowercase {
            var lowered: [Unicode.Scalar] = []
            lowered.reserveCapacity(scalars.count)
            for s in scalars {
                if s.isASCII {
                    lowered.append(s.value >= 65 && s.value <= 90 ? Unicode.Scalar(s.value + 32)! : s)
                } else if s.properties.changesWhenLowercased {
                    lowered.append(contentsOf: s.properties.lowercaseMapping.unicodeScalars)
                } else {
                    lowered.append(s)
                }
            }
            scalars = lowered
        }
        return scalars
    }

    /// Splits normalised scalars into words: whitespace separates words and is dropped, each
    /// punctuation scalar becomes a word of its own.
    public func split(_ scalars: [Unicode.Scalar]) -> [ArraySlice<Unicode.Scalar>] {
        var words: [ArraySlice<Unicode.Scalar>] = []
        var start = scalars.startIndex
        var i = scalars.startIndex
        while i < scalars.endIndex {
            let s = scalars[i]
            if Self.isWhitespace(s) {
                if start < i { words.append(scalars[start..<i]) }
                start = i + 1
            } else if Self.isPunctuation(s) {
                if start < i { words.append(scalars[start..<i]) }
                words.append(scalars[i...i])
                start = i + 1
            }
            i += 1
        }
        if start < scalars.endIndex { words.append(scalars[start..<scalars.endIndex]) }
        return words
    }

    /// Normalises and splits `text` into words (as strings).
    public func tokenize(_ text: String) -> [String] {
        split(normalize(Array(text.unicodeScalars))).map { String(String.UnicodeScalarView($0)) }
    }

    // MARK: - Character classes

    /// `\t`, `\n`, `\r` and every scalar with the Unicode White_Space property except other
    /// controls (which are removed first).
    static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x20, 0x09, 0x0A, 0x0D: return true
        case 0..<0x80: return false
        default: return s.properties.isWhitespace
        }
    }

    /// The general category as the reference's Unicode 8.0 tables see it: scalars assigned later
    /// are unassigned there, and a few scalars changed category since.
    static func referenceCategory(_ s: Unicode.Scalar) -> Unicode.GeneralCategory {
        switch s.value {
        case 0x166D, 0x111C9: return .otherPunctuation
        case 0x1734, 0x1171E: return .nonspacingMark
        case 0x1885, 0x1886: return .otherLetter
        case 0xA9BD: return .spacingMark
        default: break
        }
        return isReferenceAssigned(s) ? s.properties.generalCategory : .unassigned
    }

    /// Whether the scalar was assigned by Unicode 8.0.
    static func isReferenceAssigned(_ s: Unicode.Scalar) -> Bool {
        guard let age = s.properties.age else { return false }
        return age.major < 8 || (age.major == 8 && age.minor == 0)
    }

    /// Cc, Cf and Co scalars other than `\t`, `\n`, `\r` (unassigned scalars are kept).
    static func isControl(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x09, 0x0A, 0x0D: return false
        case 0x20..<0x7F: return false
        default:
            switch referenceCategory(s) {
            case .control, .format, .privateUse, .surrogate: return true
            default: return false
            }
        }
    }

    /// ASCII 33–47, 58–64, 91–96, 123–126 and the Unicode punctuation categories.
    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if v < 0x80 {
            return (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v)
                || (123...126).contains(v)
        }
        switch referenceCategory(s) {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    /// The CJK ideograph ranges of BERT (CJK Unified Ideographs, Extensions A–E, Compatibility
    /// Ideographs and their Supplement). Hangul, Hiragana and Katakana are not included.
    ///
    /// Extension E starts at U+2B920 here, as in `tokenizers` (transformers 5's `BertTokenizer`);
    /// the original BERT and transformers' legacy Python tokenizer start it at U+2B820, so
    /// U+2B820–U+2B91F are not split off by this tokenizer.
    static func isChineseChar(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F,
             0x2B740...0x2B81F, 0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default:
            return false
        }
    }

    /// NFD, then drop nonspacing marks (Mn). ASCII runs skip the decomposition.
    static func stripAccents(_ scalars: [Unicode.Scalar]) -> [Unicode.Scalar] {
        if scalars.allSatisfy({ $0.isASCII }) { return scalars }
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(scalars.count)
        var run = String.UnicodeScalarView()
        func flush() {
            guard !run.isEmpty else { return }
            let decomposed = String(run).decomposedStringWithCanonicalMapping
            for d in decomposed.unicodeScalars where referenceCategory(d) != .nonspacingMark {
                out.append(d)
            }
            run = String.UnicodeScalarView()
        }
        for s in scalars {
            if s.isASCII || !isReferenceAssigned(s) {
                // Scalars newer than the reference's tables are not decomposed there.
                flush()
                out.append(s)
            } else {
                run.append(s)
            }
        }
        flush()
        return out
    }
}
