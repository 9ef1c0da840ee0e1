import BLIP
@testable import BLIPData
import Foundation
import XCTest

/// The CapFilt pipeline with the tiny fixture models: scores equal to transformers', seeded
/// captions, every bad-data case as a counted row, sharding and resuming.
final class CapFiltTests: XCTestCase {
    static let models = Result {
        CapFiltModels(captioner: try BlipCaptioner(modelDirectory: modelFixtures.appendingPathComponent("tiny")),
                      filter: try BlipImageTextMatcher(modelDirectory: modelFixtures.appendingPathComponent("tiny-itm")))
    }

    func runner(_ output: URL, _ configure: (inout CapFiltOptions) -> Void = { _ in },
                loading: ImageLoading = ImageLoading()) throws -> CapFiltRunner {
        var options = CapFiltOptions()
        options.batchSize = 3
        configure(&options)
        return CapFiltRunner(models: try Self.models.get(), options: options, output: output, loading: loading)
    }

    func metaRows(_ url: URL) throws -> [[String: Any]] {
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    var tarShards: [String] { ["00000.tar", "00001.tar"].map { dataFixtures.appendingPathComponent("webdataset/\($0)").path } }

    /// Web captions only: every text's ITM probability and ITC cosine equal transformers' on
    /// the tiny ITM model; every bad sample is a row with its status.
    func testFilterScoresEqualTransformersAndBadSamplesAreRows() throws {
        let out = try temporaryFolder("filter")
        let plan = try ShardPlan(inputs: tarShards, shardSize: 100)
        let stats = try runner(out) { $0.numCaptions = 0; $0.threshold = 0.37 }.run(plan.shards)
        let expected = try XCTUnwrap(expectedData()["samples"] as? [String: [String: Any]])
        var rows: [String: [String: Any]] = [:]
        for shard in ["00000", "00001"] {
            for row in try metaRows(out.appendingPathComponent("\(shard)_meta.jsonl")) { rows[row["key"] as! String] = row }
        }
        for (key, want) in expected {
            let row = try XCTUnwrap(rows[key], key)
            XCTAssertEqual(row["status"] as? String, "success")
            let text = try XCTUnwrap((row["texts"] as? [[String: Any]])?.first)
            XCTAssertEqual(text["text"] as? String, want["text"] as? String)
            XCTAssertEqual(text["itm"] as! Double, want["itm"] as! Double, accuracy: 2e-5, key)
            XCTAssertEqual(text["itc"] as! Double, want["itc"] as! Double, accuracy: 2e-5, key)
            XCTAssertEqual(text["kept"] as? Bool, (want["itm"] as! Double) >= 0.37)
        }
        XCTAssertEqual(rows["000000002"]?["status"] as? String, "failed_to_decode")  // truncated PNG
        XCTAssertEqual(rows["000000003"]?["status"] as? String, "failed_to_decode")  // not an image
        XCTAssertEqual(rows["000010001"]?["caption_error"] as? String, "the caption (txt) is not UTF-8")
        XCTAssertEqual(rows["000010002"]?["status"] as? String, "bad_record")  // no image member
        XCTAssertEqual(rows["000010003"]?["caption_error"] as? String, "empty caption")
        XCTAssertEqual(stats.map(\.samples), [4, 5])
        XCTAssertEqual(stats.map(\.failed), [2, 1])
        XCTAssertEqual(stats[0].failures, ["failed_to_decode": 2])
        XCTAssertEqual(stats[1].captionErrors, 2)
        // The output tar holds the kept samples, image bytes untouched, KEY.txt = the kept text.
        let reader = try WebDatasetReader(path: out.appendingPathComponent("00000.tar").path)
        var written: [String] = []
        while let (key, members) = try reader.nextMembers() {
            written.append(key)
            XCTAssertEqual(Set(members.keys), ["png", "txt", "json"])
            XCTAssertEqual(String(decoding: members["txt"]!, as: UTF8.self), (expected[key]?["text"] as? String))
        }
        XCTAssertEqual(written, expected.keys.filter { $0.hasPrefix("00000") && (expected[$0]!["itm"] as! Double) >= 0.37 }.sorted())
        XCTAssertEqual(stats[0].written, written.count)
    }

    /// Seeded synthetic captions: the same seed gives the same captions whatever the batch size;
    /// another seed other captions. K captions per image.
    func testSeededCaptionsAreReproducible() throws {
        let plan = try ShardPlan(inputs: [tarShards[0]], shardSize: 100)
        func captions(seed: UInt64, batch: Int) throws -> [String: [String]] {
            let out = try temporaryFolder("seed")
            _ = try runner(out) { $0.numCaptions = 3; $0.seed = seed; $0.batchSize = batch }.run(plan.shards)
            var result: [String: [String]] = [:]
            for row in try metaRows(out.appendingPathComponent("00000_meta.jsonl")) {
                if let s = row["synthetic_captions"] as? [String] { result[row["key"] as! String] = s }
            }
            return result
        }
        let a = try captions(seed: 7, batch: 3)
        XCTAssertEqual(a.count, 2)
        XCTAssertTrue(a.values.allSatisfy { $0.count == 3 && Set($0).count == 3 }, "\(a)")
        XCTAssertEqual(try captions(seed: 7, batch: 1), a)
        XCTAssertNotEqual(try captions(seed: 8, batch: 3), a)
    }

    /// Record files: missing files, URLs without --allow-remote-images, images over the pixel
    /// budget, malformed lines; fetched URLs when a fetcher is given.
    func testRecordInputsAndTheirFailures() throws {
        let folder = try temporaryFolder("records")
        let images = modelFixtures.appendingPathComponent("tiny-itm/images")
        let lines = [
            #"{"image": "astronaut_64x64.png", "caption": "an astronaut"}"#,
            #"{"image": "nowhere.png", "caption": "gone"}"#,
            #"{"url": "http://example.invalid/cat.png", "caption": "a cat"}"#,
            "{broken",
            #"{"image": "\#(modelFixtures.appendingPathComponent("tiny/images/chelsea_60x90.png").path)", "caption": "a cat", "extra": [1, 2]}"#,
        ]
        let input = folder.appendingPathComponent("train.jsonl")
        try Data(lines.joined(separator: "\n").utf8).write(to: input)
        let out = folder.appendingPathComponent("out")
        let plan = try ShardPlan(inputs: [input.path], shardSize: 3)
        var r = try runner(out) { $0.numCaptions = 1; $0.threshold = 0 }
        r = CapFiltRunner(models: r.models, options: r.options, output: out,
                          loading: ImageLoading(maxPixels: 64 * 64), imageRoot: images.path)  // 60x90 is over
        let stats = try r.run(plan.shards)
        let rows = try metaRows(out.appendingPathComponent("00000_meta.jsonl")) + metaRows(out.appendingPathComponent("00001_meta.jsonl"))
        XCTAssertEqual(rows.map { $0["status"] as? String },
                       ["success", "failed_to_read", "failed_to_read", "bad_record", "failed_to_decode"])
        XCTAssertTrue((rows[1]["error"] as? String)?.hasSuffix("nowhere.png: no such file") ?? false)
        XCTAssertTrue((rows[2]["error"] as? String)?.contains("--allow-remote-images") ?? false)
        XCTAssertTrue((rows[4]["error"] as? String)?.contains("pixels") ?? false, "\(rows[4])")  // 60x90 > the 64x64 budget
        XCTAssertEqual(rows[4]["extra"] as? [Int], [1, 2])  // the record passes through
        XCTAssertEqual(rows[0]["key"] as? String, "000000000")
        XCTAssertEqual(rows[4]["key"] as? String, "000010001")
        XCTAssertEqual(stats.reduce(0) { $0 + $1.samples }, 5)
        // Training rows: BLIP's format, the record's own image path, every kept text.
        let training = try metaRows(out.appendingPathComponent("00000.jsonl"))
        XCTAssertEqual(training.map { $0["source"] as? String }, ["web", "synthetic"])
        XCTAssertEqual(training.first?["image"] as? String, images.appendingPathComponent("astronaut_64x64.png").path)
        // With a fetcher, URL records are read.
        let cat = try Data(contentsOf: images.appendingPathComponent("coffee_60x40.png"))
        let fetched = CapFiltRunner(models: r.models, options: r.options, output: folder.appendingPathComponent("out2"),
                                    loading: ImageLoading(fetch: { url in
                                        guard url == "http://example.invalid/cat.png" else { throw DatasetInputError(message: "unexpected \(url)") }
                                        return cat
                                    }), imageRoot: images.path)
        _ = try fetched.run(plan.shards)
        let row = try metaRows(folder.appendingPathComponent("out2/00000_meta.jsonl"))[2]
        XCTAssertEqual(row["status"] as? String, "success")
    }

    /// A tar that ends in the middle of a member: the samples before it are processed, the shard
    /// records the input error and is done.
    func testTruncatedTarShardFinishesWithItsError() throws {
        let out = try temporaryFolder("broken")
        let stats = try runner(out) { $0.numCaptions = 0 }
            .run(ShardPlan(inputs: [dataFixtures.appendingPathComponent("broken.tar").path], shardSize: 10).shards)
        XCTAssertEqual(stats.count, 1)
        XCTAssertTrue(stats[0].inputError?.contains("ends inside a member's data") ?? false, stats[0].inputError ?? "nil")
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("00000_stats.json").path))
    }

    /// Three processes' shares of the plan, run one after another into one folder, give the same
    /// files as one process running all of it; a second run skips finished shards.
    func testShardedRunsEqualOneRun() throws {
        let folder = try temporaryFolder("shards")
        var inputs: [String] = []
        for i in 0..<3 {
            let path = folder.appendingPathComponent("in-\(i).tar").path
            try FileManager.default.copyItem(atPath: tarShards[i % 2], toPath: path)
            inputs.append(path)
        }
        let plan = try ShardPlan(inputs: inputs, shardSize: 10)
        let one = folder.appendingPathComponent("one"), three = folder.appendingPathComponent("three")
        _ = try runner(one) { $0.numCaptions = 2 }.run(plan.shards)
        for i in 0..<3 { _ = try runner(three) { $0.numCaptions = 2 }.run(plan.assigned(index: i, count: 3)) }
        for shard in plan.shards {
            for suffix in [".tar", ".jsonl", "_meta.jsonl"] {
                let name = shard.name + suffix
                XCTAssertEqual(try Data(contentsOf: one.appendingPathComponent(name)), try Data(contentsOf: three.appendingPathComponent(name)), name)
            }
        }
        let before = try Data(contentsOf: one.appendingPathComponent("00001_stats.json"))
        _ = try runner(one) { $0.numCaptions = 2 }.run(plan.shards)
        XCTAssertEqual(try Data(contentsOf: one.appendingPathComponent("00001_stats.json")), before, "finished shards are skipped")
        let merged = try XCTUnwrap(CapFiltSummary.mergeIfComplete(plan: plan, runner: runner(one)))
        let list = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: one.appendingPathComponent("capfilt.json"))) as? [[String: Any]])
        XCTAssertEqual(list.count, try metaRows(merged).count)
        XCTAssertNil(try CapFiltSummary.mergeIfComplete(plan: ShardPlan(inputs: inputs + [tarShards[0]], shardSize: 10), runner: runner(one)))
    }
}
