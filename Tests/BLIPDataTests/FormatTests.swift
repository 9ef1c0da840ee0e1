import BLIP
@testable import BLIPData
import Foundation
import XCTest

let dataFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
let modelFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("BLIPTests/Fixtures")

func expectedData() throws -> [String: Any] {
    let data = try Data(contentsOf: dataFixtures.appendingPathComponent("expected.json"))
    return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
}

extension XCTestCase {
    /// A new folder, removed when the test ends.
    func temporaryFolder(_ name: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("blip-data-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }
}

/// Record formats in and out: tars as Python's tarfile writes them (img2dataset's layout), our
/// tar writer, JSON / JSON Lines / CSV records, input expansion and shard assignment.
final class FormatTests: XCTestCase {
    func testReadsTarWrittenByPythonTarfile() throws {
        let reader = try WebDatasetReader(path: dataFixtures.appendingPathComponent("webdataset/00001.tar").path)
        var samples: [DatasetSample] = []
        while let s = try reader.next() { samples.append(s) }
        let longKey = String(repeating: "k", count: 120)
        XCTAssertEqual(samples.map(\.key), ["000010000", longKey, "000010001", "000010002", "000010003"])
        XCTAssertEqual(samples[0].caption, "A cup of coffee on a saucer.")
        XCTAssertEqual(samples[0].record["url"], .string("http://x/000010000.png"))
        guard case .bytes(let png, let ext) = samples[0].image else { return XCTFail("image bytes") }
        XCTAssertEqual(ext, "png")
        XCTAssertEqual(png, try Data(contentsOf: modelFixtures.appendingPathComponent("tiny-itm/images/coffee_60x40.png")))
        XCTAssertEqual(samples[1].caption, "a photograph of an astronaut")  // the pax "path" record gives the long name
        XCTAssertEqual(samples[2].captionError, "the caption (txt) is not UTF-8")
        XCTAssertEqual(samples[2].record["json_error"], .string("the json member is not a JSON object"))
        XCTAssertEqual(samples[3].image, .missing("the sample has no jpg, png or webp member"))
    }

    func testBrokenTarStopsWithAnErrorNamingTheOffset() throws {
        let reader = try TarReader(path: dataFixtures.appendingPathComponent("broken.tar").path)
        XCTAssertNotNil(try reader.next())  // the first member is whole
        XCTAssertThrowsError(try reader.next()) { error in
            XCTAssertTrue(error.localizedDescription.contains("bad tar archive at byte"), error.localizedDescription)
            XCTAssertTrue(error.localizedDescription.contains("ends inside"), error.localizedDescription)
        }
        let notTar = try temporaryFolder("nottar").appendingPathComponent("x.tar")
        try Data(repeating: 0x41, count: 2000).write(to: notTar)
        XCTAssertThrowsError(try TarReader(path: notTar.path).next()) { error in
            XCTAssertTrue(error.localizedDescription.contains("checksum"), error.localizedDescription)
        }
    }

    func testOurTarRoundTripsWithLongNames() throws {
        var writer = TarWriter()
        let long = "folder/" + String(repeating: "n", count: 150) + ".txt"
        writer.add(name: "a.txt", data: Data("hello".utf8))
        writer.add(name: long, data: Data(repeating: 7, count: 1000))
        writer.add(name: "empty.json", data: Data())
        let url = try temporaryFolder("tar").appendingPathComponent("t.tar")
        try writer.finished().write(to: url)
        let reader = try TarReader(path: url.path)
        XCTAssertEqual(try reader.next(), TarMember(name: "a.txt", data: Data("hello".utf8)))
        XCTAssertEqual(try reader.next(), TarMember(name: long, data: Data(repeating: 7, count: 1000)))
        XCTAssertEqual(try reader.next(), TarMember(name: "empty.json", data: Data()))
        XCTAssertNil(try reader.next())
        XCTAssertEqual(writer.finished().count % 512, 0)
    }

    func testRecordFilesJSONJSONLinesAndCSV() throws {
        let folder = try temporaryFolder("records")
        let jsonl = folder.appendingPathComponent("r.jsonl")
        try Data("{\"image\": \"a.png\", \"caption\": \"x\"}\n\nnot json\n[1]\n{\"url\": \"http://h/b.jpg\", \"caption\": 3}\n".utf8).write(to: jsonl)
        let records = try RecordReader.records(path: jsonl.path, format: .jsonl)
        XCTAssertEqual(records.count, 4)
        let samples = records.enumerated().map { RecordReader.sample(key: "k\($0)", record: $1, imageRoot: "/data") }
        XCTAssertEqual(samples[0].image, .file("/data/a.png"))
        XCTAssertEqual(samples[0].caption, "x")
        XCTAssertTrue(samples[1].recordError?.hasPrefix("line 3: malformed JSON") ?? false, samples[1].recordError ?? "")
        XCTAssertEqual(samples[2].recordError, "line 4 is not a JSON object")
        XCTAssertEqual(samples[3].image, .url("http://h/b.jpg"))
        XCTAssertEqual(samples[3].captionError, "the caption is not a string")

        let json = folder.appendingPathComponent("r.json")
        try Data(#"[{"url": "http://h/1.jpg", "caption": "one"}, {"image": "/abs.png"}]"#.utf8).write(to: json)
        let list = try RecordReader.records(path: json.path, format: .json).map { RecordReader.sample(key: "k", record: $0, imageRoot: "/r") }
        XCTAssertEqual(list.map(\.image), [.url("http://h/1.jpg"), .file("/abs.png")])
        XCTAssertEqual(list[1].captionError, "no caption")
        try Data("{\"not\": \"a list\"}".utf8).write(to: json)
        XCTAssertThrowsError(try RecordReader.records(path: json.path, format: .json)) { error in
            XCTAssertTrue(error.localizedDescription.contains("expected a JSON list"), error.localizedDescription)
        }

        let csv = folder.appendingPathComponent("r.csv")
        var bytes = Data("image,caption\n\"a,1.png\",\"a \"\"quoted\"\", multi\nline\"\nb.png,".utf8)
        bytes += Data([0xff, 0xfe]) + Data("\n".utf8)
        try bytes.write(to: csv)
        let rows = try RecordReader.records(path: csv.path, format: .csv)
        XCTAssertEqual(rows.count, 2)
        XCTAssertEqual(try rows[0].get(), ["image": .string("a,1.png"), "caption": .string("a \"quoted\", multi\nline")])
        if case .failure(let e) = rows[1] { XCTAssertEqual(e.message, "row 3: field \"caption\" is not UTF-8") } else { XCTFail("non-UTF-8 row") }
    }

    func testInputExpansionAndShardAssignment() throws {
        XCTAssertEqual(ShardPlan.braceExpand("d/{00008..00011}.tar"), ["d/00008.tar", "d/00009.tar", "d/00010.tar", "d/00011.tar"])
        XCTAssertEqual(ShardPlan.braceExpand("{a,b}/{1..2}"), ["a/1", "a/2", "b/1", "b/2"])
        XCTAssertEqual(ShardPlan.braceExpand("plain{x}"), ["plain{x}"])
        let folder = try temporaryFolder("plan")
        for name in ["00000.tar", "00001.tar", "00002.tar"] {
            try FileManager.default.copyItem(at: dataFixtures.appendingPathComponent("webdataset/00000.tar"),
                                             to: folder.appendingPathComponent(name))
        }
        let jsonl = folder.appendingPathComponent("records.jsonl")
        try Data((0..<5).map { "{\"image\": \"\($0).png\", \"caption\": \"c\"}\n" }.joined().utf8).write(to: jsonl)
        let plan = try ShardPlan(inputs: [folder.path + "/*.tar", jsonl.path], shardSize: 2)
        XCTAssertEqual(plan.shards.map(\.name), ["00000", "00001", "00002", "00003", "00004", "00005"])
        XCTAssertEqual(plan.shards[3].source, .records(path: jsonl.path, format: .jsonl, range: 0..<2))
        XCTAssertEqual(plan.shards[5].source, .records(path: jsonl.path, format: .jsonl, range: 4..<5))
        XCTAssertEqual(plan.assigned(index: 1, count: 3).map(\.index), [1, 4])
        let all = (0..<3).flatMap { plan.assigned(index: $0, count: 3).map(\.index) }.sorted()
        XCTAssertEqual(all, Array(0..<6))
        XCTAssertEqual(ShardPlan.slurmAssignment(["SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_MIN": "4", "SLURM_ARRAY_TASK_COUNT": "3"])?.index, 1)
        XCTAssertEqual(ShardPlan.slurmAssignment(["SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_MAX": "7"])?.count, 8)
        XCTAssertNil(ShardPlan.slurmAssignment([:]))
        XCTAssertThrowsError(try ShardPlan(inputs: [folder.path + "/missing.tar"], shardSize: 2)) { error in
            XCTAssertTrue(error.localizedDescription.hasSuffix("missing.tar: no such file"), error.localizedDescription)
        }
        XCTAssertThrowsError(try ShardPlan(inputs: [folder.path + "/*.parquet"], shardSize: 2))
        XCTAssertThrowsError(try ShardPlan(inputs: [folder.path], shardSize: 2)) { error in
            XCTAssertTrue(error.localizedDescription.contains("is a directory"), error.localizedDescription)
        }
    }

    func testPreCaptionEqualsTheOfficialOne() throws {
        let cases = try XCTUnwrap(expectedData()["pre_caption"] as? [[String: String]])
        XCTAssertGreaterThan(cases.count, 10)
        for c in cases {
            XCTAssertEqual(preCaption(c["input"]!), c["output"]!, c["input"]!)
            XCTAssertEqual(preCaption(c["input"]!, maxWords: 10), c["output_10"]!, c["input"]!)
        }
    }

    func testThresholdAndTopN() {
        let texts = [ScoredText(text: "web", source: .web, itm: 0.6, itc: 0.1),
                     ScoredText(text: "s1", source: .synthetic, itm: 0.9, itc: 0.05),
                     ScoredText(text: "s2", source: .synthetic, itm: 0.4, itc: 0.3),
                     ScoredText(text: "s3", source: .synthetic, itm: 0.6, itc: 0.2)]
        var options = CapFiltOptions()
        XCTAssertEqual(selectTexts(texts, options: options).map(\.kept), [true, true, false, true])
        options.keepTop = 2
        XCTAssertEqual(selectTexts(texts, options: options).map(\.kept), [true, true, false, false])  // tie 0.6: web first
        options.rankBy = .itc
        XCTAssertEqual(selectTexts(texts, options: options).map(\.kept), [true, false, false, true])
        XCTAssertEqual(bestKept(selectTexts(texts, options: options), rankBy: .itc)?.text, "s3")
        options.threshold = 0
        options.keepTop = 1
        XCTAssertEqual(selectTexts(texts, options: options).map(\.kept), [false, false, true, false])
        options.threshold = 0.95
        options.keepTop = nil
        XCTAssertNil(bestKept(selectTexts(texts, options: options), rankBy: .itm))
    }
}
