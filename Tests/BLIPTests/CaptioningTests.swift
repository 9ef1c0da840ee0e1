import Foundation
import XCTest
@testable import BLIP

/// The tiny random-weight captioning model and the outputs transformers computed for it
/// (`python3 scripts/reference.py make-fixtures`).
enum TinyFixture {
    static let directory = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
        .appendingPathComponent("tiny")

    struct Case: Decodable {
        var name: String
        var images: [String]
        var prompt: String?
        var kwargs: [String: Double]
        var tokenIds: [[Int]]
        var captions: [String]
        enum CodingKeys: String, CodingKey {
            case name, images, prompt, kwargs, tokenIds = "token_ids", captions
        }

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            images = try c.decode([String].self, forKey: .images)
            prompt = try c.decodeIfPresent(String.self, forKey: .prompt)
            tokenIds = try c.decode([[Int]].self, forKey: .tokenIds)
            captions = try c.decode([String].self, forKey: .captions)
            // kwargs mix numbers and booleans: keep numbers, booleans as 0/1.
            let raw = try c.decode([String: JSONScalar].self, forKey: .kwargs)
            kwargs = raw.mapValues(\.number)
        }
    }

    enum JSONScalar: Decodable {
        case number(Double), bool(Bool), other
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let b = try? c.decode(Bool.self) { self = .bool(b) } else if let d = try? c.decode(Double.self) { self = .number(d) } else { self = .other }
        }
        var number: Double {
            switch self {
            case .number(let d): return d
            case .bool(let b): return b ? 1 : 0
            case .other: return .nan
            }
        }
    }

    struct Expected: Decodable {
        var images: [String]
        var cases: [Case]
        var teacherForced: TeacherForced
        enum CodingKeys: String, CodingKey { case images, cases, teacherForced = "teacher_forced" }
    }

    struct TeacherForced: Decodable {
        var inputIds: [Int]
        var images: [String]
        enum CodingKeys: String, CodingKey { case inputIds = "input_ids", images }
    }

    static let expected: Expected = try! JSONDecoder().decode(
        Expected.self, from: Data(contentsOf: directory.appendingPathComponent("expected.json")))
    static let tensors = try! SafeTensorsFile(url: directory.appendingPathComponent("expected.safetensors"))
    static let captioner = try! BlipCaptioner(modelDirectory: directory)

    static func image(_ name: String) throws -> RGBImage {
        try RGBImage(contentsOf: directory.appendingPathComponent(name))
    }
}

final class CaptioningTests: XCTestCase {
    func testTinyCheckpointLoadsStrictlyWithTiedDecoder() throws {
        let store = try SafeTensorsCheckpoint(directory: TinyFixture.directory)
        XCTAssertFalse(store.names.contains("text_decoder.cls.predictions.decoder.weight"),
                       "fixture should exercise the tied LM decoder")
        XCTAssertEqual(TinyFixture.captioner.model.config.visionConfig.imageSize, 48)
    }

    func testPixelValuesMatchTransformers() throws {
        let expected = try TinyFixture.tensors.tensor("pixel_values")
        let images = try TinyFixture.expected.images.map(TinyFixture.image)
        let ours = try TinyFixture.captioner.pixelValues(images)
        XCTAssertEqual(ours.shape, expected.shape)
        XCTAssertLessThan(ours.maxAbsDifference(expected), 1e-5)
    }

    func testVisionLastHiddenStateMatchesTransformers() throws {
        let pixels = try TinyFixture.tensors.tensor("pixel_values")
        let expected = try TinyFixture.tensors.tensor("vision_last_hidden_state")
        let ours = TinyFixture.captioner.model.imageEmbeddings(pixels)
        XCTAssertEqual(ours.shape, expected.shape)
        XCTAssertLessThan(ours.maxAbsDifference(expected), 1e-4)
    }

