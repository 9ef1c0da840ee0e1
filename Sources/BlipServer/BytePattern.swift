/// A fixed byte pattern searched with Knuth–Morris–Pratt: linear in the bytes scanned whatever the
/// input (at most 2 comparisons per scanned byte, amortised), so a hostile body cannot make the
/// multipart parser quadratic (e.g. a long run of `-` against a long dash boundary).
struct BytePattern: Sendable {
    let bytes: [UInt8]
    /// `failure[q]`: length of the longest proper prefix of `bytes[0...q]` that is also its suffix.
    let failure: [Int]

    /// `bytes` must not be empty (callers pass a delimiter, never user-chosen emptiness).
    init(_ bytes: [UInt8]) {
        precondition(!bytes.isEmpty, "BytePattern needs at least one byte")
        self.bytes = bytes
        var failure = [Int](repeating: 0, count: bytes.count)
        var k = 0
        for q in 1..<bytes.count {
            while k > 0 && bytes[k] != bytes[q] { k = failure[k - 1] }
            if bytes[k] == bytes[q] { k += 1 }
            failure[q] = k
        }
        self.failure = failure
    }

    /// First index `i >= start` with `haystack[i..<i + bytes.count] == bytes` and `i - start <= limit`, or nil.
    /// Adds the byte comparisons made to `comparisons` (a test hook: it stays below 2 × the bytes scanned).
    func firstIndex(in haystack: UnsafeBufferPointer<UInt8>, from start: Int, limit: Int = .max,
                    comparisons: inout Int) -> Int? {
        let m = bytes.count
        guard start >= 0, start < haystack.count, haystack.count - start >= m else { return nil }
        // Matches may start at most `limit` bytes after `start`, so they end by start + limit + m.
        let end = limit >= haystack.count - start - m ? haystack.count : start + limit + m
        var count = 0
        defer { comparisons += count }
        return bytes.withUnsafeBufferPointer { p in
            failure.withUnsafeBufferPointer { f in
                var q = 0  // pattern bytes matched so far
                var i = start
                while i < end {
                    let c = haystack[i]
                    count += 1
                    while q > 0 && p[q] != c {
                        q = f[q - 1]
                        count += 1
                    }
                    if p[q] == c { q += 1 }
                    if q == m { return i - m + 1 }
                    i += 1
                }
                return nil
            }
        }
    }
}
