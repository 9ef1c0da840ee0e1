import BLIP
import BLIPIndexTestSupport
import Foundation
import XCTest

@testable import BLIPIndex

final class PruneAndIdentityTests: IndexTestCase {
    func testAddReportsVanishedFilesAndPruneRemovesGoneAndChangedUnderPaths() throws {
        let a = try writeImages(3, sub: "a", seed: 1)
        let b = try writeImages(2, sub: "b", seed: 2)
        let index = try ImageIndex(path: indexPath)
        let embedder = FakeEmbedder()
        try index.add(paths: [folder.appendingPathComponent("a").path, folder.appendingPathComponent("b").path],
                      embedder: embedder)
        XCTAssertEqual(try index.info().imageCount, 5)

        try FileManager.default.removeItem(atPath: a[0])
        try FileManager.default.removeItem(atPath: b[0])
        // Rewrite a[1] with other content (size and modification time change).
        try PNGWriter.solid(width: 9, height: 7, r: 1, g: 2, b: 3, seed: 999).write(to: URL(fileURLWithPath: a[1]))
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1000)], ofItemAtPath: a[1])

        let again = try index.add(paths: [folder.appendingPathComponent("a").path, "/nonexistent/folder"], embedder: embedder)
        XCTAssertEqual(again.vanished, [a[0]])  // b is not under the named paths
        XCTAssertEqual(again.missingPaths, ["/nonexistent/folder"])
        XCTAssertEqual(again.updated, 1)

        // Change a[2] after indexing; prune only under "a".
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 2000)], ofItemAtPath: a[2])
        let underA = try index.prune(under: [folder.appendingPathComponent("a").path])
        XCTAssertEqual(underA.map(\.path), [a[0], a[2]])
        XCTAssertEqual(underA.map(\.reason), [.gone, .changed])
        XCTAssertEqual(Set(try index.paths()), Set([a[1], b[0], b[1]]))

        let goneOnly = try index.prune(changed: false)
        XCTAssertEqual(goneOnly.map(\.path), [b[0]])
        XCTAssertEqual(goneOnly.map(\.reason), [.gone])
        XCTAssertEqual(Set(try index.paths()), Set([a[1], b[1]]))
        XCTAssertEqual(try index.prune().count, 0)
    }

    /// An index written with a model's old identifier (its name) is accepted by the same model
    /// identified by its weights, and rewritten to the new identifier by `add`.
    func testLegacyIdentifierIsAcceptedAndUpgraded() throws {
        let images = try writeImages(2)
        let index = try ImageIndex(path: indexPath)
        try index.add(paths: [images[0]], embedder: FakeEmbedder(modelIdentifier: "blip-itm-base-coco"))
        let fingerprinted = FakeEmbedder(modelIdentifier: "sha256:abc", legacyIdentifiers: ["blip-itm-base-coco"])
        let hits = try index.search(text: "red", embedder: fingerprinted, topK: 1)
        XCTAssertEqual(hits.hits.count, 1)
        let added = try index.add(paths: [images[1]], embedder: fingerprinted)
        XCTAssertEqual(added.added, 1)
        XCTAssertEqual(try index.info().modelIdentifier, "sha256:abc")
        // Now the old name alone is another model.
        XCTAssertThrowsError(try index.add(paths: [images[0]], embedder: FakeEmbedder(modelIdentifier: "blip-itm-base-coco"))) {
            guard case ImageIndexError.modelMismatch(_, let stored, _, let model, _)? = $0 as? ImageIndexError else {
                return XCTFail("\($0)")
            }
            XCTAssertEqual(stored, "sha256:abc")
            XCTAssertEqual(model, "blip-itm-base-coco")
        }
    }
}
