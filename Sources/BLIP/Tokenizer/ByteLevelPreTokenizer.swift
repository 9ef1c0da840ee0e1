/// The GPT-2 byte-level pieces of the `tokenizers` crate: the byte ↔ unicode map, the GPT-2
/// pre-tokenisation regex (hand-written over Unicode scalars), and the byte-level decoder.
enum ByteLevel {
    /// `bytes_to_unicode()`: printable Latin-1 bytes map to themselves, the other 68 bytes to
    /// U+0100… in byte order (space → `Ġ` U+0120, newline → `Ċ` U+010A).
    static let byteToScalar: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: "\0", count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            let printable = (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
            if printable {
                table[b] = Unicode.Scalar(UInt32(b))!
            } else {
                table[b] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return table
    }()

    /// Inverse of ``byteToScalar``, indexed by scalar value (all mapped scalars are below U+0144).
    static let scalarToByte: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        for (b, s) in byteToScalar.enumerated() { table[Int(s.value)] = Int16(b) }
        return table
    }()

    /// The byte a byte-level character stands for, or nil for any other scalar.
    @inline(__always)
    static func byte(for scalar: Unicode.Scalar) -> UInt8? {
        let v = Int(scalar.value)
        guard v < scalarToByte.count else { return nil }
        let b = scalarToByte[v]
        return b < 0 ? nil : UInt8(b)
    }

    /// The byte-level spelling of raw bytes (`Ġhello` for `" hello"`).
    static func encodeBytes<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var view = String.UnicodeScalarView()
        for b in bytes { view.append(byteToScalar[Int(b)]) }
        return String(view)
    }

    /// The raw bytes of a byte-level token, or nil when some scalar is not a byte-level character.
    static func decodeToken(_ token: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(token.utf8.count)
        for s in token.unicodeScalars {
            guard let b = byte(for: s) else { return nil }
            out.append(b)
        }
        return out
    }

    /// The `ByteLevel` decoder: each token's characters back to bytes (a token with any other
    /// character contributes its own UTF-8), then lossy UTF-8 (U+FFFD for each maximal invalid
    /// subsequence, like Rust's `String::from_utf8_lossy`).
    static func decode(_ tokens: [String]) -> String {
        var bytes: [UInt8] = []
        for token in tokens {
            if let raw = decodeToken(token) { bytes.append(contentsOf: raw) } else { bytes.append(contentsOf: token.utf8) }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: - Pre-tokenisation

    enum Kind { case letter, number, space, other }

    @inline(__always)
    static func kind(_ s: Unicode.Scalar) -> Kind {
        let v = s.value
        if v < 0x80 {
            switch v {
            case 0x61...0x7A, 0x41...0x5A: return .letter
            case 0x30...0x39: return .number
            case 0x09...0x0D, 0x20: return .space
            default: return .other
            }
        }
        let p = s.properties
        if p.isWhitespace { return .space }
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return isNewerThanReference(p) ? .other : .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return isNewerThanReference(p) ? .other : .number
        default: return .other
        }
    }

    /// Whether the scalar was assigned after Unicode 16.0, the version of the Oniguruma tables in
    /// `tokenizers` 0.23 (and of Rust's `regex`): there it is still unassigned, so neither a letter,
    /// a number nor a word character. (Swift's own tables may be newer.)
    @inline(__always)
    static func isNewerThanReference(_ p: Unicode.Scalar.Properties) -> Bool {
        guard let age = p.age else { return true }
        return age.major > 16
    }

    /// Splits `text` as the GPT-2 pattern
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+` does (leftmost-first
    /// alternation; `\s` is Unicode White_Space, as in Oniguruma and Rust). Returns index ranges
    /// that cover `text` exactly.
    static func split(_ text: ArraySlice<Unicode.Scalar>) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        let end = text.endIndex
        var kinds: [Kind] = []
        kinds.reserveCapacity(text.count)
        for s in text { kinds.append(kind(s)) }
        let base = text.startIndex
        @inline(__always) func k(_ i: Int) -> Kind { kinds[i - base] }
        var i = text.startIndex
        while i < end {
            let c = text[i]
            // 's 't 're 've 'm 'll 'd (case-sensitive, ASCII apostrophe only).
            if c == "'", i + 1 < end {
                let c1 = text[i + 1]
                if c1 == "s" || c1 == "t" || c1 == "m" || c1 == "d" {
                    ranges.append(i..<(i + 2)); i += 2; continue
                }
                if i + 2 < end {
                    let c2 = text[i + 2]
                    if (c1 == "r" && c2 == "e") || (c1 == "v" && c2 == "e") || (c1 == "l" && c2 == "l") {
                        ranges.append(i..<(i + 3)); i += 3; continue
                    }
                }
            }
            // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: an optional U+0020 then a run of one class.
            let start = (c == " " && i + 1 < end && k(i + 1) != .space) ? i + 1 : i
            let cls = k(start)
            if cls != .space {
                var j = start + 1
                while j < end && k(j) == cls { j += 1 }
                ranges.append(i..<j); i = j; continue
            }
            // `\s+(?!\S)` then `\s+`.
            var j = i + 1
            while j < end && k(j) == .space { j += 1 }
            if j < end && j - i >= 2 { j -= 1 }
            ranges.append(i..<j)
            i = j
        }
        return ranges
    }

    // MARK: - Character classes of Rust's `regex` crate (added-token matching)

    /// Rust regex `\w`: Alphabetic, marks, decimal digits, connector punctuation, Join_Control.
    static func isWordScalar(_ s: Unicode.Scalar) -> Bool {
        let p = s.properties
        if p.isJoinControl { return true }
        if isNewerThanReference(p) { return false }
        if p.isAlphabetic { return true }
        switch p.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
        default: return false
        }
    }
}
