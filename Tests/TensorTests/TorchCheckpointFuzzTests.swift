import Foundation
import XCTest
@testable import Tensor

/// Deterministic robustness tests: mutated fixtures must throw or load, never crash; hostile
/// nesting far beyond any limit must not overflow the stack (parsing or releasing).
final class TorchCheckpointFuzzTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("TorchCheckpointFuzzTests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    /// SplitMix64: a small seeded PRNG.
    struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Opens `url` and, when that works, reads every tensor every way. Returns whether it opened.
    @discardableResult
    private func exercise(_ url: URL) -> Bool {
        do {
            let ckpt = try TorchCheckpointFile(url: url)
            for name in ckpt.names {
                _ = try? ckpt.tensor(name).scalars
                _ = try? ckpt.int64Values(name)
                _ = ckpt.halfBits(name)
                _ = ckpt.bf16Matrix(name)?.toFloat()
                _ = ckpt.f16Matrix(name)?.toFloat()
                _ = try? ckpt.rawBytes(name)
            }
            return true
        } catch is TorchCheckpointError {
            return false
        } catch {
            XCTFail("\(url.lastPathComponent): unexpected error type \(error)")
            return false
        }
    }

    private func mutate(_ original: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var b = original
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            guard !b.isEmpty else { break }
            let i = Int.random(in: 0..<b.count, using: &rng)
            switch Int.random(in: 0..<8, using: &rng) {
            case 0: b[i] = UInt8.random(in: 0...255, using: &rng)
            case 1: b[i] ^= 1 << UInt8.random(in: 0..<8, using: &rng)
            case 2: b.removeSubrange(i...)  // truncate
            case 3: b.insert(UInt8.random(in: 0...255, using: &rng), at: i)
            case 4: b.remove(at: i)
            case 5:  // an extreme 32-bit value (sizes, offsets, lengths)
                let v: [UInt32] = [0, 1, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF]
                let x = v.randomElement(using: &rng)!
                for k in 0..<4 where i + k < b.count { b[i + k] = UInt8((x >> (8 * UInt32(k))) & 0xFF) }
            case 6:  // a pickle opcode
                let ops: [UInt8] = [0x28, 0x2E, 0x52, 0x51, 0x62, 0x74, 0x75, 0x73, 0x61, 0x65, 0x68, 0x6A, 0x71, 0x72, 0x81, 0x93, 0x94, 0x95, 0x30, 0x31, 0x32]
                b[i] = ops.randomElement(using: &rng)!
            default:  // duplicate a chunk
                let n = min(Int.random(in: 1...16, using: &rng), b.count - i)
                b.insert(contentsOf: b[i..<(i + n)], at: i)
            }
        }
        return b
    }

    func testMutatedFixturesNeverCrash() throws {
        var rng = SplitMix64(state: 0x5EED_0001)
        let bases = ["plain.pth", "legacy.pth", "shared.pth", "half.pth", "zip64.pth", "dtypes.pth", "nested.pth"]
        let iterations = 3500
        var opened = 0
        for i in 0..<iterations {
            let base = bases[i % bases.count]
            let original = [UInt8](try Data(contentsOf: pthFixtures.appendingPathComponent(base)))
            let url = dir.appendingPathComponent("fuzz-\(i % 8).pth")
            try Data(mutate(original, &rng)).write(to: url)
            if exercise(url) { opened += 1 }
        }
        // Both outcomes happen (many mutations hit tensor data or ignored fields).
        print("fuzz: \(opened) of \(iterations) mutated files opened")
        XCTAssertGreaterThan(opened, 0)
        XCTAssertLessThan(opened, iterations)
    }

    /// Mutations confined to the pickle of a zip checkpoint (the zip structure stays valid), so
    /// the unpickler itself sees the garbage.
    func testMutatedPicklesNeverCrash() throws {
        var rng = SplitMix64(state: 0x5EED_0002)
        let url = pthFixtures.appendingPathComponent("params.pth")
        let original = try TorchCheckpointFile(url: url)
        guard case let .zip(prefix) = original.format else { return XCTFail("not zip") }
        let bytes = original.mapping.bytes
        let entries = try ZipReader.entries(bytes, file: url.path)
        var contents: [(String, [UInt8])] = entries.map { ($0.name, Array(UnsafeRawBufferPointer(rebasing: bytes[$0.range]))) }
        let pklIndex = contents.firstIndex { $0.0 == prefix + "data.pkl" }!
        let pkl = contents[pklIndex].1
        for i in 0..<1500 {
            contents[pklIndex].1 = mutate(pkl, &rng)
            let out = dir.appendingPathComponent("pickle-\(i % 8).pth")
            try Data(storedZip(contents)).write(to: out)
            exercise(out)
        }
    }

    private func assertLimit(_ pickle: [UInt8], file: StaticString = #filePath, line: UInt = #line) throws {
        let url = dir.appendingPathComponent("deep.pth")
        try Data(checkpointZip(pickle)).write(to: url)
        XCTAssertThrowsError(try TorchCheckpointFile(url: url), file: file, line: line) { error in
            guard case .limitExceeded = error as? TorchCheckpointError else {
                return XCTFail("\(error)", file: file, line: line)
            }
        }
    }

    func testVeryDeepNestingDoesNotRecurse() throws {
        let n = 300_000
        try assertLimit([0x80, 0x02] + [UInt8](repeating: 0x5D, count: n) + [UInt8](repeating: 0x61, count: n - 1) + [0x2E])
        try assertLimit([0x80, 0x02, 0x29] + [UInt8](repeating: 0x85, count: n) + [0x2E])
        // MARKs 300,000 deep, closed by TUPLE each time.
        try assertLimit([0x80, 0x02] + [UInt8](repeating: 0x28, count: n) + [0x4E] + [UInt8](repeating: 0x74, count: n) + [0x2E])
    }

    func testNestingAtTheLimitLoads() throws {
        let depth = PickleLimits.maxDepth
        let url = dir.appendingPathComponent("limit.pth")
        try Data(checkpointZip([0x80, 0x02] + [UInt8](repeating: 0x5D, count: depth) + [UInt8](repeating: 0x61, count: depth - 1) + [0x2E])).write(to: url)
        var v = try TorchCheckpointFile(url: url).root
        var levels = 1
        while case let .list(items) = v, let first = items.first { v = first; levels += 1 }
        XCTAssertEqual(levels, depth)
        try assertLimit([0x80, 0x02] + [UInt8](repeating: 0x5D, count: depth + 1) + [UInt8](repeating: 0x61, count: depth) + [0x2E])
    }

    /// The deepest accepted structure (dicts and lists alternating) loads on a thread with a
    /// 512 KB stack (macOS's default for secondary threads): conversion and naming do not recurse.
    func testDeepestAcceptedStructureOnASmallStack() throws {
        var p: [UInt8] = [0x80, 0x02]
        for _ in 0..<(PickleLimits.maxDepth / 2) { p += [0x7D] + binunicode("k") + [0x5D] }
        p += [0x4E]
        for _ in 0..<(PickleLimits.maxDepth / 2) { p += [0x61, 0x73] }
        p += [0x2E]
        let url = dir.appendingPathComponent("deep-ok.pth")
        try Data(checkpointZip(p)).write(to: url)
        final class Outcome: @unchecked Sendable { var depth = 0; var error: Error? }
        let outcome = Outcome()
        let finished = DispatchSemaphore(value: 0)
        let thread = Thread {
            do {
                var v = try TorchCheckpointFile(url: url).root
                while true {
                    if let next = v["k"] { v = next } else if let first = v.arrayValue?.first { v = first } else { break }
                    outcome.depth += 1
                }
            } catch {
                outcome.error = error
            }
            finished.signal()
        }
        thread.stackSize = 512 * 1024
        thread.start()
        finished.wait()
        XCTAssertNil(outcome.error)
        XCTAssertEqual(outcome.depth, PickleLimits.maxDepth)
    }
}
