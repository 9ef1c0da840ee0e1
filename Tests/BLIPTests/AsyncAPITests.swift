import Foundation
import XCTest
@testable import BLIP

/// The async API, token streaming and cancellation, on the tiny fixture models.
final class AsyncAPITests: XCTestCase {
    var captioner: BlipCaptioner { TinyFixture.captioner }

    func image() throws -> RGBImage { try TinyFixture.image("images/astronaut_96x80.png") }

    // The blocking API (in an async context, the same names pick the async overloads).
    func blockingCaptions(_ images: [RGBImage]) throws -> [[Caption]] { try captioner.captions(for: images) }
    func blockingAnswer(_ question: String, _ image: RGBImage) throws -> VQAAnswer {
        try TinyVQAFixture.answerer.answer(question, image: image)
    }

    func testAsyncCaptionEqualsTheSyncOne() async throws {
        let sync = try blockingCaptions([try image()])[0][0]
        let async = try await captioner.caption(try image())
        XCTAssertEqual(async, sync)
        XCTAssertGreaterThan(sync.tokenIds.count, 2)
    }

    func testBatchesReportProgressAndKeepOrder() async throws {
        let images = [try image(), try TinyFixture.image("images/chelsea_60x90.png"), try image()]
        let seen = Counter()
        let results = try await captioner.captions(for: images, batchSize: 2, progress: { done, total in
            seen.append("\(done)/\(total)")
        })
        XCTAssertEqual(seen.values, ["2/3", "3/3"])
        XCTAssertEqual(results.count, 3)
        let expected = try blockingCaptions(images)
        XCTAssertEqual(results.map { $0[0] }, expected.map { $0[0] })
    }

    func testStreamGrowsTokenByTokenAndEndsWithTheCaption() async throws {
        let expected = try blockingCaptions([try image()])[0][0]
        var partials: [String] = []
        for try await text in captioner.captionStream(try image()) { partials.append(text) }
        XCTAssertEqual(partials.last, expected.text)
        XCTAssertGreaterThan(partials.count, 3)
        XCTAssertEqual(Set(partials).count, partials.count)  // no step repeats the previous text
    }

    /// A monitor that cancels after three steps stops greedy decoding there.
    func testMonitorCancelsBetweenTokens() throws {
        let steps = Counter()
        let monitor = GenerationMonitor(onStep: { _ in steps.append("step") }, isCancelled: { steps.values.count >= 3 })
        XCTAssertThrowsError(try captioner.captions(for: [try image()], monitor: monitor)) {
            XCTAssertTrue($0 is CancellationError, "\($0)")
        }
        XCTAssertEqual(steps.values.count, 3)
        var beams = captioner.defaultOptions
        beams.generation.numBeams = 3
        XCTAssertThrowsError(try captioner.captions(for: [try image()], options: beams,
                                                    monitor: GenerationMonitor(isCancelled: { true }))) {
            XCTAssertTrue($0 is CancellationError, "\($0)")
        }
    }

    /// A task cancelled before its question is answered throws CancellationError.
    func testCancelledTaskThrowsCancellationError() async throws {
        let answerer = TinyVQAFixture.answerer
        let picture = try image()
        let task = Task { () async throws -> VQAAnswer in
            while !Task.isCancelled { await Task.yield() }
            return try await answerer.answer("what is it?", image: picture)
        }
        task.cancel()
        do {
            _ = try await task.value
            XCTFail("expected CancellationError")
        } catch {
            XCTAssertTrue(error is CancellationError, "\(error)")
        }
        let answer = try await answerer.answer("what is it?", image: picture)
        let expected = try blockingAnswer("what is it?", picture)
        XCTAssertEqual(answer, expected)
    }
}

/// A thread-safe list of strings (test helper).
private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func append(_ s: String) { lock.withLock { list.append(s) } }
    var values: [String] { lock.withLock { list } }
}

final class PretrainedTests: XCTestCase {
    /// `init(pretrained:)` takes a directory as well as a hub id (an existing directory wins).
    func testPretrainedFromADirectory() throws {
        let captioner = try BlipCaptioner(pretrained: TinyFixture.directory.path)
        XCTAssertEqual(captioner.defaultGeneration, TinyFixture.captioner.defaultGeneration)
        XCTAssertThrowsError(try BlipCaptioner(pretrained: "/nonexistent/model-dir")) {
            XCTAssertEqual($0.localizedDescription, "/nonexistent/model-dir is not a model directory")
        }
    }
}
