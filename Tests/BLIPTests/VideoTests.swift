import Foundation
import XCTest
@testable import BLIP

/// Zero-shot video retrieval (`scripts/reference_video.py`): FFmpeg decoding of a lossless test
/// clip, official BLIP's frame sample (with numpy's integer-step quirk) and its scores on the tiny
/// retrieval model.
final class VideoTests: XCTestCase {
    static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
    static let clip = fixtures.appendingPathComponent("video/clip.mov")

    func testOfficialSampleIncludingTheIntegerStepQuirk() {
        XCTAssertEqual(VideoFrames.officialIndices(frameCount: 21, frames: 8), [0, 2, 4, 6, 8, 10, 12, 14])  // not 0, 2.6, 5.25, …
        XCTAssertEqual(VideoFrames.officialIndices(frameCount: 16, frames: 8), [0, 2, 4, 6, 8, 10, 12, 14])
        XCTAssertEqual(VideoFrames.officialIndices(frameCount: 5, frames: 8), [0, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(VideoFrames.officialIndices(frameCount: 0, frames: 8), [])
    }

    func testDecodedFramesAreTheClipsPixels() throws {
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixtures.appendingPathComponent("video/expected.json"))) as? [String: Any])
        let frames = try VideoFrames.load(Self.clip)
        XCTAssertEqual(frames.count, (root["indices"] as! [Int]).count)
        XCTAssertEqual(try VideoFrames.decode(Self.clip, indices: []).frameCount, root["frame_count"] as? Int)
        // Frame i is the 64×48 window of the astronaut photo at (i, i).
        let photo = try RGBImage(contentsOf: Self.fixtures.appendingPathComponent("tiny/images/astronaut_96x80.png"))
        for (frame, i) in zip(frames, root["indices"] as! [Int]) {
            XCTAssertEqual(frame.width, 64)
            XCTAssertEqual(frame.height, 48)
            for y in [0, 17, 47] {
                let row = Array(frame.pixels[(y * 64 * 3)..<((y + 1) * 64 * 3)])
                let start = ((y + i) * photo.width + i) * 3
                XCTAssertEqual(row, Array(photo.pixels[start..<(start + 64 * 3)]), "frame \(i) row \(y)")
            }
        }
    }

    func testZeroShotScoresEqualTheOfficialComputation() throws {
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixtures.appendingPathComponent("video/expected.json"))) as? [String: Any])
        let cases = root["cases"] as! [[String: Any]]
        let matcher = try BlipImageTextMatcher(modelDirectory: Self.fixtures.appendingPathComponent("tiny-itm"))
        let matches = try matcher.matchVideo(VideoFrames.load(Self.clip), texts: cases.map { $0["text"] as! String })
        for (m, c) in zip(matches, cases) {
            XCTAssertEqual(Double(m.itc), c["itc"] as! Double, accuracy: 1e-5)
            for (a, b) in zip(m.itmLogits, c["itm_logits"] as! [Double]) { XCTAssertEqual(Double(a), b, accuracy: 1e-4) }
            XCTAssertEqual(Double(m.score), c["score"] as! Double, accuracy: 1e-4)
        }
    }

    func testBadVideosAreClearErrors() {
        XCTAssertThrowsError(try VideoFrames.load(Self.fixtures.appendingPathComponent("video/none.mp4"))) { error in
            XCTAssertTrue("\(error)".contains("no such file"), "\(error)")
        }
        XCTAssertThrowsError(try VideoFrames.load(Self.fixtures.appendingPathComponent("images/random.bin"))) { error in
            XCTAssertTrue("\(error)".contains("not a video"), "\(error)")
        }
        XCTAssertThrowsError(try VideoFrames.load(Self.clip, maxPixels: 100)) { error in
            XCTAssertTrue("\(error)".contains("larger than"), "\(error)")
        }
        XCTAssertThrowsError(try VideoFrames.decode(Self.clip, indices: [999]))
    }
}

/// Video QA: the VQA model's question encoder over every sampled frame's states concatenated.
final class VideoQATests: XCTestCase {
    func testAnswersEqualTransformersOverTheConcatenatedFrames() throws {
        let fixtures = VideoTests.fixtures
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: fixtures.appendingPathComponent("video/expected.json"))) as? [String: Any])
        let answerer = try BlipQuestionAnswerer(modelDirectory: fixtures.appendingPathComponent("tiny-vqa"))
        let video = try answerer.encodeVideo(VideoFrames.load(VideoTests.clip))
        XCTAssertEqual(video.embeddings.shape[1], 8 * answerer.model.config.visionConfig.numPositions)
        var options = GenerationOptions()
        options.maxNewTokens = 6
        options.minNewTokens = 4
        for c in try XCTUnwrap(root["vqa"] as? [[String: Any]]) {
            let answer = try answerer.answer(c["question"] as! String, image: video, options: options)
            XCTAssertEqual(answer.tokenIds, c["token_ids"] as? [Int])
            XCTAssertEqual(answer.text, c["answer"] as? String)
        }
    }
}
