/// Greedy longest-match-first WordPiece over a byte-exact vocabulary.
///
/// Lookups compare UTF-8 bytes, not canonically-equivalent `String`s: Swift's `String` equality
/// would treat a decomposed Hangul syllable (as produced by accent stripping) as equal to the
/// precomposed vocabulary entry, which the reference implementation does not.
struct WordPiece: Sendable {
    /// Whole-word pieces (no prefix), keyed by UTF-8 bytes.
    private let starts: [ArraySlice<UInt8>: Int]
    /// Continuation pieces, keyed by their UTF-8 bytes *without* the continuation prefix.
    private let continuations: [ArraySlice<UInt8>: Int]
    /// Longest vocabulary entry in bytes (bounds the search window).
    private let maxPieceBytes: Int
    let unkId: Int
    let maxInputCharsPerWord: Int

    /// - Parameters:
    ///   - vocab: token → id (byte-exact keys).
    ///   - prefix: continuation prefix, `##` for BERT.
    init(vocab: [ArraySlice<UInt8>: Int], prefix: String, unkId: Int, maxInputCharsPerWord: Int) {
        let prefixBytes = Array(prefix.utf8)
        var starts: [ArraySlice<UInt8>: Int] = [:]
        var continuations: [ArraySlice<UInt8>: Int] = [:]
        starts.reserveCapacity(vocab.count)
        var maxBytes = 1
        for (key, id) in vocab {
            starts[key] = id
            if !prefixBytes.isEmpty, key.count >= prefixBytes.count, key.starts(with: prefixBytes) {
                continuations[ArraySlice(Array(key.dropFirst(prefixBytes.count)))] = id
            }
            maxBytes = max(maxBytes, key.count)
        }
        self.starts = starts
        self.continuations = continuations
        self.maxPieceBytes = maxBytes
        self.unkId = unkId
        self.maxInputCharsPerWord = maxInputCharsPerWord
    }

    /// Splits one word into ids; a word with more than `maxInputCharsPerWord` scalars, or one that
    /// cannot be covered by vocabulary pieces, becomes the single unknown id.
    func encode(_ word: ArraySlice<Unicode.Scalar>, into ids: inout [Int]) {
        if word.count > maxInputCharsPerWord {
            ids.append(unkId)
            return
        }
        // UTF-8 bytes of the word plus the byte offset of every scalar boundary.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(word.count * 2)
        var boundaries: [Int] = [0]
        boundaries.reserveCapacity(word.count + 1)
        for s in word {
            UTF8.encode(s) { bytes.append($0) }
            boundaries.append(bytes.count)
        }
        let mark = ids.count
        var startIndex = 0  // index into boundaries
        let last = boundaries.count - 1
        while startIndex < last {
            let table = startIndex == 0 ? starts : continuations
            let startByte = boundaries[startIndex]
            var endIndex = last
            while endIndex > startIndex && boundaries[endIndex] - startByte > maxPieceBytes {
                endIndex -= 1
            }
            var found: Int? = nil
            while endIndex > startIndex {
                if let id = table[bytes[startByte..<boundaries[endIndex]]] {
                    found = id
                    break
                }
                endIndex -= 1
            }
            guard let id = found else {
                ids.removeSubrange(mark...)
                ids.append(unkId)
                return
            }
            ids.append(id)
            startIndex = endIndex
        }
    }
}
