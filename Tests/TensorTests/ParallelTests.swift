import CKernels
import Foundation
import XCTest
@testable import Tensor

final class ParallelTests: XCTestCase {
    func testCgroupQuotaParsing() {
        XCTAssertNil(Parallel.cgroupCPULimit(cpuMax: "max 100000\n"))
        XCTAssertEqual(Parallel.cgroupCPULimit(cpuMax: "200000 100000\n"), 2)
        XCTAssertEqual(Parallel.cgroupCPULimit(cpuMax: "50000 100000"), 1)  // half a CPU rounds up
        XCTAssertEqual(Parallel.cgroupCPULimit(cpuMax: "150000 100000"), 2)
        XCTAssertNil(Parallel.cgroupCPULimit(cpuMax: "garbage"))
        XCTAssertEqual(Parallel.cgroupCPULimit(cpuMax: nil, v1Quota: "300000\n", v1Period: "100000\n"), 3)
        XCTAssertNil(Parallel.cgroupCPULimit(cpuMax: nil, v1Quota: "-1\n", v1Period: "100000\n"))
        XCTAssertNil(Parallel.cgroupCPULimit(cpuMax: nil))
    }

    func testThreadCountFromEnvironment() throws {
        XCTAssertNil(try Parallel.threadCountFromEnvironment([:]))
        XCTAssertEqual(try Parallel.threadCountFromEnvironment(["BLIP_NUM_THREADS": "3"]), 3)
        for bad in ["0", "-2", "two", ""] {
            XCTAssertThrowsError(try Parallel.threadCountFromEnvironment(["BLIP_NUM_THREADS": bad])) {
                XCTAssertEqual($0.localizedDescription, "BLIP_NUM_THREADS must be a positive integer, got \"\(bad)\"")
            }
        }
    }

    /// The affinity count is what coreutils' `nproc` reports (it reads the same mask).
    func testAffinityMatchesNproc() throws {
        let nproc = Process()
        nproc.executableURL = URL(fileURLWithPath: "/usr/bin/nproc")
        let pipe = Pipe()
        nproc.standardOutput = pipe
        nproc.environment = ["PATH": "/usr/bin:/bin"]  // nproc honours OMP_NUM_THREADS
        try nproc.run()
        nproc.waitUntilExit()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(Int(bk_affinity_cpus()), Int(text.trimmingCharacters(in: .whitespacesAndNewlines)))
        XCTAssertGreaterThanOrEqual(Parallel.availableCPUs, 1)
        XCTAssertLessThanOrEqual(Parallel.availableCPUs, Int(bk_affinity_cpus()))
    }

    func testChunksCoverTheRangeOnce() {
        var hits = [Int](repeating: 0, count: 1000)
        hits.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            Parallel.forEachChunk(1000, minChunk: 10) { range in
                for i in range { base[i] += 1 }
            }
        }
        XCTAssertEqual(hits, [Int](repeating: 1, count: 1000))
    }
}
