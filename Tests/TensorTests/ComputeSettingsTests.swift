import Foundation
import XCTest
@testable import Tensor

/// Compute settings are values the models hold: each pool's thread count is its own, whatever
/// other settings run at the same time on other threads.
final class ComputeSettingsTests: XCTestCase {
    /// Parts a region of `count` items (one per part at most) is split into on this thread.
    private func parts(_ count: Int = 64) -> Int { Self.parts(count) }

    private static func parts(_ count: Int = 64) -> Int {
        let lock = NSLock()
        var calls = 0
        Parallel.forEachChunk(count, minChunk: 1) { _ in lock.withLock { calls += 1 } }
        return calls
    }

    func testRegionsUseTheSettingsOfTheirCall() {
        let one = ComputeSettings(threads: 1), three = ComputeSettings(threads: 3)
        XCTAssertEqual(one.run { parts() }, 1)
        XCTAssertEqual(three.run { parts() }, 3)
        XCTAssertEqual(three.run { Parallel.threads }, 3)
        // Nesting restores the outer settings.
        XCTAssertEqual(three.run { () -> [Int] in [one.run { parts() }, parts()] }, [1, 3])
        // Outside any call: the shared automatic pool.
        XCTAssertEqual(Parallel.threads, ComputeSettings.automatic.threads)
        XCTAssertTrue(ComputeSettings.threads(nil).sharesThreads(with: .automatic))
        XCTAssertFalse(ComputeSettings.threads(ComputeSettings.automatic.threads + 1).sharesThreads(with: .automatic))
        XCTAssertEqual(ComputeSettings(threads: 0).threads, 1)
        XCTAssertEqual(ComputeSettings(threads: 1_000).threads, Parallel.maxThreads)
    }

    /// Two "models" working at once on two threads: each always sees its own thread count (a
    /// process-wide setting, as BLAS thread counts are, would leak from one into the other).
    func testConcurrentSettingsDoNotChangeEachOther() {
        let a = ComputeSettings(threads: 2), b = ComputeSettings(threads: 4)
        let seen = Seen()
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            let settings = i == 0 ? a : b
            for _ in 0..<200 {
                let n = settings.run { (Parallel.threads, Self.parts(settings.threads)) }
                seen.insert(n.0, n.1, for: settings.threads)
            }
        }
        XCTAssertEqual(seen.values[2], [2])
        XCTAssertEqual(seen.values[4], [4])
    }

    /// A pool's workers stop with its last settings (servers may make and drop models).
    func testDroppedSettingsJoinTheirWorkers() throws {
        func threadCount() throws -> Int {
            try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count
        }
        _ = ComputeSettings.automatic.run { parts() }
        let before = try threadCount()
        for _ in 0..<5 {
            let settings = ComputeSettings(threads: 4)
            XCTAssertEqual(settings.run { parts() }, 4)
        }
        XCTAssertLessThanOrEqual(try threadCount(), before)
    }

    /// Splitting a layer over more threads changes nothing: every output is computed whole by
    /// one thread (one row, few rows and many rows; each precision).
    func testLinearOutputsDoNotDependOnThreads() {
        var g = SystemRandomNumberGenerator()
        let k = 200, n = 1_030
        let w = Tensor((0..<(n * k)).map { _ in Float.random(in: -0.05...0.05, using: &g) }, shape: [n, k])
        let b = Tensor((0..<n).map { _ in Float.random(in: -1...1, using: &g) }, shape: [n])
        for precision in [Precision.fp32, .bf16, .int8] {
            let linear = Linear(weight: w, bias: b).converted(to: precision)
            for rows in [1, 5, 40] {
                let x = Tensor((0..<(rows * k)).map { _ in Float.random(in: -1...1, using: &g) }, shape: [rows, k])
                let one = ComputeSettings(threads: 1).run { linear(x).scalars }
                let four = ComputeSettings(threads: 4).run { linear(x).scalars }
                let differing = zip(one, four).filter { $0 != $1 }.count
                XCTAssertEqual(differing, 0, "\(precision), \(rows) rows: outputs differ with the thread count")
            }
        }
    }
}

/// Thread counts seen per settings, from several threads.
private final class Seen: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [Int: Set<Int>] = [:]
    var values: [Int: Set<Int>] { lock.withLock { storage } }
    func insert(_ a: Int, _ b: Int, for key: Int) {
        lock.withLock { storage[key, default: []].formUnion([a, b]) }
    }
}
