import BLIP
import Foundation
import XCTest

final class BatchPipelineTests: XCTestCase {
    /// The next item is prepared while the current one is consumed: consume(0) waits for
    /// prepare(1) to have started, which only an overlapping pipeline lets happen.
    func testNextItemIsPreparedDuringConsume() throws {
        let started = (0..<3).map { _ in DispatchSemaphore(value: 0) }
        var order: [Int] = []
        forEachPrepared(3, prepare: { i -> Int in
            started[i].signal()
            return i * 10
        }) { i, value in
            XCTAssertEqual(value, i * 10)
            order.append(i)
            if i + 1 < 3 {
                XCTAssertEqual(started[i + 1].wait(timeout: .now() + 30), .success, "item \(i + 1) was not prepared ahead")
            }
        }
        XCTAssertEqual(order, [0, 1, 2])
    }

    /// A throwing consumer stops the run (after the item in flight is prepared) and nothing more
    /// is consumed.
    func testThrowingConsumerStops() {
        struct Stop: Error {}
        var consumed: [Int] = []
        XCTAssertThrowsError(try forEachPrepared(5, prepare: { $0 }) { i, _ in
            consumed.append(i)
            if i == 1 { throw Stop() }
        })
        XCTAssertEqual(consumed, [0, 1])
    }

    /// Batches with an unreadable input in the middle: every input gets its result, in order;
    /// the readable ones get exactly the captions of a plain batch call.
    func testCaptionBatchesKeepOrderAndReportFailures() throws {
        let names = TinyFixture.expected.images
        let images = try names.map(TinyFixture.image)
        var options = TinyFixture.captioner.defaultOptions
        options.generation.maxNewTokens = 6
        let expected = try TinyFixture.captioner.captions(for: images, options: options)
        XCTAssertGreaterThanOrEqual(images.count, 3)
        let sources = [0, -1, 1, 2, -1]
        var results: [BatchCaptionResult<Int>] = []
        var batchSizes: [Int] = []
        try TinyFixture.captioner.captionBatches(sources, batchSize: 2, options: options, load: { i in
            guard i >= 0 else { throw ImageDecodingError(kind: .unreadable, source: "missing.jpg", detail: "no such file") }
            return images[i]
        }) { batch in
            batchSizes.append(batch.count)
            results += batch
        }
        XCTAssertEqual(results.map(\.source), sources)
        XCTAssertEqual(batchSizes, [2, 2, 1])
        for r in results {
            if r.source < 0 {
                XCTAssertThrowsError(try r.captions.get()) { XCTAssertTrue("\($0)".contains("missing.jpg")) }
            } else {
                XCTAssertEqual(try r.captions.get(), expected[r.source])
            }
        }
        XCTAssertThrowsError(try TinyFixture.captioner.captionBatches([0], batchSize: 0, load: { _ in images[0] }) { _ in })
    }
}
