import Foundation

/// A `tokenizers` normalizer of the kinds SentencePiece conversions write.
indirect enum UnigramNormalizer: Sendable {
    case sequence([UnigramNormalizer])
    case precompiled(PrecompiledCharsmap)
    case replace(TextPattern, [Unicode.Scalar])
    case strip(left: Bool, right: Bool)
    case prepend([Unicode.Scalar])
    case unicode(UnicodeForm)
    case lowercase
    case stripAccents

    func apply(_ text: inout NormalizedText) {
        switch self {
        case .sequence(let list): for n in list { n.apply(&text) }
        case .precompiled(let map): text.applyPrecompiled(map)
        case let .replace(pattern, content): text.replace(pattern.matches(in: text.scalars), with: content)
        case let .strip(left, right): text.strip(left: left, right: right)
        case .prepend(let s): text.prepend(s)
        case .unicode(let form): text.unicodeNormalize(form)
        case .lowercase: text.lowercase()
        case .stripAccents:
            // unicode-normalization's `is_combining_mark`: general categories Mn, Mc, Me.
            text.filter { s in
                switch s.properties.generalCategory {
                case .nonspacingMark, .spacingMark, .enclosingMark: return false
                default: return true
                }
            }
        }
    }

    /// The normalised scalars of `s` (for added tokens with `normalized: true`).
    func normalize(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var text = NormalizedText(s[...])
        apply(&text)
        return text.scalars
    }
}

/// A `Replace` pattern: a literal string or a regular expression (Foundation's ICU engine, which agrees
/// with `tokenizers`' Oniguruma on the simple patterns conversions write, such as `" {2,}"`).
struct TextPattern: @unchecked Sendable {  // NSRegularExpression is immutable and thread-safe.
    let literal: [Unicode.Scalar]?
    let regex: NSRegularExpression?

    init(literal: String) {
        self.literal = Array(literal.unicodeScalars)
        regex = nil
    }

    init(regex: NSRegularExpression) {
        literal = nil
        self.regex = regex
    }

    /// Non-overlapping matches, leftmost first, as scalar ranges.
    func matches(in scalars: [Unicode.Scalar]) -> [Range<Int>] {
        if let p = literal {
            guard let first = p.first, scalars.count >= p.count else { return [] }
            var out: [Range<Int>] = []
            var i = 0
            while i + p.count <= scalars.count {
                if scalars[i] == first && scalars[i..<(i + p.count)].elementsEqual(p) {
                    out.append(i..<(i + p.count))
                    i += p.count
                } else {
                    i += 1
                }
            }
            return out
        }
        guard let regex, !scalars.isEmpty else { return [] }
        let string = NormalizedText.string(scalars[...])
        // UTF-16 offset → scalar index.
        var scalarAt = [Int](repeating: 0, count: string.utf16.count + 1)
        var u = 0
        for (k, s) in scalars.enumerated() {
            let w = s.value > 0xFFFF ? 2 : 1
            for j in 0..<w { scalarAt[u + j] = k }
            u += w
        }
        scalarAt[u] = scalars.count
        return regex.matches(in: string, range: NSRange(location: 0, length: u)).map {
            scalarAt[$0.range.location]..<scalarAt[$0.range.location + $0.range.length]
        }
    }

    /// `s` with every match replaced by `content` (the `Replace` decoder).
    func replacing(in s: String, with content: String) -> String {
        let scalars = Array(s.unicodeScalars)
        let found = matches(in: scalars)
        guard !found.isEmpty else { return s }
        var out = String.UnicodeScalarView()
        var last = 0
        for m in found {
            out.append(contentsOf: scalars[last..<m.lowerBound])
            out.append(contentsOf: content.unicodeScalars)
            last = m.upperBound
        }
        out.append(contentsOf: scalars[last...])
        return String(out)
    }
}

/// `tokenizers`' Metaspace `prepend_scheme`.
enum PrependScheme: String, Sendable {
    case always, first, never
}

