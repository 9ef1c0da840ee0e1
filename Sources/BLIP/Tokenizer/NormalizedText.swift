import Foundation

/// Text under normalisation and pre-tokenisation: `tokenizers`' `NormalizedString` reduced to what the
/// Unigram pipeline needs. Each scalar keeps the start of its alignment in the input (in input scalars)
/// and the piece keeps `offsets_original().0` from when it was cut, which Metaspace's `prepend_scheme:
/// "first"` tests against 0. Transformations follow `NormalizedString::transform_range` exactly.
struct NormalizedText {
    var scalars: [Unicode.Scalar]
    /// Original start offset of each scalar's alignment.
    var align: [Int]
    /// `offsets_original().0` of this piece.
    var shift: Int

    /// A piece of the input (`slice.indices` are input offsets).
    init(_ slice: ArraySlice<Unicode.Scalar>) {
        scalars = Array(slice)
        align = Array(slice.indices)
        shift = slice.startIndex
    }

    private init(scalars: [Unicode.Scalar], align: [Int], shift: Int) {
        self.scalars = scalars
        self.align = align
        self.shift = shift
    }

    var isEmpty: Bool { scalars.isEmpty }

    /// `NormalizedString::slice`: the new piece's original start is the alignment of its first scalar.
    func slice(_ r: Range<Int>) -> NormalizedText {
        NormalizedText(scalars: Array(scalars[r]), align: Array(align[r]), shift: r.isEmpty ? shift : align[r.lowerBound])
    }

    /// `NormalizedString::transform_range`: `dest` yields each new scalar with its change (1 inserted,
    /// 0 replaces the next old scalar, −n replaces it and removes the n after it); `initialOffset` old
    /// scalars at the start of `range` are removed first. An inserted scalar shares the alignment of the
    /// one before it (the piece's start at the very beginning).
    mutating func transform(_ range: Range<Int>, _ dest: [(Unicode.Scalar, Int)], initialOffset: Int) {
        var newScalars: [Unicode.Scalar] = []
        var newAlign: [Int] = []
        newScalars.reserveCapacity(dest.count)
        newAlign.reserveCapacity(dest.count)
        var offset = min(range.lowerBound + initialOffset, range.upperBound)
        for (c, change) in dest {
            let a: Int
            if change > 0 {
                a = offset < 1 ? shift : align[min(offset - 1, align.count - 1)]
            } else {
                a = offset < align.count ? align[offset] : (align.last ?? shift)
                if offset < range.upperBound { offset += 1 }
                if change < 0 { offset += min(-change, range.upperBound - offset) }
            }
            newScalars.append(c)
            newAlign.append(a)
        }
        scalars.replaceSubrange(range, with: newScalars)
        align.replaceSubrange(range, with: newAlign)
    }

    /// `NormalizedString::replace`: every match becomes `content`, aligned with the match's last scalar.
    mutating func replace(_ matches: [Range<Int>], with content: [Unicode.Scalar]) {
        guard !matches.isEmpty else { return }
        var newScalars: [Unicode.Scalar] = [], newAlign: [Int] = []
        newScalars.reserveCapacity(scalars.count)
        newAlign.reserveCapacity(scalars.count)
        var last = 0
        for m in matches {
            newScalars += scalars[last..<m.lowerBound]
            newAlign += align[last..<m.lowerBound]
            let a = m.upperBound < 1 ? shift : align[m.upperBound - 1]
            newScalars += content
            newAlign += repeatElement(a, count: content.count)
            last = m.upperBound
        }
        newScalars += scalars[last...]
        newAlign += align[last...]
        scalars = newScalars
        align = newAlign
    }

    /// `NormalizedString::lrstrip` (White_Space, as Rust's `char::is_whitespace`).
    mutating func strip(left: Bool, right: Bool) {
        var lo = 0, hi = scalars.count
        if left { while lo < hi && scalars[lo].properties.isWhitespace { lo += 1 } }
        if right { while hi > lo && scalars[hi - 1].properties.isWhitespace { hi -= 1 } }
        if lo == 0 && hi == scalars.count { return }
        scalars = Array(scalars[lo..<hi])
        align = Array(align[lo..<hi])
    }

    /// `NormalizedString::prepend` (nothing on an empty piece).
    mutating func prepend(_ s: [Unicode.Scalar]) {
        guard let first = align.first, !s.isEmpty else { return }
        scalars.insert(contentsOf: s, at: 0)
        align.insert(contentsOf: repeatElement(first, count: s.count), at: 0)
    }

