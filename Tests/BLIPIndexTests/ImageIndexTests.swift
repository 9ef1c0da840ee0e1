import BLIP
import BLIPHub
import BLIPIndexTestSupport
import Foundation
import XCTest

@testable import BLIPIndex

/// A scratch folder removed after each test.
class IndexTestCase: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("blip-index-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    var indexPath: String { folder.appendingPathComponent("index.sqlite").path }

    /// Writes `count` distinct PNGs (pseudo-random colours) into `folder/sub`; returns their paths.
    @discardableResult
    func writeImages(_ count: Int, sub: String = "images", seed: UInt64 = 1) throws -> [String] {
        let dir = folder.appendingPathComponent(sub, isDirectory: true)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var rng = SplitMix(seed: seed)
        return try (0..<count).map { i in
            let url = dir.appendingPathComponent(String(format: "img%03d.png", i))
            let data = PNGWriter.solid(r: UInt8(rng.next() % 256), g: UInt8(rng.next() % 256),
                                       b: UInt8(rng.next() % 256), seed: seed &* 1000 &+ UInt64(i))
            try data.write(to: url)
            return url.path
        }
    }

    func decode(_ path: String) throws -> RGBImage { try RGBImage(contentsOf: URL(fileURLWithPath: path)) }

    func dot(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
}

final class ImageIndexTests: IndexTestCase {
    func testSHA256KnownVectors() {
        // FIPS 180-4 examples.
        XCTAssertEqual(SHA256.hex(Data()),
                       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(Data("abc".utf8)),
                       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(Data("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        // One million "a": exercises many blocks and the buffered path (odd-sized updates).
        var h = SHA256()
        let chunk = Data(repeating: UInt8(ascii: "a"), count: 999)
        for _ in 0..<1001 { h.update(chunk) }
        h.update(Data(repeating: UInt8(ascii: "a"), count: 1_000_000 - 999 * 1001))
        XCTAssertEqual(h.finalize(),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testIncrementalAddSkipsSameHashAndReusesEmbeddings() throws {
        let paths = try writeImages(5)
        let fake = FakeEmbedder()
        let index = try ImageIndex(path: indexPath)
        let first = try index.add(paths: [folder.appendingPathComponent("images")], embedder: fake,
                                  options: .init(batchSize: 2))
        XCTAssertEqual(first.added, 5)
        XCTAssertEqual(first.embedded, 5)
        XCTAssertEqual(fake.embeddedImages, 5)
        XCTAssertEqual(try index.paths(), paths)

        // Nothing changed: nothing read through the model.
        let second = try index.add(paths: [folder.path], embedder: fake)
        XCTAssertEqual(second.unchanged, 5)
        XCTAssertEqual(second.added + second.updated + second.embedded, 0)

        // Same bytes, new modification time: hashed again, found identical, not re-embedded.
        try Data(contentsOf: URL(fileURLWithPath: paths[0])).write(to: URL(fileURLWithPath: paths[0]))
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_000_000)],
                                              ofItemAtPath: paths[0])
        let third = try index.add(paths: [folder.path], embedder: fake)
        XCTAssertEqual(third.unchanged, 5)
        XCTAssertEqual(third.embedded, 0)
        XCTAssertEqual(fake.embeddedImages, 5)

        // Same content at a new path: a new row, with the stored embedding copied (no model run).
        let copy = folder.appendingPathComponent("images/zz-copy.png").path
        try FileManager.default.copyItem(atPath: paths[2], toPath: copy)
        let fourth = try index.add(paths: [folder.path], embedder: fake)
        XCTAssertEqual(fourth.added, 1)
        XCTAssertEqual(fourth.reused, 1)
        XCTAssertEqual(fourth.embedded, 0)
        XCTAssertEqual(fake.embeddedImages, 5)
        let info = try index.info()
        XCTAssertEqual(info.imageCount, 6)
        XCTAssertEqual(info.distinctContents, 5)
        XCTAssertEqual(info.modelIdentifier, "fake-itc")
        XCTAssertEqual(info.dimension, 12)
        let hits = try index.search(image: try decode(paths[2]), embedder: fake, topK: 2)
        XCTAssertEqual(Set(hits.map(\.path)), [paths[2], copy])
        XCTAssertEqual(hits[0].itc, 1, accuracy: 1e-5)
        XCTAssertEqual(hits[1].itc, 1, accuracy: 1e-5)
    }

    func testModifiedFileIsReEmbedded() throws {
        let paths = try writeImages(4)
        let fake = FakeEmbedder()
        let index = try ImageIndex(path: indexPath)
        try index.add(paths: [folder.path], embedder: fake)

        try PNGWriter.solid(r: 250, g: 5, b: 5, seed: 77).write(to: URL(fileURLWithPath: paths[1]))
        let summary = try index.add(paths: [folder.path], embedder: fake)
        XCTAssertEqual(summary.updated, 1)
        XCTAssertEqual(summary.unchanged, 3)
        XCTAssertEqual(summary.embedded, 1)
        XCTAssertEqual(try index.info().imageCount, 4)

        // The stored vector is the new image's.
        let expected = fake.imageVector(try decode(paths[1]))
        let matrix = try index.matrix(for: fake)
        let row = try XCTUnwrap(matrix.paths.firstIndex(of: paths[1]))
        let stored = Array(matrix.values[(row * 12)..<(row * 12 + 12)])
        for (a, b) in zip(stored, expected) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        XCTAssertEqual(try index.search(text: "red", embedder: fake, topK: 1).hits.first?.path, paths[1])
    }

    func testUnreadableImagesAreReportedAndSkipped() throws {
        let paths = try writeImages(3)
        let bad = folder.appendingPathComponent("images/broken.png")
        try Data("not a png".utf8).write(to: bad)
        let missing = folder.appendingPathComponent("nowhere.jpg").path
        let index = try ImageIndex(path: indexPath)
        let summary = try index.add(paths: [folder.path, missing], embedder: FakeEmbedder())
        XCTAssertEqual(summary.added, 3)
        XCTAssertEqual(Set(summary.failures.map(\.path)), [bad.path, missing])
        XCTAssertEqual(try index.paths(), paths)

        // An indexed file that becomes unreadable loses its row.
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: paths[0]))
        let again = try index.add(paths: [folder.path], embedder: FakeEmbedder())
        XCTAssertEqual(again.removed, 1)
        XCTAssertEqual(try index.paths(), Array(paths[1...]))
    }

    func testTextSearchEqualsBruteForceRanking() throws {
        let paths = try writeImages(40)
        let fake = FakeEmbedder()
        let index = try ImageIndex(path: indexPath)
        try index.add(paths: [folder.path], embedder: fake, options: .init(batchSize: 7))
        let vectors = try paths.map { fake.imageVector(try decode($0)) }
        for query in ["red", "green", "blue", "a photo of a dog"] {
            let q = fake.textVector(query)
            let expected = paths.indices.map { (paths[$0], dot(vectors[$0], q)) }
                .sorted { $0.1 > $1.1 }
            let hits = try index.search(text: query, embedder: fake, topK: 10).hits
            XCTAssertEqual(hits.map(\.path), expected.prefix(10).map(\.0), query)
            XCTAssertEqual(hits.map(\.rank), Array(1...10))
            for (hit, e) in zip(hits, expected) {
                XCTAssertEqual(hit.itc, e.1, accuracy: 1e-5)
                XCTAssertNil(hit.itm)
            }
        }
        // topK larger than the gallery returns everything.
        XCTAssertEqual(try index.search(text: "red", embedder: fake, topK: 100).hits.count, 40)
    }

    func testRerankScoreIsITMPlusITC() throws {
        let paths = try writeImages(25)
        let fake = FakeEmbedder()
        let index = try ImageIndex(path: indexPath)
        try index.add(paths: [folder.path], embedder: fake)
        let images = try paths.map(decode)
        let text = "green"
        let q = fake.textVector(text)
        let byITC = paths.indices.sorted { dot(fake.imageVector(images[$0]), q) > dot(fake.imageVector(images[$1]), q) }
        let k = 8
        let expected = byITC.prefix(k).map { i -> (String, Float, Float) in
            (paths[i], dot(fake.imageVector(images[i]), q), fake.itm(images[i], text))
        }.sorted { $0.1 + $0.2 > $1.1 + $1.2 }

        var reported: [[Int]] = []
        let results = try index.search(text: text, embedder: fake, topK: 5, rerank: k, reranker: fake,
                                       progress: { reported.append([$0, $1]) })
        XCTAssertEqual(reported.last, [k, k], "re-ranking reports its progress up to K")
        XCTAssertTrue(results.failures.isEmpty)
        XCTAssertEqual(results.hits.map(\.path), expected.prefix(5).map(\.0))
        for (hit, e) in zip(results.hits, expected) {
            let itm = try XCTUnwrap(hit.itm)
            XCTAssertEqual(itm, e.2, accuracy: 1e-6)
            XCTAssertEqual(hit.itc, e.1, accuracy: 1e-5)
            XCTAssertEqual(hit.score, itm + hit.itc, accuracy: 1e-6)
        }
        // The order is by itc + itm, not by itc alone (the fake's ITM is unrelated to colour).
        XCTAssertNotEqual(results.hits.map(\.path), byITC.prefix(5).map { paths[$0] })

        // rerank without a re-ranker is refused.
        XCTAssertThrowsError(try index.search(text: text, embedder: fake, topK: 5, rerank: 3))
    }

    func testImageToTextRanking() throws {
        let fake = FakeEmbedder()
        let image = try RGBImage(data: PNGWriter.solid(r: 20, g: 30, b: 240, seed: 5))
        let texts = ["red", "green", "blue", "white", "a cat on a mat", "black"]
        let hits = try ImageIndex.rankTexts(texts, image: image, embedder: fake, topK: 6)
        let v = fake.imageVector(image)
        let expected = texts.indices.sorted { dot(v, fake.textVector(texts[$0])) > dot(v, fake.textVector(texts[$1])) }
        XCTAssertEqual(hits.map(\.index), expected)
        XCTAssertEqual(hits.first?.text, "blue")
        for hit in hits { XCTAssertEqual(hit.itc, dot(v, fake.textVector(hit.text)), accuracy: 1e-5) }

        let reranked = try ImageIndex.rankTexts(texts, image: image, embedder: fake, topK: 3, rerank: 4, reranker: fake)
        let expectedReranked = expected.prefix(4).sorted {
            dot(v, fake.textVector(texts[$0])) + fake.itm(image, texts[$0])
                > dot(v, fake.textVector(texts[$1])) + fake.itm(image, texts[$1])
        }
        XCTAssertEqual(reranked.map(\.index), Array(expectedReranked.prefix(3)))
        for hit in reranked { XCTAssertEqual(hit.itm ?? -1, fake.itm(image, hit.text), accuracy: 1e-6) }
    }

    func testModelMismatchIsRefused() throws {
        try writeImages(2)
        let index = try ImageIndex(path: indexPath)
        try index.add(paths: [folder.path], embedder: FakeEmbedder())
        let reopened = try ImageIndex(path: indexPath, create: false)
        for other in [FakeEmbedder(modelIdentifier: "other-model"), FakeEmbedder(dimension: 16)] {
            XCTAssertThrowsError(try reopened.add(paths: [folder.path], embedder: other)) { error in
                guard case .modelMismatch(_, "fake-itc", 12, _, _)? = error as? ImageIndexError else {
                    return XCTFail("unexpected \(error)")
                }
            }
            XCTAssertThrowsError(try reopened.search(text: "red", embedder: other)) { error in
                XCTAssertTrue(describe(error).contains("fake-itc"), describe(error))
            }
        }
        XCTAssertEqual(try reopened.info().imageCount, 2)
    }

    func testNotAnIndexAndMissingIndex() throws {
        let text = folder.appendingPathComponent("notes.sqlite")
        try Data(String(repeating: "this is not a database\n", count: 100).utf8).write(to: text)
        XCTAssertThrowsError(try ImageIndex(path: text.path)) { error in
            guard case .notAnIndex? = error as? ImageIndexError else { return XCTFail("unexpected \(error)") }
        }
        // Another program's SQLite database (here: a copy of an index with an extra table is still accepted,
        // but a database without the index tables is refused, and left without our tables).
        let foreign = folder.appendingPathComponent("foreign.sqlite").path
        do {
            let other = try ImageIndex(path: foreign)
            try other.pool.write { db in
                try db.execute(sql: "DROP TABLE image; CREATE TABLE notes (body TEXT)")
            }
        }
        XCTAssertThrowsError(try ImageIndex(path: foreign)) { error in
            guard case .notAnIndex(_, "the database holds other tables")? = error as? ImageIndexError else {
                return XCTFail("unexpected \(error)")
            }
        }
        XCTAssertThrowsError(try ImageIndex(path: folder.appendingPathComponent("no/such/folder/x.sqlite").path)) {
            XCTAssertTrue("\($0)".contains("does not exist"), "\($0)")
        }
        let absent = folder.appendingPathComponent("absent.sqlite").path
        XCTAssertThrowsError(try ImageIndex(path: absent, create: false)) { error in
            XCTAssertEqual(error as? ImageIndexError, .indexNotFound(absent))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: absent))
    }

    func testProgressBarRendering() {
        XCTAssertEqual(ProgressBar.render(done: 5, total: 10, elapsed: 2, width: 10),
                       "[=====>    ] 5/10 images  2.5 img/s")
        XCTAssertEqual(ProgressBar.render(done: 10, total: 10, elapsed: 4, width: 10),
                       "[==========] 10/10 images  2.5 img/s")
        XCTAssertEqual(ProgressBar.render(done: 3, total: 6, elapsed: 1, width: 4, unit: "files"), "[==> ] 3/6 files  3.0 files/s")
        XCTAssertEqual(ProgressBar.eta(done: 0, total: 10, elapsed: 5), "")
        XCTAssertEqual(ProgressBar.eta(done: 5, total: 10, elapsed: 5), "  ETA 5s")
        XCTAssertEqual(ProgressBar.eta(done: 10, total: 100, elapsed: 10), "  ETA 1m30s")
        XCTAssertEqual(ProgressBar.eta(done: 10, total: 10, elapsed: 10), "")
    }

    private func describe(_ error: Error) -> String { (error as? LocalizedError)?.errorDescription ?? "\(error)" }
}
