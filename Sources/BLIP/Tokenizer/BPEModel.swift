import Foundation

/// The `tokenizers` BPE model over byte-level words: symbols are vocabulary ids, merges are applied
/// lowest rank first (leftmost on ties) with a priority queue, as `Word::merge_all` does.
struct BPEModel: Sendable {
    /// Vocabulary id of each single byte's byte-level character (nil when the vocabulary lacks it).
    private let byteIds: [Int?]
    /// (left id, right id) → (rank, merged id).
    private let merges: [UInt64: (rank: Int32, id: Int32)]
    /// `unk_token` id, used for bytes without a vocabulary entry (dropped when nil).
    let unkId: Int?
    let fuseUnk: Bool
    /// `byte_fallback`: for a byte without a vocabulary entry, the ids of the `<0xXX>` tokens of its
    /// byte-level character's UTF-8 (`Ā` → `<0xC4>`, `<0x80>`), when all exist.
    private let fallbackIds: [[Int32]?]
    /// `ignore_merges`: a word that is itself a vocabulary entry is taken whole.
    let ignoreMerges: Bool
    /// Byte-level word (raw bytes) → id, for `ignore_merges`.
    private let wordIds: [[UInt8]: Int]
    private let cache = BPECache(capacity: 10_000)

    /// - Parameter vocab: raw bytes of each vocabulary entry that is spelled in byte-level
    ///   characters, with its id.
    init(vocab: [[UInt8]: Int], merges: [(rank: Int, left: Int, right: Int, merged: Int)], unkId: Int?,
         fuseUnk: Bool, byteFallback: Bool, fallbackVocab: [String: Int], ignoreMerges: Bool) {
        var byteIds = [Int?](repeating: nil, count: 256)
        var fallbackIds = [[Int32]?](repeating: nil, count: 256)
        for b in 0..<256 {
            byteIds[b] = vocab[[UInt8(b)]]
            guard byteFallback else { continue }
            let ids = String(ByteLevel.byteToScalar[b]).utf8.map { fallbackVocab[String(format: "<0x%02X>", $0)] }
            if ids.allSatisfy({ $0 != nil }) { fallbackIds[b] = ids.map { Int32($0!) } }
        }
        self.byteIds = byteIds
        self.fallbackIds = fallbackIds
        var table: [UInt64: (rank: Int32, id: Int32)] = [:]
        table.reserveCapacity(merges.count)
        for m in merges {  // later duplicates win, as when Rust collects into a map
            table[Self.key(m.left, m.right)] = (Int32(truncatingIfNeeded: m.rank), Int32(truncatingIfNeeded: m.merged))
        }
        self.merges = table
        self.unkId = unkId
        self.fuseUnk = fuseUnk
        self.ignoreMerges = ignoreMerges
        self.wordIds = ignoreMerges ? vocab : [:]
    }

    @inline(__always)
    private static func key(_ a: Int, _ b: Int) -> UInt64 {
        UInt64(UInt32(truncatingIfNeeded: a)) << 32 | UInt64(UInt32(truncatingIfNeeded: b))
    }

    /// Appends the ids of one pre-tokenised word (its raw UTF-8 bytes) to `ids`.
    func encode(_ word: ArraySlice<UInt8>, into ids: inout [Int]) {
        guard !word.isEmpty else { return }
        if ignoreMerges, let id = wordIds[Array(word)] { ids.append(id); return }
        let cacheable = word.count < 256
        let key = cacheable ? Array(word) : []
        if cacheable, let hit = cache[key] { ids.append(contentsOf: hit); return }
        let result = merge(word)
        if cacheable { cache[key] = result }
        ids.append(contentsOf: result)
    }

    private struct Symbol {
        var id: Int32
        var prev: Int32
        var next: Int32
        var alive: Bool
    }

