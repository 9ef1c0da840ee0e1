import CKernels
import Foundation

/// Splits independent work over the machine's cores with a small persistent thread pool
/// (workers spin briefly between regions, then sleep).
///
/// The pool is sized once, at its first use: `configure(threads:)` when called before that, else
/// `BLIP_NUM_THREADS` when it is a positive integer, else the CPUs this process may use
/// (`availableCPUs`: its affinity mask, limited by a cgroup CPU quota), not all online CPUs.
public enum Parallel {
    /// Threads used per parallel region (at most the pool size). Lowering it later is allowed;
    /// raising it past the pool size has no effect.
    nonisolated(unsafe) public static var threads = startPool(size: defaultThreadCount())

    /// The clone of the multi-versioned SIMD kernels this CPU runs ("avx512f", "avx2",
    /// "default"; "portable" off x86-64 Linux). Matrix products go through BLAS (OpenBLAS picks
    /// its own kernels at run time).
    public static var kernelPath: String { String(cString: bk_kernel_path()) }

    /// The largest pool (the caller plus 63 workers).
    public static let maxThreads = 64

    private typealias Body = (Range<Int>) -> Void

    private struct Region {
        let body: Body
        let count: Int
    }

    /// Uses `threads` threads (clamped to 1...maxThreads). Call it before any model work to size
    /// the pool; afterwards only counts up to the pool size take effect.
    public static func configure(threads count: Int) {
        let n = min(max(count, 1), maxThreads)
        _ = bk_pool_configure(n)
        threads = min(n, Int(bk_pool_size()))
    }

    private static func startPool(size: Int) -> Int {
        _ = bk_pool_configure(size)
        return Int(bk_pool_size())
    }

    /// CPUs this process may use: its scheduler affinity, limited by the cgroup's CPU quota
    /// (`cpu.max` of cgroup v2, or v1's `cpu.cfs_quota_us` / `cpu.cfs_period_us`) rounded up.
    public static var availableCPUs: Int {
        let affinity = Int(bk_affinity_cpus())
        let quota = cgroupCPULimit(
            cpuMax: try? String(contentsOfFile: "/sys/fs/cgroup/cpu.max", encoding: .utf8),
            v1Quota: try? String(contentsOfFile: "/sys/fs/cgroup/cpu/cpu.cfs_quota_us", encoding: .utf8),
            v1Period: try? String(contentsOfFile: "/sys/fs/cgroup/cpu/cpu.cfs_period_us", encoding: .utf8))
        return max(1, min(affinity, quota ?? affinity))
    }

    /// The CPU limit a cgroup's files declare (quota / period, rounded up), nil when unlimited
    /// or unreadable. `cpuMax` is cgroup v2's `"QUOTA PERIOD"` or `"max PERIOD"`.
    public static func cgroupCPULimit(cpuMax: String?, v1Quota: String? = nil, v1Period: String? = nil) -> Int? {
        func limit(_ quota: Int, _ period: Int) -> Int? {
            guard quota > 0, period > 0 else { return nil }
            return (quota + period - 1) / period
        }
        if let fields = cpuMax?.split(whereSeparator: \.isWhitespace), fields.count == 2 {
            guard let quota = Int(fields[0]), let period = Int(fields[1]) else { return nil }  // "max": unlimited
            return limit(quota, period)
        }
        let trim = { (s: String?) in s.flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } }
        if let quota = trim(v1Quota), let period = trim(v1Period) { return limit(quota, period) }
        return nil
    }

    /// `BLIP_NUM_THREADS` when it is set; throws when it is not a positive integer.
    public static func threadCountFromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Int? {
        guard let value = environment["BLIP_NUM_THREADS"] else { return nil }
        guard let n = Int(value.trimmingCharacters(in: .whitespaces)), n >= 1 else {
            throw ThreadCountError(message: "BLIP_NUM_THREADS must be a positive integer, got \"\(value.prefix(40))\"")
        }
        return n
    }

    /// `BLIP_NUM_THREADS` when valid, else `availableCPUs`.
    public static func defaultThreadCount() -> Int {
        min(((try? threadCountFromEnvironment()) ?? nil) ?? availableCPUs, maxThreads)
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

/// A bad thread count (`BLIP_NUM_THREADS`).
public struct ThreadCountError: Error, LocalizedError, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
    public var errorDescription: String? { message }
}
