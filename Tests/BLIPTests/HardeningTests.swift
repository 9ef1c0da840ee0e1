import Foundation
import XCTest
@testable import BLIP

/// A copy of a fixture model in a temporary directory, with some files edited (hostile or
/// mistyped model files). Removed when the test ends.
final class ModelCopy {
    let url: URL

    init(_ fixture: String = "tiny", _ test: XCTestCase) throws {
        let source = TinyFixture.directory.deletingLastPathComponent().appendingPathComponent(fixture)
        url = FileManager.default.temporaryDirectory.appendingPathComponent("blip-hardening-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: source, to: url)
        let url = self.url
        test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    }

    /// Replaces the `occurrence`-th (0-based; -1: last) match of `old` in `file` with `new`.
    func edit(_ file: String, _ old: String, _ new: String, occurrence: Int = 0) throws {
        let path = url.appendingPathComponent(file)
        let text = try String(contentsOf: path, encoding: .utf8)
        var ranges: [Range<String.Index>] = []
        var start = text.startIndex
        while let r = text.range(of: old, range: start..<text.endIndex) { ranges.append(r); start = r.upperBound }
        XCTAssertFalse(ranges.isEmpty, "\(old) not in \(file)")
        guard !ranges.isEmpty else { return }
        let r = occurrence < 0 ? ranges[ranges.count - 1] : ranges[occurrence]
        try text.replacingCharacters(in: r, with: new).write(to: path, atomically: true, encoding: .utf8)
    }

    func write(_ file: String, _ text: String) throws {
        try text.write(to: url.appendingPathComponent(file), atomically: true, encoding: .utf8)
    }
}

/// The message of `body`'s error (fails when it does not throw).
func errorMessage(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> String {
    do {
        try body()
        XCTFail("expected an error", file: file, line: line)
        return ""
    } catch {
        return (error as? LocalizedError)?.errorDescription ?? String(describing: error)
    }
}

/// Hostile or mistyped model files and options get clear errors, never a trap (issue 8, items
/// 9–11 and 13) and never an endless allocation.
final class HardeningTests: XCTestCase {
    // MARK: config.json

    func testConfigValuesThatSizeMemoryOrIndexTablesAreBounded() throws {
        let cases: [(String, String, Int, String)] = [
            // (old, new, occurrence, expected message part)
            ("\"num_attention_heads\": 4", "\"num_attention_heads\": 0", -1, "vision_config.num_attention_heads must be between 1 and 1024, got 0"),
            ("\"num_attention_heads\": 4", "\"num_attention_heads\": 0", 0, "text_config.num_attention_heads must be between 1 and 1024, got 0"),
            ("\"num_hidden_layers\": 2", "\"num_hidden_layers\": 1000000000", -1, "vision_config.num_hidden_layers must be between 0 and 256, got 1000000000"),
            ("\"bos_token_id\": 30522", "\"bos_token_id\": 40000", 0, "text_config.bos_token_id 40000 is outside the vocabulary (0..<30524"),
            ("\"eos_token_id\": 2", "\"eos_token_id\": -5", 0, "text_config.eos_token_id -5 is outside the vocabulary"),
            ("\"patch_size\": 8", "\"patch_size\": 0", 0, "vision_config.patch_size must be between 1 and 48, got 0"),
            ("\"hidden_size\": 32", "\"hidden_size\": 64.5", 0, "text_config.hidden_size expects an integer, got 64.5"),
            ("\"max_position_embeddings\": 64", "\"max_position_embeddings\": 123456789012345678901234", 0,
             "text_config.max_position_embeddings expects an integer between"),
        ]
        for (old, new, occurrence, expected) in cases {
            let copy = try ModelCopy("tiny", self)
            try copy.edit("config.json", old, new, occurrence: occurrence)
            let message = errorMessage { _ = try BlipCaptioner(modelDirectory: copy.url) }
            XCTAssertTrue(message.contains(expected), "\(new): \(message)")
            XCTAssertTrue(message.contains("config.json"), "names the file: \(message)")
        }
    }

    func testLayerCountMustMatchTheCheckpointBeforeAllocating() throws {
        let copy = try ModelCopy("tiny", self)
        try copy.edit("config.json", "\"num_hidden_layers\": 2", "\"num_hidden_layers\": 200", occurrence: -1)
        let message = errorMessage { _ = try BlipCaptioner(modelDirectory: copy.url) }
        XCTAssertEqual(message, "vision_config.num_hidden_layers is 200 but the checkpoint has 2 layer(s) under vision_model.encoder.layers")
        let text = try ModelCopy("tiny", self)
        try text.edit("config.json", "\"num_hidden_layers\": 2", "\"num_hidden_layers\": 1", occurrence: 0)
        XCTAssertEqual(errorMessage { _ = try BlipCaptioner(modelDirectory: text.url) },
                       "text_config.num_hidden_layers is 1 but the checkpoint has 2 layer(s) under text_decoder.bert.encoder.layer")
    }

    // MARK: preprocessor_config.json

    /// Item 9: a preprocessor size other than vision_config.image_size is refused at load,
    /// naming both files and values (it used to trap on the first image).
    func testPreprocessorSizeMustMatchVisionImageSize() throws {
        let square = try ModelCopy("tiny", self)
        try square.edit("preprocessor_config.json", "\"height\": 48,\n    \"width\": 48", "\"height\": 96,\n    \"width\": 96")
        let m1 = errorMessage { _ = try BlipCaptioner(modelDirectory: square.url) }
        XCTAssertTrue(m1.contains("preprocessor_config.json gives size 96x96, but config.json vision_config.image_size is 48"), m1)
        let shortest = try ModelCopy("tiny-vqa", self)
        try shortest.edit("preprocessor_config.json", "\"height\": 48,\n    \"width\": 48", "\"shortest_edge\": 48")
        let m2 = errorMessage { _ = try BlipQuestionAnswerer(modelDirectory: shortest.url) }
        XCTAssertTrue(m2.contains("gives size {shortest_edge: 48}, but config.json vision_config.image_size is 48"), m2)
        let noResize = try ModelCopy("tiny-itm", self)
        try noResize.edit("preprocessor_config.json", "\"do_resize\": true", "\"do_resize\": false")
        let m3 = errorMessage { _ = try BlipImageTextMatcher(modelDirectory: noResize.url) }
        XCTAssertTrue(m3.contains("do_resize false"), m3)
    }

    func testPreprocessorSidesAreBounded() {
        for (json, expected) in [
            (#"{"size": 1000000}"#, "size must be at most 4096, got 1000000"),
            (#"{"size": {"shortest_edge": 1000000}}"#, "size.shortest_edge must be at most 4096, got 1000000"),
            (#"{"size": {"shortest_edge": 20000}}"#, "size.shortest_edge must be at most 4096, got 20000"),
            (#"{"size": {"height": 1e300, "width": 4}}"#, "size.height must be at most 4096, got 1e+300"),
            (#"{"size": {"height": 0, "width": 3}}"#, "size.height must be a positive integer"),
            (#"{"resample": 0}"#, "resample 0 is not supported (1 Lanczos, 2 bilinear, 3 bicubic, 4 box, 5 Hamming)"),
            (#"{"do_resize": 1}"#, "do_resize must be true or false"),
            (#"{"image_std": [1, 0, 1]}"#, "image_std must not contain 0"),
            (#"[1]"#, "expected a JSON object"),
        ] {
            let message = errorMessage { _ = try ImageProcessor(configData: Data(json.utf8), source: "p.json") }
            XCTAssertEqual(message, "p.json: \(expected)", json)
        }
    }

    /// Item 11: JSON 0, 1 and 1.0 are numbers (Linux's JSONSerialization made them booleans).
    func testPreprocessorNumbersZeroAndOneAreNumbers() throws {
        let json = #"{"resample": 1, "image_mean": [0, 0, 0], "image_std": [1, 1, 1.0], "rescale_factor": 1, "size": {"height": 2, "width": 2}}"#
        let p = try ImageProcessor(configData: Data(json.utf8))
        XCTAssertEqual(p.resample, .lanczos)
        XCTAssertEqual(p.imageMean, [0, 0, 0])
        XCTAssertEqual(p.imageStd, [1, 1, 1])
        XCTAssertEqual(p.rescaleFactor, 1)
        XCTAssertEqual(try ImageProcessor(configData: Data(#"{"image_mean": 0, "image_std": 1}"#.utf8)).imageStd, [1, 1, 1])
        // rescale 1, mean 0, std 1: the raw 0-255 values. A 2x2 image resized to 2x2 is unchanged.
        let image = RGBImage(width: 2, height: 2, pixels: [0, 1, 2, 64, 65, 66, 128, 129, 130, 255, 254, 253])
        let values = p.pixelValues(for: image)
        XCTAssertEqual(values.count, 12)
        XCTAssertEqual(values, [0, 64, 128, 255, 1, 65, 129, 254, 2, 66, 130, 253])
    }

    // MARK: generation options

    func testGenerationOptionsRangesAndLimits() {
        func message(_ change: (inout GenerationOptions) -> Void) -> String {
            var o = GenerationOptions()
            change(&o)
            return errorMessage { try o.validate() }
        }
        XCTAssertEqual(message { $0.lengthPenalty = .nan }, "invalid generation option: length_penalty must be a finite number, got nan")
        XCTAssertEqual(message { $0.lengthPenalty = .infinity }, "invalid generation option: length_penalty must be a finite number, got inf")
        XCTAssertEqual(message { $0.topP = .nan }, "invalid generation option: top_p must be in (0, 1], got nan")
        XCTAssertEqual(message { $0.temperature = .nan }, "invalid generation option: temperature must be a finite number > 0, got nan")
        XCTAssertEqual(message { $0.repetitionPenalty = -.infinity }, "invalid generation option: repetition_penalty must be a finite number > 0, got -inf")
        XCTAssertEqual(message { $0.minNewTokens = 50; $0.maxNewTokens = 5 },
                       "invalid generation option: min_new_tokens (50) must not exceed max_new_tokens (5)")
        XCTAssertEqual(message { $0.numBeams = 100_000 }, "invalid generation option: num_beams must be at most 64, got 100000")
        XCTAssertEqual(message { $0.numBeams = -1 }, "invalid generation option: num_beams must be at least 1, got -1")
        XCTAssertEqual(message { $0.doSample = true; $0.numReturnSequences = 1000 },
                       "invalid generation option: num_return_sequences must be at most 64, got 1000")
        XCTAssertEqual(message { $0.maxNewTokens = Int.max }, "invalid generation option: max_new_tokens must be at most 65536, got \(Int.max)")
        var ok = GenerationOptions()
        ok.minNewTokens = 5
        ok.maxNewTokens = 5
        XCTAssertNoThrow(try ok.validate())
    }

    func testGenerationConfigFileIsValidated() throws {
        let copy = try ModelCopy("tiny", self)
        try copy.write("generation_config.json", #"{"num_beams": 3, "length_penalty": 1e999}"#)
        let m1 = errorMessage { _ = try GenerationConfigFile.load(directory: copy.url) }
        XCTAssertTrue(m1.contains("generation_config.json is not valid: length_penalty expects a finite number, got 1e999"), m1)
        try copy.write("generation_config.json", #"{"num_beams": 100000}"#)
        let m2 = errorMessage { _ = try BlipCaptioner(modelDirectory: copy.url) }
        XCTAssertTrue(m2.contains("generation_config.json is not valid: invalid generation option: num_beams must be at most 64"), m2)
        try copy.write("generation_config.json", #"{"min_new_tokens": 9, "max_new_tokens": 3}"#)
        let m3 = errorMessage { _ = try GenerationConfigFile.load(directory: copy.url) }
        XCTAssertTrue(m3.contains("min_new_tokens (9) must not exceed max_new_tokens (3)"), m3)
    }

    /// Item 8: one rule for a prompt longer than max_position_embeddings (64 in the tiny model):
    /// invalidInput whether max_new_tokens is given or not (it used to return no generation).
    func testPromptLongerThanPositionsIsInvalidInputWithOrWithoutMaxNewTokens() throws {
        let captioner = try BlipCaptioner(modelDirectory: TinyFixture.directory)
        let image = RGBImage(width: 8, height: 8, pixels: [UInt8](repeating: 128, count: 8 * 8 * 3))
        let prompt = Array(repeating: "cat", count: 80).joined(separator: " ")
        for maxNewTokens in [nil, 5] as [Int?] {
            var options = captioner.defaultOptions
            options.prompt = prompt
            options.generation.maxNewTokens = maxNewTokens
            XCTAssertThrowsError(try captioner.caption(image, options: options)) { error in
                guard case .invalidInput(let m)? = error as? BlipModelError else { return XCTFail("\(error)") }
                XCTAssertTrue(m.contains("prompt of 81 tokens leaves no room to generate"), m)
                XCTAssertTrue(m.contains("max_position_embeddings 64"), m)
            }
        }
        // A prompt that fits but leaves less room than max_new_tokens: the same kind of error.
        var options = captioner.defaultOptions
        options.prompt = Array(repeating: "cat", count: 60).joined(separator: " ")
        options.generation.maxNewTokens = 10
        XCTAssertThrowsError(try captioner.caption(image, options: options)) { error in
            guard case .invalidInput(let m)? = error as? BlipModelError else { return XCTFail("\(error)") }
            XCTAssertEqual(m, "prompt plus new tokens (61 + 10) exceeds max_position_embeddings (64)")
        }
    }

    /// Pixel values of the wrong size reach the vision model only through throwing entry points.
    func testWrongSizedPixelValuesAreInvalidInput() throws {
        let captioner = try BlipCaptioner(modelDirectory: TinyFixture.directory)
        let pixels = Tensor([Float](repeating: 0, count: 3 * 96 * 96), shape: [1, 3, 96, 96])
        XCTAssertEqual(errorMessage { _ = try captioner.model.generate(pixelValues: pixels) },
                       "pixel values have shape [1, 3, 96, 96]; the vision model needs [B, 3, 48, 48]")
        let answerer = try BlipQuestionAnswerer(modelDirectory: TinyFixture.directory.deletingLastPathComponent()
            .appendingPathComponent("tiny-vqa"))
        XCTAssertEqual(errorMessage { _ = try answerer.encode(pixelValues: Tensor([Float](repeating: 0, count: 3 * 20 * 48), shape: [1, 3, 20, 48])) },
                       "pixel values have shape [1, 3, 20, 48]; the vision model needs [B, 3, 48, 48]")
    }

    func testEmptyVQAQuestionIsInvalidInput() throws {
        let answerer = try BlipQuestionAnswerer(modelDirectory: TinyFixture.directory.deletingLastPathComponent()
            .appendingPathComponent("tiny-vqa"))
        let image = try answerer.encode(RGBImage(width: 8, height: 8, pixels: [UInt8](repeating: 9, count: 192)))
        XCTAssertEqual(errorMessage { _ = try answerer.answers(["what?", "  "], image: image) },
                       "question 2 is empty: ask something about the image")
        XCTAssertEqual(errorMessage { _ = try answerer.rankAnswers("", image: image, candidates: ["yes"]) },
                       "the question is empty: ask something about the image")
    }

    // MARK: images and tokenizer files

    func testDevicesAndFIFOsAreNotRegularFiles() throws {
        let zero = errorMessage { _ = try RGBImage(contentsOf: URL(fileURLWithPath: "/dev/zero")) }
        XCTAssertEqual(zero, "/dev/zero: cannot read the file: not a regular file (a character device)")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("blip-fifo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let fifo = dir.appendingPathComponent("pipe.png")
        XCTAssertEqual(mkfifo(fifo.path, 0o600), 0)
        // Never opened, so this cannot block.
        XCTAssertEqual(errorMessage { _ = try RGBImage(contentsOf: fifo) }, "\(fifo.path): cannot read the file: not a regular file (a FIFO)")
        XCTAssertEqual(errorMessage { _ = try RGBImage(contentsOf: dir) }, "\(dir.path): cannot read the file: not a regular file (a directory)")
    }

    func testTruncatedTokenizerJSONAndNonStringSpecialTokens() throws {
        let copy = try ModelCopy("tiny", self)
        let full = try Data(contentsOf: TinyFixture.directory.deletingLastPathComponent()
            .appendingPathComponent("tokenizer/tokenizer.json"))
        try full.prefix(300).write(to: copy.url.appendingPathComponent("tokenizer.json"))
        let m1 = errorMessage { _ = try BertTokenizer(directory: copy.url) }
        XCTAssertTrue(m1.hasPrefix("tokenizer file \(copy.url.path)/tokenizer.json is not valid: not well-formed JSON (truncated or malformed)"), m1)
        XCTAssertFalse(m1.contains("NSCocoaErrorDomain"), m1)
        try FileManager.default.removeItem(at: copy.url.appendingPathComponent("tokenizer.json"))
        try copy.edit("tokenizer_config.json", "\"sep_token\": \"[SEP]\"", "\"sep_token\": 102")
        let m2 = errorMessage { _ = try BertTokenizer(directory: copy.url) }
        XCTAssertTrue(m2.contains("tokenizer_config.json is not valid: sep_token must be a string or an object with a string \"content\", got a number"), m2)
        let list = try ModelCopy("tiny", self)
        try list.edit("tokenizer_config.json", "\"[ENC]\"", "7")
        let m3 = errorMessage { _ = try BertTokenizer(directory: list.url) }
        XCTAssertTrue(m3.contains("extra_special_tokens[0] must be a string"), m3)
    }

    func testJSONNumberProblemNamesTheField() {
        struct Nested: Decodable { var seed: UInt64?; var n: Int? }
        struct Body: Decodable { var name: String; var parameters: Nested?; var values: [Int]? }
        func find(_ json: String) -> String? { JSONNumberProblem.find(Body.self, in: Data(json.utf8))?.description }
        XCTAssertEqual(find(#"{"name": "-1", "parameters": {"seed": -1}}"#),
                       "parameters.seed expects a non-negative integer at most 18446744073709551615, got -1")
        XCTAssertEqual(find(#"{"name": "x", "values": [1, 2, 1234567890123456789012345]}"#),
                       "values[2] expects an integer between -9223372036854775808 and 9223372036854775807, got 1234567890123456789012345")
        XCTAssertEqual(find(#"{"name": "x", "parameters": {"n": 2.5}}"#), "parameters.n expects an integer, got 2.5")
        XCTAssertNil(find(#"{"name": "x", "parameters": {"n": 2}}"#))
    }
}