    private func merge(_ word: ArraySlice<UInt8>) -> [Int] {
        // Initial symbols, one per byte (unknown bytes: byte fallback, unk, or dropped).
        var initial: [Int32] = []
        initial.reserveCapacity(word.count)
        var pendingUnk = false
        for b in word {
            if let id = byteIds[Int(b)] {
                if pendingUnk, let unkId { initial.append(Int32(unkId)) }
                pendingUnk = false
                initial.append(Int32(id))
            } else if let ids = fallbackIds[Int(b)] {
                // byte_fallback goes before unk; it does not flush a pending unk (as in Rust).
                initial.append(contentsOf: ids)
            } else if unkId != nil {
                if pendingUnk && !fuseUnk { initial.append(Int32(unkId!)) }
                pendingUnk = true
            }
        }
        if pendingUnk, let unkId { initial.append(Int32(unkId)) }
        let n = initial.count
        if n < 2 { return initial.map(Int.init) }

        var symbols = [Symbol]()
        symbols.reserveCapacity(n)
        for (i, id) in initial.enumerated() {
            symbols.append(Symbol(id: id, prev: Int32(i - 1), next: i + 1 < n ? Int32(i + 1) : -1, alive: true))
        }
        var heap = MergeHeap()
        for i in 0..<(n - 1) {
            if let m = merges[Self.key(Int(initial[i]), Int(initial[i + 1]))] {
                heap.push(MergeHeap.Entry(rank: m.rank, pos: Int32(i), id: m.id))
            }
        }
        while let top = heap.pop() {
            let pos = Int(top.pos)
            guard symbols[pos].alive, symbols[pos].next >= 0 else { continue }
            let nextPos = Int(symbols[pos].next)
            let right = symbols[nextPos]
            guard let m = merges[Self.key(Int(symbols[pos].id), Int(right.id))], m.id == top.id else { continue }
            symbols[pos].id = top.id
            symbols[pos].next = right.next
            symbols[nextPos].alive = false
            if right.next >= 0 { symbols[Int(right.next)].prev = Int32(pos) }
            let prev = symbols[pos].prev
            if prev >= 0, let pm = merges[Self.key(Int(symbols[Int(prev)].id), Int(top.id))] {
                heap.push(MergeHeap.Entry(rank: pm.rank, pos: prev, id: pm.id))
            }
            let next = symbols[pos].next
            if next >= 0, let nm = merges[Self.key(Int(top.id), Int(symbols[Int(next)].id))] {
                heap.push(MergeHeap.Entry(rank: nm.rank, pos: Int32(pos), id: nm.id))
            }
        }
        var out: [Int] = []
        var i: Int32 = 0
        while i >= 0 {
            out.append(Int(symbols[Int(i)].id))
            i = symbols[Int(i)].next
        }
        return out
    }
}

/// A binary min-heap of pending merges ordered by (rank, position).
private struct MergeHeap {
    struct Entry {
        var rank: Int32
        var pos: Int32
        var id: Int32
        @inline(__always)
        static func < (a: Entry, b: Entry) -> Bool { a.rank != b.rank ? a.rank < b.rank : a.pos < b.pos }
    }

    private var items: [Entry] = []

    mutating func push(_ e: Entry) {
        items.append(e)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[i] < items[parent] else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Entry? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if items.isEmpty { return first }
        items[0] = last
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < items.count && items[l] < items[m] { m = l }
            if r < items.count && items[r] < items[m] { m = r }
            if m == i { break }
            items.swapAt(i, m)
            i = m
        }
        return first
    }
}

/// Word → ids cache shared by copies of a tokenizer (bounded like the Rust cache: no more entries
/// once full).
final class BPECache: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [[UInt8]: [Int]] = [:]
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    subscript(key: [UInt8]) -> [Int]? {
        get { lock.lock(); defer { lock.unlock() }; return storage[key] }
        set {
            lock.lock(); defer { lock.unlock() }
            if storage.count < capacity { storage[key] = newValue }
        }
    }
}

/// What the post-processor adds around a single sequence.
enum BPEPostProcessor: Sendable {
    /// Template pieces: nil is the sequence (`$A`), otherwise special-token ids.
    case template([[Int]?])
    /// `Sequence` of processors, applied in order.
    case sequence([BPEPostProcessor])

    static let none = BPEPostProcessor.sequence([])

    func apply(_ ids: [Int]) -> [Int] {
        switch self {
        case .template(let pieces):
            var out: [Int] = []
            out.reserveCapacity(ids.count + pieces.count)
            for piece in pieces { if let special = piece { out += special } else { out += ids } }
            return out
        case .sequence(let list):
            return list.reduce(ids) { $1.apply($0) }
        }
    }

    /// First and last special ids around the sequence (used for bos / eos when no config names them).
    var surroundingIds: (leading: Int?, trailing: Int?) {
        switch self {
        case .template(let pieces):
            guard let a = pieces.firstIndex(where: { $0 == nil }) else { return (nil, nil) }
            return (pieces[..<a].last??.last, pieces[(a + 1)...].first??.first)
        case .sequence(let list):
            let parts = list.map(\.surroundingIds)
            return (parts.compactMap(\.leading).last, parts.compactMap(\.trailing).first)
        }
    }
}
