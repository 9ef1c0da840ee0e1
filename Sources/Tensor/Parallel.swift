import Dispatch
import Foundation

/// Splits independent work over the machine's cores.
public enum Parallel {
    /// Cores used for element-wise and row-wise kernels (BLAS has its own setting).
    nonisolated(unsafe) public static var threads = ProcessInfo.processInfo.activeProcessorCount

    private struct UncheckedBox<T>: @unchecked Sendable { let value: T }

    /// Calls `body` on disjoint sub-ranges of `0..<count`, concurrently when each part would
    /// have at least `minChunk` items. `body` must only touch data its range owns.
    public static func forEachChunk(_ count: Int, minChunk: Int, _ body: (Range<Int>) -> Void) {
        let parts = min(threads, count / max(minChunk, 1))
        if parts <= 1 {
            body(0..<count)
            return
        }
        withoutActuallyEscaping(body) { body in
            let box = UncheckedBox(value: body)
            DispatchQueue.concurrentPerform(iterations: parts) { p in
                let start = count * p / parts, end = count * (p + 1) / parts
                box.value(start..<end)
            }
        }
    }
}
