/// The SentencePiece Unigram model as `tokenizers`' `models::unigram::Unigram` runs it: a byte trie over
/// the pieces, Viterbi over the UTF-8 bytes of each pre-tokenised piece (`encode_optimized`), an unknown
/// character scored `min score − 10`, consecutive unknowns fused into one token, and byte fallback
/// (`<0xXX>` pieces) for tokens outside the vocabulary when enabled.
struct UnigramModel: Sendable {
    /// Pieces and scores by id (duplicates kept, as in `tokenizers`' `vocab`).
    let pieces: [String]
    let scores: [Double]
    /// Piece bytes → id; a later duplicate wins (`token_to_ids` is filled in order).
    let ids: [[UInt8]: Int]
    let unkId: Int?
    let byteFallback: Bool
    let minScore: Double
    private let trie: ByteTrie
    /// `<0xXX>` ids by byte when byte fallback is on.
    private let byteIds: [Int?]

    /// `tokenizers`' `K_UNK_PENALTY`.
    static let unknownPenalty = 10.0

    /// - Throws: a message (the caller names the file) when `unkId` is outside the vocabulary, as
    ///   `Unigram::from` refuses it.
    init(vocab: [(piece: String, score: Double)], unkId: Int?, byteFallback: Bool) throws(UnigramModelError) {
        if let unkId {
            if vocab.isEmpty { throw .emptyVocabulary }
            if unkId < 0 || unkId >= vocab.count { throw .unkIdOutsideVocabulary(unkId, vocab.count) }
        }
        var pieces: [String] = [], scores: [Double] = []
        pieces.reserveCapacity(vocab.count)
        scores.reserveCapacity(vocab.count)
        var ids: [[UInt8]: Int] = [:]
        ids.reserveCapacity(vocab.count)
        var minScore = Double.infinity
        for (id, entry) in vocab.enumerated() {
            pieces.append(entry.piece)
            scores.append(entry.score)
            ids[Array(entry.piece.utf8)] = id
            if entry.score < minScore { minScore = entry.score }
        }
        self.pieces = pieces
        self.scores = scores
        self.ids = ids
        self.unkId = unkId
        self.byteFallback = byteFallback
        self.minScore = minScore
        trie = ByteTrie(ids)
        var byteIds = [Int?](repeating: nil, count: 256)
        if byteFallback {
            let hex = Array("0123456789ABCDEF".utf8)
            for b in 0..<256 {
                byteIds[b] = ids[Array("<0x".utf8) + [hex[b >> 4], hex[b & 15], UInt8(ascii: ">")]]
            }
        }
        self.byteIds = byteIds
    }

    var count: Int { pieces.count }

    /// Appends the ids of one pre-tokenised piece (UTF-8 bytes of valid text).
    func encode(_ bytes: [UInt8], into out: inout [Int]) {
        let size = bytes.count
        guard size > 0 else { return }
        let unkScore = minScore - Self.unknownPenalty
        // Best path ending at each byte position: score, start of its last token, token id.
        var best = [Double](repeating: 0, count: size + 1)
        var startOf = [Int](repeating: -1, count: size + 1)
        var idOf = [Int](repeating: -1, count: size + 1)
        var start = 0
        while start < size {
            let here = best[start]
            let charLength = Self.utf8Length(bytes[start])
            var hasSingleNode = false
            trie.forEachPrefix(of: bytes, from: start) { end, id in
                let candidate = scores[id] + here
                if startOf[end] < 0 || candidate > best[end] {
                    best[end] = candidate
                    startOf[end] = start
                    idOf[end] = id
                }
                if end - start == charLength { hasSingleNode = true }
            }
            if !hasSingleNode {
                let end = min(start + charLength, size)
                let candidate = unkScore + here
                if startOf[end] < 0 || candidate > best[end] {
                    best[end] = candidate
                    startOf[end] = start
                    idOf[end] = unkId ?? -1
                }
            }
            start += charLength
        }
        // Backtrack, fusing runs of unknown tokens.
        var tokens: [(Range<Int>, isUnknown: Bool)] = []
        var end = size
        while end > 0 {
            let s = startOf[end]
            guard s >= 0 else { break }
            let isUnknown = idOf[end] == (unkId ?? -1)
            if isUnknown, let last = tokens.last, last.isUnknown {
                tokens[tokens.count - 1] = (s..<last.0.upperBound, true)
            } else {
                tokens.append((s..<end, isUnknown))
            }
            end = s
        }
        for (range, _) in tokens.reversed() {
            let piece = Array(bytes[range])
            if let id = ids[piece] {
                out.append(id)
            } else if byteFallback, case let fallback = piece.compactMap({ byteIds[Int($0)] }),
                      fallback.count == piece.count {
                out += fallback
            } else if let unkId {
                out.append(unkId)
            }
            // Without an unk id `tokenizers` fails the whole encode ("unk_id is missing"); the piece is dropped.
        }
    }

