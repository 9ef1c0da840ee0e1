import Foundation
import XCTest

/// Runs every fuzz harness (normal build: replay mode) over its committed seeds, so the harnesses keep
/// building and every seed goes through its parser without a trap. Fuzzing itself is scripts/fuzz.sh.
final class FuzzHarnessTests: XCTestCase {
    static let targets = ["FuzzSafeTensors", "FuzzImage", "FuzzTokenizer", "FuzzConfig", "FuzzMultipart", "FuzzJSONBody",
                          "FuzzTorchCheckpoint"]

    func executable(_ name: String) throws -> URL {
        var folders = [Bundle(for: Self.self).bundleURL, Bundle.main.bundleURL,
                       URL(fileURLWithPath: CommandLine.arguments[0])]
            .map { $0.deletingLastPathComponent() }
        folders += folders.map { $0.deletingLastPathComponent() }
        for folder in folders {
            let candidate = folder.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw XCTSkip("\(name) not found in \(folders.map(\.path))")
    }

    func testEveryHarnessReplaysItsSeeds() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        for target in Self.targets {
            let seeds = target == "FuzzImage"
                ? repository.appendingPathComponent("Tests/BLIPTests/Fixtures/images")
                : repository.appendingPathComponent("Tests/FuzzSeeds/\(target)")
            let count = try FileManager.default.contentsOfDirectory(atPath: seeds.path)
                .filter { name in
                    var isFolder: ObjCBool = false
                    FileManager.default.fileExists(atPath: seeds.appendingPathComponent(name).path, isDirectory: &isFolder)
                    return !name.hasPrefix(".") && !isFolder.boolValue  // the replayer reads the files of the folder
                }.count
            XCTAssertGreaterThan(count, 2, target)
            let process = Process()
            process.executableURL = try executable(target)
            process.arguments = [seeds.path]
            var environment = ProcessInfo.processInfo.environment
            environment["SWIFT_BACKTRACE"] = "enable=no"
            process.environment = environment
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationReason, .exit, target)
            XCTAssertEqual(process.terminationStatus, 0, target)
            XCTAssertEqual(text, "\(target): ran \(count) input(s)\n", target)
        }
    }
}
