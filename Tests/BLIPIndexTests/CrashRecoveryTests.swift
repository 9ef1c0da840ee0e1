import BLIPIndexTestSupport
import Foundation
import XCTest

@testable import BLIPIndex

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Kills `IndexCrashHelper` with SIGKILL while a batch transaction is open, then checks that the index is
/// sound, holds exactly the committed batches, and that a second run completes it without duplicates.
final class CrashRecoveryTests: IndexTestCase {
    func testKillMidBatchLeavesConsistentIndexAndRerunCompletes() throws {
        let helper = try crashHelperURL()
        let paths = try writeImages(20)
        let batchSize = 3
        let killAt = 3  // batches 1 and 2 committed, batch 3 written but not committed

        let process = Process()
        process.executableURL = helper
        process.arguments = [indexPath, folder.appendingPathComponent("images").path, "\(batchSize)", "\(killAt)"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }

        var output = ""
        let deadline = Date().addingTimeInterval(120)
        while !output.contains("committing \(killAt)\n") {
            let data = pipe.fileHandleForReading.availableData
            if data.isEmpty {  // end of file: the helper exited before the kill point
                process.waitUntilExit()
                return XCTFail("helper exited early (status \(process.terminationStatus)): \(output)")
            }
            output += String(decoding: data, as: UTF8.self)
            XCTAssertLessThan(Date(), deadline, "helper too slow: \(output)")
            if Date() > deadline { return }
        }
        XCTAssertEqual(kill(process.processIdentifier, SIGKILL), 0)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .uncaughtSignal)
        XCTAssertEqual(process.terminationStatus, SIGKILL)
        XCTAssertTrue(output.contains("committed \(killAt - 1)\n"), output)

        // Reopen (WAL recovery): sound file, exactly the committed batches, no partial batch.
        let index = try ImageIndex(path: indexPath, create: false)
        XCTAssertEqual(try index.integrityCheck(), "ok")
        let committed = (killAt - 1) * batchSize
        XCTAssertEqual(try index.paths(), Array(paths.prefix(committed)))
        XCTAssertEqual(try index.info().imageCount, committed)
        let matrix = try index.matrix(for: FakeEmbedder())
        XCTAssertEqual(matrix.values.count, committed * 12)

        // Re-run: finishes the job, nothing counted twice, nothing lost.
        let fake = FakeEmbedder()
        let summary = try index.add(paths: [folder.path], embedder: fake, options: .init(batchSize: batchSize))
        XCTAssertEqual(summary.unchanged, committed)
        XCTAssertEqual(summary.added, paths.count - committed)
        XCTAssertEqual(summary.embedded, paths.count - committed)
        XCTAssertEqual(fake.embeddedImages, paths.count - committed)
        XCTAssertTrue(summary.failures.isEmpty)
        XCTAssertEqual(try index.paths(), paths)
        XCTAssertEqual(try index.info().distinctContents, paths.count)
        XCTAssertEqual(try index.integrityCheck(), "ok")
        // Every stored vector is the right one for its path (nothing shifted by the crash).
        let full = try index.matrix(for: fake)
        for (row, path) in full.paths.enumerated() {
            let expected = fake.imageVector(try decode(path))
            let stored = Array(full.values[(row * 12)..<(row * 12 + 12)])
            for (a, b) in zip(stored, expected) { XCTAssertEqual(a, b, accuracy: 1e-6, path) }
        }
    }
}
