import Foundation

/// Port of the SentencePiece `precompiled_charsmap` lookup as `tokenizers`' `Precompiled` normalizer (the
/// `spm_precompiled` crate) runs it: the blob is a little-endian u32 trie size, a darts-clone double array
/// of that many bytes, then the NUL-terminated replacement strings. A chunk's replacement is the one of
/// its first (shortest) prefix found in the double array, read up to the next NUL.
struct PrecompiledCharsmap: Sendable {
    private let units: [UInt32]
    private let normalized: [UInt8]

    /// Why a charsmap is refused (`spm_precompiled`'s `PrecompiledError`).
    enum ParseError: Error, Equatable {
        case truncated(needed: Int, have: Int)
        case normalizedNotUTF8
    }

    init(_ blob: [UInt8]) throws(ParseError) {
        guard blob.count >= 4 else { throw .truncated(needed: 4, have: blob.count) }
        let trieBytes = Int(Self.le32(blob, 0))
        let unitCount = trieBytes / 4
        guard unitCount <= (blob.count - 4) / 4 else { throw .truncated(needed: 4 + unitCount * 4, have: blob.count) }
        var units: [UInt32] = []
        units.reserveCapacity(unitCount)
        for k in 0..<unitCount { units.append(Self.le32(blob, 4 + 4 * k)) }
        let rest = Array(blob[(4 + 4 * unitCount)...])
        guard String(validating: rest, as: UTF8.self) != nil else { throw .normalizedNotUTF8 }
        self.units = units
        normalized = rest
    }

    private static func le32(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
    }

    /// Value of the first (shortest) key that prefixes `key` (`DoubleArray::common_prefix_search(..)[0]`).
    /// The search stops at a NUL byte; an index outside the array (a malformed blob) ends it.
    private func firstPrefixValue<C: Collection>(_ key: C) -> Int? where C.Element == UInt8 {
        guard !units.isEmpty else { return nil }
        @inline(__always) func offset(_ u: UInt64) -> UInt64 { (u >> 10) << ((u & (1 << 9)) >> 6) }
        var pos = UInt64(0)
        pos ^= offset(UInt64(units[0]))
        for c in key {
            if c == 0 { break }
            pos ^= UInt64(c)
            guard pos < UInt64(units.count) else { return nil }
            let unit = UInt64(units[Int(pos)])
            if unit & ((1 << 31) | 0xFF) != UInt64(c) { return nil }
            pos ^= offset(unit)
            if (unit >> 8) & 1 == 1 {
                guard pos < UInt64(units.count) else { return nil }
                return Int(UInt64(units[Int(pos)]) & ((1 << 31) - 1))
            }
        }
        return nil
    }

    /// The replacement of `chunk` (UTF-8 bytes), or nil when no key prefixes it (`Precompiled::transform`).
    /// An index past the strings or inside a character (which would make the crate panic) counts as none.
    func transform<C: Collection>(_ chunk: C) -> [Unicode.Scalar]? where C.Element == UInt8 {
        guard let start = firstPrefixValue(chunk), start <= normalized.count else { return nil }
        var end = start
        while end < normalized.count && normalized[end] != 0 { end += 1 }
        guard let text = String(validating: normalized[start..<end], as: UTF8.self) else { return nil }
        return Array(text.unicodeScalars)
    }
}

extension NormalizedText {
    /// `tokenizers`' `Precompiled::normalize`: graphemes shorter than 6 UTF-8 bytes are looked up whole
    /// (a hit replaces the entire grapheme, even when only its first characters matched); otherwise, or
    /// when nothing matched, each character is looked up on its own. Alignments follow the crate's
    /// `replace` bookkeeping (a shrinking replacement charges the removed characters to the last one
    /// written, even one of an earlier grapheme).
    mutating func applyPrecompiled(_ map: PrecompiledCharsmap) {
        guard !scalars.isEmpty else { return }
        var text = String()
        text.unicodeScalars.append(contentsOf: scalars)
        var dest: [(Unicode.Scalar, Int)] = []
        dest.reserveCapacity(scalars.count)
        var modified = false
        var i = 0
        var bytes: [UInt8] = []
        for character in text {
            let n = character.unicodeScalars.count
            let grapheme = scalars[i..<(i + n)]
            i += n
            bytes.removeAll(keepingCapacity: true)
            for s in grapheme { UTF8.encode(s) { bytes.append($0) } }
            if bytes.count < 6, let norm = map.transform(bytes) {
                modified = true
                Self.charsmapReplace(&dest, oldCount: n, new: norm)
                continue
            }
            for s in grapheme {
                var one: [UInt8] = []
                UTF8.encode(s) { one.append($0) }
                if let norm = map.transform(one) {
                    modified = true
                    Self.charsmapReplace(&dest, oldCount: 1, new: norm)
                } else {
                    dest.append((s, 0))
                }
            }
        }
        if modified { transform(0..<scalars.count, dest, initialOffset: 0) }
    }

    /// `precompiled.rs`' `replace`: the new characters replace the old ones; extra ones are insertions,
    /// missing ones are removals charged to the last character written.
    private static func charsmapReplace(_ dest: inout [(Unicode.Scalar, Int)], oldCount: Int, new: [Unicode.Scalar]) {
        let diff = new.count - oldCount
        dest += new.map { ($0, 0) }
        if diff > 0 {
            for k in 0..<diff { dest[dest.count - 1 - k].1 = 1 }
        } else if diff < 0, !dest.isEmpty {
            dest[dest.count - 1].1 += diff
        }
    }
}
