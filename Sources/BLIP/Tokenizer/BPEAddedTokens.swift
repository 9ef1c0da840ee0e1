/// An added token of a byte-level BPE tokenizer (an entry of tokenizer.json's `added_tokens` or of
/// tokenizer_config.json's `added_tokens_decoder`): the same record as the BERT tokenizer's.
public typealias BPEAddedToken = AddedToken

extension BPEAddedToken {
    /// Same content and flags (the id aside), as `tokenizers` compares added tokens.
    func hasSameDefinition(as other: BPEAddedToken) -> Bool {
        content.utf8.elementsEqual(other.content.utf8) && special == other.special && normalized == other.normalized
            && lstrip == other.lstrip && rstrip == other.rstrip && singleWord == other.singleWord
    }
}

/// Splits text on added tokens the way `tokenizers`' `AddedVocabulary::find_matches` does:
/// non-overlapping leftmost-longest matches (the Aho-Corasick `LeftmostLongest` kind), a
/// `single_word` match that touches a word character is dropped (the search goes on after it),
/// `lstrip` / `rstrip` widen the match over neighbouring whitespace (not into an earlier match).
struct BPEAddedTokens: Sendable {
    enum Piece {
        case token(Int)
        case text(ArraySlice<Unicode.Scalar>)
    }

    private struct Pattern: Sendable {
        var scalars: [Unicode.Scalar]
        var token: BPEAddedToken
    }

    /// Patterns by first scalar, longest first.
    private let byFirst: [Unicode.Scalar: [Pattern]]

    init(_ tokens: [BPEAddedToken]) {
        var map: [Unicode.Scalar: [Pattern]] = [:]
        for token in tokens {
            let scalars = Array(token.content.unicodeScalars)
            guard let first = scalars.first else { continue }
            if map[first]?.contains(where: { $0.scalars == scalars }) == true { continue }
            map[first, default: []].append(Pattern(scalars: scalars, token: token))
        }
        for key in map.keys { map[key]!.sort { $0.scalars.count > $1.scalars.count } }
        byFirst = map
    }

    /// Added-token ids and the (non-empty) text between them.
    func split(_ text: ArraySlice<Unicode.Scalar>) -> [Piece] {
        if byFirst.isEmpty { return text.isEmpty ? [] : [.text(text)] }
        var pieces: [Piece] = []
        var segmentStart = text.startIndex
        var i = text.startIndex
        while i < text.endIndex {
            guard let candidates = byFirst[text[i]],
                  let pattern = candidates.first(where: { matches($0.scalars, in: text, at: i) }) else {
                i += 1
                continue
            }
            var start = i
            var stop = i + pattern.scalars.count
            i = stop
            let token = pattern.token
            if token.singleWord {
                if start > text.startIndex, ByteLevel.isWordScalar(text[start - 1]) { continue }
                if stop < text.endIndex, ByteLevel.isWordScalar(text[stop]) { continue }
            }
            if token.lstrip {
                while start > segmentStart && text[start - 1].properties.isWhitespace { start -= 1 }
            }
            if token.rstrip {
                while stop < text.endIndex && text[stop].properties.isWhitespace { stop += 1 }
            }
            if segmentStart < start { pieces.append(.text(text[segmentStart..<start])) }
            pieces.append(.token(token.id))
            segmentStart = stop
            i = stop
        }
        if segmentStart < text.endIndex { pieces.append(.text(text[segmentStart..<text.endIndex])) }
        return pieces
    }

    @inline(__always)
    private func matches(_ p: [Unicode.Scalar], in text: ArraySlice<Unicode.Scalar>, at i: Int) -> Bool {
        guard text.endIndex - i >= p.count else { return false }
        for k in 0..<p.count where text[i + k] != p[k] { return false }
        return true
    }
}