    func testDecoderLogitsMatchTransformers() throws {
        let model = TinyFixture.captioner.model
        let tf = TinyFixture.expected.teacherForced
        let pixels = try TinyFixture.captioner.pixelValues(try tf.images.map(TinyFixture.image))
        let logits = model.decoderLogits(inputIds: [tf.inputIds], imageEmbeddings: model.imageEmbeddings(pixels))
        let expected = try TinyFixture.tensors.tensor("decoder_logits")
        XCTAssertEqual(logits.shape, expected.shape)
        XCTAssertLessThan(logits.maxAbsDifference(expected), 1e-4)
    }

    /// Every generate case of the fixture: greedy, beam, prompted, min length, repetition
    /// penalty, several return sequences, batches of images of different sizes.
    func testGeneratedTokenIdsAndCaptionsMatchTransformers() throws {
        XCTAssertGreaterThanOrEqual(TinyFixture.expected.cases.count, 10)
        for c in TinyFixture.expected.cases {
            var g = GenerationOptions()
            for (key, value) in c.kwargs {
                switch key {
                case "max_new_tokens": g.maxNewTokens = Int(value)
                case "min_new_tokens": g.minNewTokens = Int(value)
                case "num_beams": g.numBeams = Int(value)
                case "do_sample": g.doSample = value != 0
                case "repetition_penalty": g.repetitionPenalty = value
                case "length_penalty": g.lengthPenalty = value
                case "num_return_sequences": g.numReturnSequences = Int(value)
                default: XCTFail("\(c.name): unhandled kwarg \(key)")
                }
            }
            let images = try c.images.map(TinyFixture.image)
            let captions = try TinyFixture.captioner.captions(for: images, options: CaptionOptions(prompt: c.prompt, generation: g))
            let flat = captions.flatMap { $0 }
            XCTAssertEqual(flat.map(\.tokenIds), c.tokenIds, c.name)
            XCTAssertEqual(flat.map(\.text), c.captions, c.name)
        }
    }

    func testStripPromptRemovesThePromptText() throws {
        let image = try TinyFixture.image("images/astronaut_96x80.png")
        var options = CaptionOptions(prompt: "a picture of")
        let full = try TinyFixture.captioner.caption(image, options: options)
        options.stripPrompt = true
        let stripped = try TinyFixture.captioner.caption(image, options: options)
        XCTAssertEqual(full.tokenIds, stripped.tokenIds)
        XCTAssertTrue(full.text.hasPrefix("a picture of "))
        XCTAssertEqual("a picture of " + stripped.text, full.text)
    }

    func testSamplingIsReproducibleWithASeed() throws {
        let image = try TinyFixture.image("images/chelsea_60x90.png")
        var g = GenerationOptions()
        g.doSample = true
        g.seed = 42
        g.topP = 0.9
        g.maxNewTokens = 8
        g.minNewTokens = 8
        let a = try TinyFixture.captioner.caption(image, options: CaptionOptions(generation: g))
        let b = try TinyFixture.captioner.caption(image, options: CaptionOptions(generation: g))
        XCTAssertEqual(a, b)
        XCTAssertEqual(a.tokenIds.count, 9)
        g.seed = 43
        let c = try TinyFixture.captioner.caption(image, options: CaptionOptions(generation: g))
        XCTAssertNotEqual(a.tokenIds, c.tokenIds)
    }

    func testStrictLoaderRejectsMissingAndUnusedWeights() throws {
        let store = try SafeTensorsCheckpoint(directory: TinyFixture.directory)
        var tensors = [String: Tensor]()
        for name in store.names { tensors[name] = try store.tensor(name) }
        let config = TinyFixture.captioner.model.config

        var missing = tensors
        missing["vision_model.post_layernorm.bias"] = nil
        XCTAssertThrowsError(try BlipForConditionalGeneration(config: config, weights: DictionaryWeightStore(missing))) {
            XCTAssertEqual($0 as? BlipModelError, .missingWeight("vision_model.post_layernorm.bias"))
        }
        var extra = tensors
        extra["text_decoder.bert.pooler.dense.weight"] = Tensor.zeros([2])
        XCTAssertThrowsError(try BlipForConditionalGeneration(config: config, weights: DictionaryWeightStore(extra))) {
            XCTAssertEqual($0 as? BlipModelError, .unusedWeights(["text_decoder.bert.pooler.dense.weight"]))
        }
        var ignored = tensors
        ignored["text_decoder.bert.embeddings.position_ids"] = Tensor.zeros([1, 64])
        XCTAssertNoThrow(try BlipForConditionalGeneration(config: config, weights: DictionaryWeightStore(ignored)))

        var wrongShape = tensors
        wrongShape["vision_model.post_layernorm.bias"] = Tensor.zeros([3])
        XCTAssertThrowsError(try BlipForConditionalGeneration(config: config, weights: DictionaryWeightStore(wrongShape)))
    }

