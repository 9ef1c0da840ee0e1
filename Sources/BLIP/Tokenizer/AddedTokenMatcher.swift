/// Finds added tokens (such as `[CLS]`, `[SEP]`, `[DEC]`) in text, leftmost-longest, the way the
/// `tokenizers` added vocabulary does before normalisation and pre-tokenisation.
struct AddedTokenMatcher: Sendable {
    /// A piece of the input: either an added token's id or text still to be tokenised.
    enum Piece {
        case token(Int)
        case text(ArraySlice<Unicode.Scalar>)
    }

    private struct Pattern: Sendable {
        var scalars: [Unicode.Scalar]
        var token: AddedToken
    }

    /// Patterns grouped by first scalar, longest first.
    private let byFirst: [Unicode.Scalar: [Pattern]]

    var isEmpty: Bool { byFirst.isEmpty }

    /// - Parameter transform: applied to each token's content before matching (the normaliser for
    ///   `normalized` tokens, identity otherwise).
    init(_ tokens: [AddedToken], transform: ([Unicode.Scalar]) -> [Unicode.Scalar] = { $0 }) {
        var map: [Unicode.Scalar: [Pattern]] = [:]
        for token in tokens {
            let scalars = transform(Array(token.content.unicodeScalars))
            guard let first = scalars.first else { continue }
            map[first, default: []].append(Pattern(scalars: scalars, token: token))
        }
        for key in map.keys { map[key]!.sort { $0.scalars.count > $1.scalars.count } }
        byFirst = map
    }

    /// Splits `text` into added-token ids and the text between them.
    func split(_ text: ArraySlice<Unicode.Scalar>) -> [Piece] {
        if byFirst.isEmpty { return text.isEmpty ? [] : [.text(text)] }
        var pieces: [Piece] = []
        var segmentStart = text.startIndex
        var i = text.startIndex
        while i < text.endIndex {
            guard let candidates = byFirst[text[i]],
                  let pattern = candidates.first(where: { matches($0, in: text, at: i) }) else {
                i += 1
                continue
            }
            var matchStart = i
            var matchEnd = i + pattern.scalars.count
            if pattern.token.lstrip {
                while matchStart > segmentStart && text[matchStart - 1].properties.isWhitespace { matchStart -= 1 }
            }
            if pattern.token.rstrip {
                while matchEnd < text.endIndex && text[matchEnd].properties.isWhitespace { matchEnd += 1 }
            }
            if segmentStart < matchStart { pieces.append(.text(text[segmentStart..<matchStart])) }
            pieces.append(.token(pattern.token.id))
            segmentStart = matchEnd
            i = matchEnd
        }
        if segmentStart < text.endIndex { pieces.append(.text(text[segmentStart..<text.endIndex])) }
        return pieces
    }

    private func matches(_ pattern: Pattern, in text: ArraySlice<Unicode.Scalar>, at i: Int) -> Bool {
        let p = pattern.scalars
        guard text.endIndex - i >= p.count else { return false }
        for k in 0..<p.count where text[i + k] != p[k] { return false }
        if pattern.token.singleWord {
            func isWordScalar(_ s: Unicode.Scalar) -> Bool {
                s.properties.isAlphabetic || s.properties.numericType != nil || s == "_"
            }
            if i > text.startIndex, isWordScalar(text[i - 1]) { return false }
            let end = i + p.count
            if end < text.endIndex, isWordScalar(text[end]) { return false }
        }
        return true
    }
}
