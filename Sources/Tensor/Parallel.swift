import CKernels
import Foundation

/// Splits independent work over a pool of threads: the pool of the calling thread's current
/// `ComputeSettings` (set by `ComputeSettings.run`, which every model entry point calls with the
/// settings the model was made with), else the shared `ComputeSettings.automatic` pool.
public enum Parallel {
    /// Threads a parallel region started on this thread uses now.
    public static var threads: Int { Int(bk_pool_threads(currentPool)) }

    /// The clone of the multi-versioned SIMD kernels this CPU runs ("avx512f", "avx2",
    /// "default"; "portable" off x86-64 Linux). Matrix products go through BLAS (OpenBLAS picks
    /// its own kernels at run time).
    public static var kernelPath: String { String(cString: bk_kernel_path()) }

    /// The most threads one pool has.
    public static let maxThreads = 64

    private typealias Body = (Range<Int>) -> Void

    private struct Region {
        let body: Body
        let count: Int
    }

    static var currentPool: OpaquePointer { bk_pool_current() ?? ComputeSettings.automatic.pool.raw }

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
        let pool = currentPool
        let parts = min(Int(bk_pool_threads(pool)), count / max(minChunk, 1))
        if parts <= 1 {
            body(0..<count)
            return
        }
        withoutActuallyEscaping(body) { body in
            var region = Region(body: body, count: count)
            withUnsafeMutablePointer(to: &region) { pointer in
                bk_pool_run(pool, { ctx, part, parts in
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

/// The threads a model's tensor work runs on: a value each model receives at load
/// (`BlipCaptioner(modelDirectory:precision:compute:)` and the other initialisers) and applies
/// to its own calls, so two models in one process (the server holds three) never change each
/// other's thread counts. BLAS always runs single-threaded; the work is split over the
/// settings' own pool of threads (started at its first parallel region, sleeping when idle).
///
/// Copies share one pool: give several models the same settings to have them share threads
/// (their concurrent calls then take turns on the pool; a call that finds it busy runs on its
/// own thread), or separate settings to give each its own.
public struct ComputeSettings: Sendable, CustomStringConvertible {
    let pool: ThreadPool

    /// Threads per parallel region (the calling thread and `threads - 1` workers).
    public var threads: Int { pool.threads }

    /// Settings with their own pool of `threads` threads (clamped to 1...`Parallel.maxThreads`).
    public init(threads: Int) {
        pool = ThreadPool(threads: min(max(threads, 1), Parallel.maxThreads))
    }

    /// The settings models get by default, one shared pool: `BLIP_NUM_THREADS` when it is a
    /// positive integer, else the CPUs this process may use (`Parallel.availableCPUs`).
    public static let automatic = ComputeSettings(threads: Parallel.defaultThreadCount())

    /// `threads` when given, else `automatic` (the shared default pool).
    public static func threads(_ count: Int?) -> ComputeSettings {
        guard let count else { return .automatic }
        return count == automatic.threads ? .automatic : ComputeSettings(threads: count)
    }

    /// Runs `body` on the calling thread with these settings' pool for its parallel regions
    /// (the previous settings come back afterwards; nesting is fine).
    @inlinable
    public func run<R>(_ body: () throws -> R) rethrows -> R {
        let previous = swapCurrent()
        defer { restore(previous) }
        return try body()
    }

    @usableFromInline
    func swapCurrent() -> OpaquePointer? { bk_pool_swap_current(pool.raw) }

    @usableFromInline
    func restore(_ previous: OpaquePointer?) { _ = bk_pool_swap_current(previous) }

    /// True when both use the same pool.
    public func sharesThreads(with other: ComputeSettings) -> Bool { pool === other.pool }

    public var description: String { "\(threads) thread\(threads == 1 ? "" : "s")" }
}

/// Owns one C pool (its workers are joined when the last settings using it go away).
final class ThreadPool: @unchecked Sendable {
    let raw: OpaquePointer
    let threads: Int

    init(threads: Int) {
        guard let pool = bk_pool_create(threads) else { fatalError("out of memory creating a thread pool") }
        raw = pool
        self.threads = Int(bk_pool_threads(pool))
    }

    deinit { bk_pool_destroy(raw) }
}
