import BLIPIndexTestSupport
import Foundation
import XCTest

@testable import BLIPIndex

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension IndexTestCase {
    /// The `IndexCrashHelper` executable, built next to the test bundle in the build products folder.
    func crashHelperURL() throws -> URL {
        var folders = [Bundle(for: Self.self).bundleURL, Bundle.main.bundleURL,
                       URL(fileURLWithPath: CommandLine.arguments[0])]
            .map { $0.deletingLastPathComponent() }
        folders += folders.map { $0.deletingLastPathComponent() }
        for folder in folders {
            let candidate = folder.appendingPathComponent("IndexCrashHelper")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw XCTSkip("IndexCrashHelper not found in \(folders.map(\.path))")
    }
}

/// Two `add` processes started at the same instant on one new index file (issue 8, item 12): the schema is
/// created once, both succeed, and every image is stored exactly once.
final class ConcurrentAddTests: IndexTestCase {
    struct Outcome {
        var status: Int32
        var output: String
        var errors: String
    }

    /// Starts two helpers on `index`, releases them together, and waits (killing both after 120 s).
    func runTwo(_ helper: URL, index: String, images: String) throws -> [Outcome] {
        var running: [(process: Process, input: Pipe, output: Pipe, errors: Pipe)] = []
        for _ in 0..<2 {
            let process = Process()
            process.executableURL = helper
            process.arguments = [index, images, "3", "0", "--wait-stdin"]
            let input = Pipe(), output = Pipe(), errors = Pipe()
            process.standardInput = input
            process.standardOutput = output
            process.standardError = errors
            try process.run()
            running.append((process, input, output, errors))
        }
        let pids = running.map(\.process.processIdentifier)
        let watchdog = DispatchWorkItem { for pid in pids { kill(pid, SIGKILL) } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 120, execute: watchdog)
        defer { watchdog.cancel() }
        for r in running { r.input.fileHandleForWriting.write(Data("go\n".utf8)) }
        return running.map { r in
            let output = String(decoding: r.output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let errors = String(decoding: r.errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            r.process.waitUntilExit()
            return Outcome(status: r.process.terminationStatus, output: output, errors: errors)
        }
    }

    /// "done added=A unchanged=U failed=F embedded=E" → [A, U, F, E].
    func counts(_ output: String) -> [Int]? {
        guard let line = output.split(separator: "\n").last(where: { $0.hasPrefix("done ") }) else { return nil }
        let values = line.split(separator: " ").dropFirst().compactMap { $0.split(separator: "=").last.flatMap { Int($0) } }
        return values.count == 4 ? values : nil
    }

    func testTwoProcessesAddingToANewIndexBothSucceedAndStoreEachImageOnce() throws {
        let helper = try crashHelperURL()
        let paths = try writeImages(12)
        let images = folder.appendingPathComponent("images").path
        var embeddings: [Int] = []
        for round in 0..<8 {
            let index = folder.appendingPathComponent("round\(round).sqlite").path
            let outcomes = try runTwo(helper, index: index, images: images)
            XCTAssertEqual(outcomes.count, 2)
            var added = 0, unchanged = 0, embedded = 0
            for o in outcomes {
                XCTAssertEqual(o.status, 0, "round \(round): \(o.errors)")
                XCTAssertEqual(o.errors, "", "round \(round)")
                guard let c = counts(o.output) else {
                    XCTFail("round \(round): no summary in \(o.output)")
                    continue
                }
                XCTAssertEqual(c[2], 0, "round \(round): failures")
                added += c[0]
                unchanged += c[1]
                embedded += c[3]
            }
            // Each path is inserted by exactly one of the two (the other finds it stored, same content).
            XCTAssertEqual(added, paths.count, "round \(round)")
            XCTAssertEqual(unchanged, paths.count, "round \(round)")
            XCTAssertGreaterThanOrEqual(embedded, paths.count, "round \(round)")
            XCTAssertLessThanOrEqual(embedded, 2 * paths.count, "round \(round)")
            embeddings.append(embedded)

            let opened = try ImageIndex(path: index, create: false)
            XCTAssertEqual(try opened.integrityCheck(), "ok")
            XCTAssertEqual(try opened.paths().sorted(), paths.sorted(), "round \(round)")
            XCTAssertEqual(try opened.info(), ImageIndex.Info(
                modelIdentifier: "fake-itc", dimension: 12, imageCount: paths.count, distinctContents: paths.count))
        }
        print("ConcurrentAddTests: images embedded per round across both processes (of 2 × \(paths.count)): \(embeddings)")
    }
}