/// A `tokenizers` pre-tokenizer of the kinds SentencePiece conversions write.
indirect enum UnigramPreTokenizer: Sendable {
    case sequence([UnigramPreTokenizer])
    case whitespaceSplit
    case metaspace(replacement: Unicode.Scalar, scheme: PrependScheme, split: Bool)

    func apply(_ pieces: [NormalizedText]) -> [NormalizedText] {
        switch self {
        case .sequence(let list):
            return list.reduce(pieces) { $1.apply($0) }
        case .whitespaceSplit:
            return pieces.flatMap { $0.split(removing: { $0.properties.isWhitespace }) }
        case let .metaspace(replacement, scheme, split):
            return pieces.flatMap { piece -> [NormalizedText] in
                var p = piece
                p.replace(p.scalars.indices.filter { p.scalars[$0] == " " }.map { $0..<($0 + 1) }, with: [replacement])
                let startsWith = p.scalars.first == replacement
                switch scheme {
                case .always: if !startsWith { p.prepend([replacement]) }
                case .first: if !startsWith && p.shift == 0 { p.prepend([replacement]) }
                case .never: break
                }
                return (split ? p.splitMergedWithNext(replacement) : [p]).filter { !$0.isEmpty }
            }
        }
    }
}

/// A `tokenizers` decoder of the kinds SentencePiece conversions write.
indirect enum UnigramDecoder: Sendable {
    case sequence([UnigramDecoder])
    case metaspace(replacement: Unicode.Scalar, scheme: PrependScheme)
    case replace(TextPattern, String)
    case byteFallback
    case fuse
    case strip(content: Unicode.Scalar, start: Int, stop: Int)

    /// `Decoder::decode_chain`.
    func decodeChain(_ tokens: [String]) -> [String] {
        switch self {
        case .sequence(let list):
            return list.reduce(tokens) { $1.decodeChain($0) }
        case let .metaspace(replacement, scheme):
            // Every replacement character of the first token is dropped (not only a leading one).
            return tokens.enumerated().map { i, token in
                var out = String.UnicodeScalarView()
                for c in token.unicodeScalars {
                    if c == replacement {
                        if !(i == 0 && scheme != .never) { out.append(" ") }
                    } else {
                        out.append(c)
                    }
                }
                return String(out)
            }
        case let .replace(pattern, content):
            return tokens.map { pattern.replacing(in: $0, with: content) }
        case .byteFallback:
            return Self.byteFallback(tokens)
        case .fuse:
            return [tokens.joined()]
        case let .strip(content, start, stop):
            return tokens.map { token in
                let chars = Array(token.unicodeScalars)
                var startCut = 0
                for i in 0..<min(start, chars.count) {
                    guard chars[i] == content else { break }
                    startCut = i + 1
                }
                var stopCut = chars.count
                for i in 0..<min(stop, chars.count) {
                    let index = chars.count - i - 1
                    guard chars[index] == content else { break }
                    stopCut = index
                }
                guard startCut < stopCut else { return "" }
                var out = String.UnicodeScalarView()
                out.append(contentsOf: chars[startCut..<stopCut])
                return String(out)
            }
        }
    }

    /// Runs of `<0xXX>` tokens become their UTF-8 text, or one U+FFFD per byte when not valid UTF-8.
    private static func byteFallback(_ tokens: [String]) -> [String] {
        var out: [String] = []
        var pending: [UInt8] = []
        func flush() {
            guard !pending.isEmpty else { return }
            if let s = String(validating: pending, as: UTF8.self) {
                out.append(s)
            } else {
                out += repeatElement("\u{FFFD}", count: pending.count)
            }
            pending.removeAll()
        }
        for token in tokens {
            let u = Array(token.utf8)
            if u.count == 6, u.starts(with: Array("<0x".utf8)), u[5] == UInt8(ascii: ">"), u[3] != UInt8(ascii: "-"),
               let byte = UInt8(String(decoding: u[3..<5], as: UTF8.self), radix: 16) {
                pending.append(byte)
            } else {
                flush()
                out.append(token)
            }
        }
        flush()
        return out
    }
}
