import BLIP
import BlipServer
import Foundation
import Hummingbird
import HummingbirdTesting
import XCTest

final class BatchingTests: XCTestCase {
    /// Concurrent requests for one model form one batch; the max batch size splits the rest.
    func testConcurrentRequestsShareBatches() async throws {
        let log = BatchLog()
        var limits = ServerLimits()
        limits.maxBatchSize = 4
        limits.maxWaitMilliseconds = 2000  // generous for loaded machines: a full batch goes at once
        let server = makeServer(log: log, limits: limits)
        let images = [Fixture.astronaut, Fixture.camera].map { $0.base64EncodedString() }
        try await withClient(server) { client in
            let captions = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                for i in 0..<6 {
                    group.addTask {
                        try await client.execute(uri: "/api/v1/inference/blip", method: .post, headers: jsonHeaders,
                                                 body: body(["image": images[i % 2]])) { r in
                            XCTAssertEqual(r.status, .ok)
                            return (i, json(r)["caption"] as? String)
                        }
                    }
                }
                var out = [String?](repeating: nil, count: 6)
                for try await (i, c) in group { out[i] = c }
                return out
            }
            // Each request got its own image's caption back.
            XCTAssertEqual(captions, (0..<6).map { $0 % 2 == 0 ? "caption 96x80" : "caption 40x56" })
        }
        XCTAssertEqual(log.batchSizes, [4, 2])
        XCTAssertEqual(server.metrics.batchStats(model: "caption").batches, 2)
        XCTAssertEqual(server.metrics.batchStats(model: "caption").requests, 6)
    }

    /// Requests with different options never share a batch.
    func testDifferentOptionsRunInSeparateBatches() async throws {
        let log = BatchLog()
        var limits = ServerLimits()
        limits.maxBatchSize = 8
        limits.maxWaitMilliseconds = 1000
        let server = makeServer(log: log, limits: limits)
        let image = Fixture.camera.base64EncodedString()
        try await withClient(server) { client in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<4 {
                    group.addTask {
                        try await client.execute(uri: "/api/v1/inference/blip", method: .post, headers: jsonHeaders,
                                                 body: body(["image": image, "num_beams": 1 + i % 2])) { r in
                            XCTAssertEqual(json(r)["caption"] as? String, i % 2 == 0 ? "caption 40x56" : "caption 40x56 | beams 2")
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        XCTAssertEqual(log.batchSizes, [2, 2])
    }

    /// A full queue answers 503 with Retry-After; the queued requests still complete.
    func testFullQueueIs503WithRetryAfter() async throws {
        let log = BatchLog(gated: true)
        var limits = ServerLimits()
        limits.maxBatchSize = 1
        limits.maxWaitMilliseconds = 0
        limits.queueLimit = 1
        limits.retryAfterSeconds = 2
        let server = makeServer(log: log, limits: limits)
        let image = Fixture.camera.base64EncodedString()
        try await withClient(server) { client in
            let send: @Sendable () async throws -> HTTPResponse.Status = {
                try await client.execute(uri: "/api/v1/inference/blip", method: .post, headers: jsonHeaders, body: body(["image": image])) { $0.status }
            }
            let first = Task { try await send() }
            // Wait until the first request is inside the (blocked) model.
            while log.batchesEntered < 1 { try await Task.sleep(for: .milliseconds(5)) }
            let second = Task { try await send() }
            // Wait until the second is queued.
            while server.metrics.prometheusText().contains("blip_queue_depth{model=\"caption\"} 1") == false {
                try await Task.sleep(for: .milliseconds(5))
            }
            try await client.execute(uri: "/api/v1/inference/blip", method: .post, headers: jsonHeaders, body: body(["image": image])) { r in
                XCTAssertEqual(r.status, .serviceUnavailable)
                XCTAssertEqual(r.headers[.retryAfter], "2")
                XCTAssertEqual(json(r)["error_type"] as? String, "queue_full")
            }
            log.gate?.signal()
            log.gate?.signal()
            let s1 = try await first.value
            let s2 = try await second.value
            XCTAssertEqual(s1, .ok)
            XCTAssertEqual(s2, .ok)
        }
    }

    /// The batcher on its own: max batch size respected, outputs matched to inputs, a failing
    /// input isolated from the rest of its batch.
    func testBatcherSplitsAndIsolatesFailures() async throws {
        struct Odd: Error {}
        let sizes = BatchLog()
        let batcher = DynamicBatcher<Int, Int, Int>(
            name: "t", maxBatchSize: 3, maxWait: .milliseconds(1000), queueLimit: 16, thread: ModelThread(name: "t")
        ) { inputs, _ in
            sizes.record(inputs.count)
            if inputs.contains(13) { throw Odd() }
            return inputs.map { $0 * 10 }
        }
        let results = await withTaskGroup(of: (Int, Int?).self) { group in
            for i in [1, 2, 13, 4, 5] {
                group.addTask { (i, try? await batcher.submit(i, key: 0)) }
            }
            var out: [Int: Int?] = [:]
            for await (i, r) in group { out[i] = r }
            return out
        }
        XCTAssertEqual(results[1], 10)
        XCTAssertEqual(results[2], 20)
        XCTAssertEqual(results[13], .some(nil))
        XCTAssertEqual(results[4], 40)
        XCTAssertEqual(results[5], 50)
        // A full first batch, the rest in the second; the batch holding 13 re-run one by one.
        XCTAssertEqual(sizes.batchSizes.first, 3, "\(sizes.batchSizes)")
        XCTAssertTrue(sizes.batchSizes == [3, 1, 1, 1, 2] || sizes.batchSizes == [3, 2, 1, 1], "\(sizes.batchSizes)")
    }

    /// A key that does not equal itself (like a key holding NaN) must still run: every request
    /// completes, each in its own batch, instead of the batcher spinning on empty batches.
    func testKeyThatIsNeverEqualStillCompletesEveryRequest() async throws {
        struct NeverEqual: Equatable, Sendable { static func == (_: Self, _: Self) -> Bool { false } }
        let sizes = BatchLog()
        let batcher = DynamicBatcher<Int, Int, NeverEqual>(
            name: "t", maxBatchSize: 4, maxWait: .milliseconds(5), queueLimit: 16, thread: ModelThread(name: "t")
        ) { inputs, _ in
            sizes.record(inputs.count)
            return inputs.map { $0 + 100 }
        }
        // Watchdog: before the fix the batcher never answered; fail instead of hanging.
        let results: [Int: Int]? = await withTaskGroup(of: [Int: Int]?.self) { group in
            group.addTask {
                await withTaskGroup(of: (Int, Int?).self) { inner in
                    for i in 0..<5 { inner.addTask { (i, try? await batcher.submit(i, key: NeverEqual())) } }
                    var out: [Int: Int] = [:]
                    for await (i, r) in inner { if let r { out[i] = r } }
                    return out
                }
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(60))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        XCTAssertEqual(results, [0: 100, 1: 101, 2: 102, 3: 103, 4: 104])
        XCTAssertEqual(sizes.batchSizes, [1, 1, 1, 1, 1])
    }
}
