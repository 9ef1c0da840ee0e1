import CKernels
import Foundation

/// Splits independent work over the machine's cores with a small persistent thread pool
/// (workers spin briefly between regions, then sleep).
public enum Parallel {
    /// Threads used per parallel region (at most the pool size: the number of cores).
    nonisolated(unsafe) public static var threads = Int(bk_pool_size())

    private typealias Body = (Range<Int>) -> Void

    private struct Region {
        let body: Body
        let count: Int
    }

    /// Calls `body` on disjoint sub-ranges of `0..<count`, concurrently when each part would
    /// have at least `minChunk` items. `body` must only touch data its range owns.
    public static func forEachChunk(_ count: Int, minChunk: Int, _ body: (Range<Int>) -> Void) {
        let parts = min(threads, count / max(minChunk, 1))
        if parts <= 1 {
            body(0..<count)
            return
        }
        withoutActuallyEscaping(body) { body in
            var region = Region(body: body, count: count)
            withUnsafeMutablePointer(to: &region) { pointer in
                bk_pool_run({ ctx, part, parts in
                    let region = ctx!.assumingMemoryBound(to: Region.self).pointee
                    let start = region.count * part / parts, end = region.count * (part + 1) / parts
                    region.body(start..<end)
                }, pointer, parts)
            }
        }
    }
}