    /// An explicitly saved LM decoder (the untied form) is used instead of the word embeddings.
    func testExplicitDecoderWeightIsUsed() throws {
        let store = try SafeTensorsCheckpoint(directory: TinyFixture.directory)
        var tensors = [String: Tensor]()
        for name in store.names { tensors[name] = try store.tensor(name) }
        let config = TinyFixture.captioner.model.config
        let embeddings = tensors["text_decoder.bert.embeddings.word_embeddings.weight"]!
        tensors["text_decoder.cls.predictions.decoder.weight"] = embeddings
        tensors["text_decoder.cls.predictions.decoder.bias"] = tensors["text_decoder.cls.predictions.bias"]
        let explicit = try BlipForConditionalGeneration(config: config, weights: DictionaryWeightStore(tensors))
        let tf = TinyFixture.expected.teacherForced
        let pixels = try TinyFixture.captioner.pixelValues(try tf.images.map(TinyFixture.image))
        let logits = explicit.decoderLogits(inputIds: [tf.inputIds], imageEmbeddings: explicit.imageEmbeddings(pixels))
        XCTAssertLessThan(logits.maxAbsDifference(try TinyFixture.tensors.tensor("decoder_logits")), 1e-4)

        tensors["text_decoder.cls.predictions.decoder.weight"] = embeddings * 2
        let changed = try BlipForConditionalGeneration(config: config, weights: DictionaryWeightStore(tensors))
        let other = changed.decoderLogits(inputIds: [tf.inputIds], imageEmbeddings: changed.imageEmbeddings(pixels))
        XCTAssertGreaterThan(other.maxAbsDifference(logits), 1e-3)
    }

    func testModelDirectoryErrorsNameTheProblem() {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("blip-missing-\(UUID())")
        XCTAssertThrowsError(try BlipCaptioner(modelDirectory: tmp)) {
            XCTAssertTrue("\($0)".contains(tmp.path), "\($0)")
        }
        XCTAssertThrowsError(try BlipConfig.load(directory: TinyFixture.directory.appendingPathComponent("images")))
    }

    /// generation_config.json values become the defaults (transformers: max_length is a total).
    func testGenerationConfigFileSetsDefaults() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("blip-genconfig-\(UUID())")
        try FileManager.default.copyItem(at: TinyFixture.directory, to: dir)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(#"{"num_beams": 3, "max_length": 6, "early_stopping": true, "length_penalty": 0.5}"#.utf8)
            .write(to: dir.appendingPathComponent("generation_config.json"))
        let captioner = try BlipCaptioner(modelDirectory: dir)
        XCTAssertEqual(captioner.defaultGeneration.numBeams, 3)
        XCTAssertEqual(captioner.defaultGeneration.maxLength, 6)
        XCTAssertEqual(captioner.defaultGeneration.earlyStopping, .eager)
        XCTAssertEqual(captioner.defaultGeneration.lengthPenalty, 0.5)
        let caption = try captioner.caption(try TinyFixture.image("images/astronaut_96x80.png"))
        XCTAssertLessThanOrEqual(caption.tokenIds.count, 6)

        try Data("{not json".utf8).write(to: dir.appendingPathComponent("generation_config.json"))
        XCTAssertThrowsError(try BlipCaptioner(modelDirectory: dir)) {
            XCTAssertTrue("\($0)".contains("generation_config.json"), "\($0)")
        }
    }
}