    /// `NormalizedString::lowercase` (each scalar's full lowercase mapping, no context).
    mutating func lowercase() {
        var newScalars: [Unicode.Scalar] = [], newAlign: [Int] = []
        newScalars.reserveCapacity(scalars.count)
        newAlign.reserveCapacity(scalars.count)
        for (s, a) in zip(scalars, align) {
            if s.isASCII {
                newScalars.append(s.value >= 65 && s.value <= 90 ? Unicode.Scalar(s.value + 32)! : s)
                newAlign.append(a)
                continue
            }
            for l in s.properties.lowercaseMapping.unicodeScalars {
                newScalars.append(l)
                newAlign.append(a)
            }
        }
        scalars = newScalars
        align = newAlign
    }

    /// Removes the scalars `keep` rejects (`NormalizedString::filter`; kept scalars keep their alignment).
    mutating func filter(_ keep: (Unicode.Scalar) -> Bool) {
        var newScalars: [Unicode.Scalar] = [], newAlign: [Int] = []
        for (s, a) in zip(scalars, align) where keep(s) {
            newScalars.append(s)
            newAlign.append(a)
        }
        scalars = newScalars
        align = newAlign
    }

    /// Unicode normalisation (Foundation's tables). Alignments are kept per run starting at a scalar of
    /// combining class 0 when the runs normalise independently, else every output scalar takes the
    /// first input scalar's alignment.
    mutating func unicodeNormalize(_ form: UnicodeForm) {
        guard !scalars.isEmpty else { return }
        let whole = Array(form.apply(Self.string(scalars[...])).unicodeScalars)
        if whole == scalars { return }
        var newScalars: [Unicode.Scalar] = [], newAlign: [Int] = []
        var start = 0
        while start < scalars.count {
            var end = start + 1
            while end < scalars.count && scalars[end].properties.canonicalCombiningClass.rawValue != 0 { end += 1 }
            let part = form.apply(Self.string(scalars[start..<end])).unicodeScalars
            newScalars += part
            newAlign += repeatElement(align[start], count: part.count)
            start = end
        }
        if newScalars != whole {
            newScalars = whole
            newAlign = Array(repeating: align[0], count: whole.count)
        }
        scalars = newScalars
        align = newAlign
    }

    static func string(_ scalars: ArraySlice<Unicode.Scalar>) -> String {
        var s = String()
        s.unicodeScalars.append(contentsOf: scalars)
        return s
    }

    // MARK: Splitting

    /// `NormalizedString::split` with `Removed`: the runs between scalars `isDelimiter` accepts.
    func split(removing isDelimiter: (Unicode.Scalar) -> Bool) -> [NormalizedText] {
        var out: [NormalizedText] = []
        var runStart: Int? = nil
        for i in 0..<scalars.count {
            if isDelimiter(scalars[i]) {
                if let s = runStart { out.append(slice(s..<i)); runStart = nil }
            } else if runStart == nil {
                runStart = i
            }
        }
        if let s = runStart { out.append(slice(s..<scalars.count)) }
        return out
    }

    /// `NormalizedString::split` with `MergedWithNext` on a single-scalar delimiter: each delimiter joins
    /// the run after it, unless the next piece is itself a delimiter.
    func splitMergedWithNext(_ delimiter: Unicode.Scalar) -> [NormalizedText] {
        // (range, isMatch) covering the text, as `Pattern::find_matches` for a char.
        var parts: [(Range<Int>, Bool)] = []
        var last = 0
        for i in 0..<scalars.count where scalars[i] == delimiter {
            if last < i { parts.append((last..<i, false)) }
            parts.append((i..<(i + 1), true))
            last = i + 1
        }
        if last < scalars.count { parts.append((last..<scalars.count, false)) }
        var merged: [Range<Int>] = []
        var previousMatch = false
        for (range, isMatch) in parts.reversed() {
            if isMatch && !previousMatch, let next = merged.last {
                merged[merged.count - 1] = range.lowerBound..<next.upperBound
            } else {
                merged.append(range)
            }
            previousMatch = isMatch
        }
        return merged.reversed().filter { !$0.isEmpty }.map { slice($0) }
    }
}

/// The four Unicode normalisation forms.
enum UnicodeForm: Sendable {
    case nfc, nfd, nfkc, nfkd

    /// Composed forms go through the decomposed one first: Foundation's own NFKC on Linux skips some
    /// compositions (`"Ａ\u{FF9F}\u{301}"` stays `"A\u{309A}\u{301}"` instead of `"Á\u{309A}"`).
    func apply(_ s: String) -> String {
        switch self {
        case .nfc: return s.decomposedStringWithCanonicalMapping.precomposedStringWithCanonicalMapping
        case .nfd: return s.decomposedStringWithCanonicalMapping
        case .nfkc: return s.decomposedStringWithCompatibilityMapping.precomposedStringWithCanonicalMapping
        case .nfkd: return s.decomposedStringWithCompatibilityMapping
        }
    }
}