    /// Length of the UTF-8 sequence a lead byte starts (1 for stray continuation bytes).
    @inline(__always)
    static func utf8Length(_ lead: UInt8) -> Int {
        switch lead {
        case 0xF0...: return 4
        case 0xE0...: return 3
        case 0xC0...: return 2
        default: return 1
        }
    }
}

/// Why a Unigram vocabulary is refused (`tokenizers`' `UnigramError`).
enum UnigramModelError: Error, Sendable, Equatable, CustomStringConvertible {
    case emptyVocabulary
    case unkIdOutsideVocabulary(Int, Int)

    var description: String {
        switch self {
        case .emptyVocabulary: return "the vocabulary is empty but at least <unk> is needed"
        case let .unkIdOutsideVocabulary(id, count): return "unk_id \(id) is outside the vocabulary of \(count) pieces"
        }
    }
}

/// A byte trie over the pieces (`tokenizers`' unigram `Trie<u8>`), stored flat: each node's edges are a
/// sorted run of (label, child) pairs.
struct ByteTrie: Sendable {
    private var edgeStart: [Int32] = []
    private var labels: [UInt8] = []
    private var targets: [Int32] = []
    /// The piece id of the node (−1 when no piece ends there).
    private var leaf: [Int32] = []

    init(_ ids: [[UInt8]: Int]) {
        var children: [[UInt8: Int32]] = [[:]]
        var leafIds: [Int32] = [-1]
        for (piece, id) in ids where !piece.isEmpty {
            var node = 0
            for b in piece {
                if let next = children[node][b] {
                    node = Int(next)
                } else {
                    children.append([:])
                    leafIds.append(-1)
                    let next = Int32(children.count - 1)
                    children[node][b] = next
                    node = Int(next)
                }
            }
            leafIds[node] = Int32(id)
        }
        edgeStart.reserveCapacity(children.count + 1)
        for node in children {
            edgeStart.append(Int32(labels.count))
            for (label, child) in node.sorted(by: { $0.key < $1.key }) {
                labels.append(label)
                targets.append(child)
            }
        }
        edgeStart.append(Int32(labels.count))
        leaf = leafIds
    }

    /// Calls `body(end, id)` for every piece that is a prefix of `bytes[start...]`, shortest first.
    @inline(__always)
    func forEachPrefix(of bytes: [UInt8], from start: Int, _ body: (Int, Int) -> Void) {
        var node = 0
        var i = start
        while i < bytes.count {
            guard let next = child(of: node, bytes[i]) else { return }
            node = next
            i += 1
            let id = leaf[node]
            if id >= 0 { body(i, Int(id)) }
        }
    }

    @inline(__always)
    private func child(of node: Int, _ label: UInt8) -> Int? {
        var lo = Int(edgeStart[node]), hi = Int(edgeStart[node + 1])
        while lo < hi {
            let mid = (lo + hi) >> 1
            let l = labels[mid]
            if l == label { return Int(targets[mid]) }
            if l < label { lo = mid + 1 } else { hi = mid }
        }
        return nil
    }
}
