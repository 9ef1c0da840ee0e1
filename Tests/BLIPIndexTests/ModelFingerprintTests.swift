import Foundation
import XCTest
@testable import BLIPIndex

final class ModelFingerprintTests: XCTestCase {
    /// The tiny retrieval fixture of the BLIP tests (read in place).
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("BLIPTests/Fixtures/tiny-itm")

    func copy(_ source: URL, configEdit: (inout [String: Any]) -> Void = { _ in }) throws -> URL {
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("fingerprint-\(UUID().uuidString)")
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        for name in ["config.json", "model.safetensors"] {
            try fm.copyItem(at: source.appendingPathComponent(name), to: dir.appendingPathComponent(name))
        }
        let configURL = dir.appendingPathComponent("config.json")
        var config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any])
        configEdit(&config)
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted]).write(to: configURL)
        addTeardownBlock { try? fm.removeItem(at: dir) }
        return dir
    }

    func testSameWeightsAnywhereGetOneFingerprint() throws {
        let original = try ModelFingerprint.of(directory: Self.fixture)
        XCTAssertTrue(original.hasPrefix("sha256:"))
        XCTAssertEqual(original.count, 7 + 64)
        // A copy elsewhere, with another _name_or_path and transformers_version, re-serialised JSON.
        let renamed = try copy(Self.fixture) {
            $0["_name_or_path"] = "/somewhere/else"
            $0["transformers_version"] = "9.9.9"
        }
        XCTAssertEqual(try ModelFingerprint.of(directory: renamed), original)
        // A symlink to the directory.
        let link = FileManager.default.temporaryDirectory.appendingPathComponent("fingerprint-link-\(UUID().uuidString)")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: Self.fixture)
        defer { try? FileManager.default.removeItem(at: link) }
        XCTAssertEqual(try ModelFingerprint.of(directory: link), original)
    }

    func testOtherWeightsOrConfigGetAnotherFingerprint() throws {
        let original = try ModelFingerprint.of(directory: Self.fixture)
        let edited = try copy(Self.fixture) { $0["projection_dim"] = 999 }
        XCTAssertNotEqual(try ModelFingerprint.of(directory: edited), original)
        // One byte of tensor data at the first sample point changed.
        let other = try copy(Self.fixture)
        let weights = other.appendingPathComponent("model.safetensors")
        var bytes = [UInt8](try Data(contentsOf: weights))
        let header = Int(bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        bytes[8 + header] ^= 0x01
        try Data(bytes).write(to: weights)
        XCTAssertNotEqual(try ModelFingerprint.of(directory: other), original)
    }

    func testMissingConfigIsAClearError() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("fingerprint-empty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        XCTAssertThrowsError(try ModelFingerprint.of(directory: empty)) {
            XCTAssertEqual($0.localizedDescription, "\(empty.path)/config.json: cannot read the model's config.json")
        }
    }
}
