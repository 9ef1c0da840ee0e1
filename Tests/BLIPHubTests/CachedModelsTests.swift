import Foundation
import XCTest

@testable import BLIPHub

final class CachedModelsTests: XCTestCase {
    func testListsModelRepositoriesWithRefsSnapshotsAndSize() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("hubcache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let commit = String(repeating: "a", count: 40)
        let vqa = HubCache(root: root, repo: "Salesforce/blip-vqa-base")
        try FileManager.default.createDirectory(at: vqa.snapshotDirectory(commit: commit), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: vqa.folder.appendingPathComponent("blobs"), withIntermediateDirectories: true)
        try Data(count: 1000).write(to: vqa.blob(etag: "e1"))
        try Data(count: 24).write(to: vqa.blob(etag: "e2"))
        try Data(count: 5000).write(to: vqa.incompleteBlob(etag: "e3"))  // not counted
        try vqa.writeRef("main", commit: commit)
        try vqa.writeRef("refs/pr/3", commit: commit)
        let caption = HubCache(root: root, repo: "Salesforce/blip-image-captioning-base")
        try FileManager.default.createDirectory(at: caption.folder, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("datasets--x--y"), withIntermediateDirectories: true)

        let models = HubCache.cachedModels(root: root)
        XCTAssertEqual(models.map(\.repo), ["Salesforce/blip-image-captioning-base", "Salesforce/blip-vqa-base"])
        XCTAssertEqual(models.count, 2)
        XCTAssertEqual(models[1].refs, ["main": commit, "refs/pr/3": commit])
        XCTAssertEqual(models[1].snapshots, [commit])
        XCTAssertEqual(models[1].sizeBytes, 1024)
        XCTAssertEqual(models[0].refs, [:])
        XCTAssertEqual(models[0].sizeBytes, 0)
        XCTAssertEqual(HubCache.cachedModels(root: root.appendingPathComponent("missing")), [])
    }
}
