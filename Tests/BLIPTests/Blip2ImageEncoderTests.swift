import Foundation
import XCTest
@testable import BLIP

/// BLIP-2's image side (vision model, Q-Former over the query tokens, language projection) on
/// a tiny random config, against transformers (`python3 scripts/reference_blip2.py make-fixtures`).
final class Blip2ImageEncoderTests: XCTestCase {
    static let directory = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("tiny-blip2")

    func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
        XCTAssertEqual(a.shape, b.shape)
        return zip(a.contiguous().scalars, b.contiguous().scalars).map { abs($0 - $1) }.max() ?? .infinity
    }

    func testVisionQFormerAndProjectionEqualTransformers() throws {
        let encoder = try Blip2ImageEncoder(directory: Self.directory)
        XCTAssertEqual(encoder.config.numQueryTokens, 4)
        XCTAssertEqual(encoder.config.textModelType, "opt")
        let expected = try SafeTensorsFile(url: Self.directory.appendingPathComponent("expected.safetensors"))
        let (vision, queries, projected) = try encoder.encode(pixelValues: expected.tensor("pixel_values"))
        XCTAssertLessThan(maxDifference(vision, try expected.tensor("vision_last_hidden_state")), 1e-4)
        XCTAssertLessThan(maxDifference(queries, try expected.tensor("qformer_last_hidden_state")), 1e-4)
        XCTAssertLessThan(maxDifference(projected, try expected.tensor("projected_queries")), 1e-4)
        XCTAssertEqual(projected.shape, [2, 4, 24])
        // One image alone gives its row of the batch.
        let first = try expected.tensor("pixel_values")[0].contiguous()
        let single = try encoder.encode(pixelValues: first.reshaped([1] + first.shape))
        XCTAssertLessThan(maxDifference(single.projected[0], projected[0].contiguous()), 1e-5)
    }

    /// Older EVA checkpoints store q_bias and v_bias; the fused bias is cat(q_bias, 0, v_bias).
    /// Strict loading: a tensor that belongs to nothing is an error, the language model's are not.
    func testQBiasVBiasCheckpointsAndStrictLoading() throws {
        let checkpoint = try SafeTensorsCheckpoint(directory: Self.directory)
        var tensors = [String: Tensor]()
        for name in checkpoint.names { tensors[name] = try checkpoint.tensor(name) }
        let config = try Blip2Config(data: Data(contentsOf: Self.directory.appendingPathComponent("config.json")))
        let c = config.visionConfig.hiddenSize
        var fused = tensors, split = tensors
        for layer in 0..<config.visionConfig.numHiddenLayers {
            let name = "vision_model.encoder.layers.\(layer).self_attn."
            let bias = Array(tensors[name + "qkv.bias"]!.scalars)
            fused[name + "qkv.bias"] = Tensor(Array(bias[0..<c]) + [Float](repeating: 0, count: c) + Array(bias[(2 * c)...]), shape: [3 * c])
            split[name + "qkv.bias"] = nil
            split[name + "q_bias"] = Tensor(Array(bias[0..<c]), shape: [c])
            split[name + "v_bias"] = Tensor(Array(bias[(2 * c)...]), shape: [c])
        }
        let pixels = try SafeTensorsFile(url: Self.directory.appendingPathComponent("expected.safetensors")).tensor("pixel_values")
        let a = try Blip2ImageEncoder(config: config, weights: DictionaryWeightStore(fused)).encode(pixelValues: pixels)
        let b = try Blip2ImageEncoder(config: config, weights: DictionaryWeightStore(split)).encode(pixelValues: pixels)
        XCTAssertEqual(maxDifference(a.projected, b.projected), 0)

        var withLM = tensors
        withLM["language_model.lm_head.weight"] = Tensor.zeros([120, 24])
        XCTAssertNoThrow(try Blip2ImageEncoder(config: config, weights: DictionaryWeightStore(withLM)))
        var extra = tensors
        extra["qformer.embeddings.word_embeddings.weight"] = Tensor.zeros([100, 32])
        XCTAssertThrowsError(try Blip2ImageEncoder(config: config, weights: DictionaryWeightStore(extra))) {
            XCTAssertEqual($0 as? BlipModelError, .unusedWeights(["qformer.embeddings.word_embeddings.weight"]))
        }
        var missing = tensors
        missing["query_tokens"] = nil
        XCTAssertThrowsError(try Blip2ImageEncoder(config: config, weights: DictionaryWeightStore(missing))) {
            XCTAssertEqual($0 as? BlipModelError, .missingWeight("query_tokens"))
        }
        XCTAssertThrowsError(try Blip2Config(data: Data(#"{"model_type": "blip"}"#.utf8))) {
            XCTAssertTrue("\($0)".contains("not blip-2"), "\($0)")
        }
    }
}

/// BLIP-2 OPT end to end on the tiny random config: the OPT logits of the prefix as
/// `generate` builds it (queries scattered into the <image> positions) and greedy ids, equal to
/// transformers, unprompted and prompted, batch of two images.
final class Blip2OPTTests: XCTestCase {
    func testLogitsAndGreedyIdsEqualTransformers() throws {
        let directory = Blip2ImageEncoderTests.directory
        let model = try Blip2ForConditionalGeneration(directory: directory)
        guard case .opt(let lm) = model.languageModel else { return XCTFail("an OPT model") }
        let expected = try SafeTensorsFile(url: directory.appendingPathComponent("expected.safetensors"))
        let pixels = try expected.tensor("pixel_values")
        let projected = try model.imageEncoder.encode(pixelValues: pixels).projected
        for (name, prompt) in [("plain", [Int]()), ("prompted", [5, 17, 33, 8])] {
            let ids = try expected.tensor("\(name)_input_ids")
            let rows = (0..<2).map { r in (0..<ids.shape[1]).map { Int(ids[r].contiguous().scalars[$0]) } }
            XCTAssertEqual(rows[0], model.inputIds(prompt: prompt))
            var cache = lm.makeCache(batch: 2, capacity: rows[0].count)
            let logits = lm.forward(try model.inputEmbeddings(ids: rows, projectedQueries: projected), cache: &cache)
            let want = try expected.tensor("\(name)_logits")
            XCTAssertEqual(logits.shape, want.shape)
            let diff = zip(logits.contiguous().scalars, want.contiguous().scalars).map { abs($0 - $1) }.max() ?? .infinity
            XCTAssertLessThan(diff, 1e-4, name)
            let greedy = try expected.tensor("\(name)_greedy_ids")
            let wantIds = (0..<2).map { r in greedy[r].contiguous().scalars.map { Int($0) } }
            var greedyOptions = GenerationOptions()
            greedyOptions.maxNewTokens = 6
            XCTAssertEqual(try model.generate(pixelValues: pixels, prompt: prompt, options: greedyOptions), wantIds, name)
            let beams = try expected.tensor("\(name)_beam3_ids")
            var beamOptions = greedyOptions
            beamOptions.numBeams = 3
            XCTAssertEqual(try model.generate(pixelValues: pixels, prompt: prompt, options: beamOptions),
                           (0..<2).map { r in beams[r].contiguous().scalars.map { Int($0) } }, "\(name) beam 3")
        }
    }

    func testRefusals() throws {
        let directory = Blip2ImageEncoderTests.directory
        let checkpoint = try SafeTensorsCheckpoint(directory: directory)
        var tensors = [String: Tensor]()
        for name in checkpoint.names { tensors[name] = try checkpoint.tensor(name) }
        let config = try Blip2Config(data: Data(contentsOf: directory.appendingPathComponent("config.json")))
        var extra = tensors
        extra["language_model.model.decoder.layers.9.fc1.bias"] = Tensor.zeros([48])
        XCTAssertThrowsError(try Blip2ForConditionalGeneration(config: config, weights: DictionaryWeightStore(extra)))
        let model = try Blip2ForConditionalGeneration(config: config, weights: DictionaryWeightStore(tensors))
        let projected = Tensor.zeros([1, 4, 24])
        XCTAssertThrowsError(try model.inputEmbeddings(ids: [[119, 2]], projectedQueries: projected)) {
            XCTAssertTrue("\($0)".contains("1 <image> tokens for 4"), "\($0)")
        }
        var tooLong = GenerationOptions()
        tooLong.maxNewTokens = 100
        XCTAssertThrowsError(try model.generate(pixelValues: Tensor.zeros([1, 3, 56, 56]), options: tooLong))
    }
}

/// BLIP-2 ITM and ITC on a tiny random Blip2ForImageTextRetrieval, against transformers.
final class Blip2RetrievalTests: XCTestCase {
    func testITMAndITCEqualTransformers() throws {
        let directory = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("tiny-blip2-itm")
        let model = try Blip2ForImageTextRetrieval(directory: directory)
        let expected = try SafeTensorsFile(url: directory.appendingPathComponent("expected.safetensors"))
        let pixels = try expected.tensor("pixel_values")
        func rows(_ name: String) throws -> [[Int]] {
            let t = try expected.tensor(name)
            return (0..<t.shape[0]).map { r in t[r].contiguous().scalars.map { Int($0) } }
        }
        let ids = try rows("input_ids"), mask = try rows("attention_mask")
        let itm = try model.itmLogits(pixelValues: pixels, ids: ids, attentionMask: mask)
        let wantITM = try expected.tensor("itm_logits").scalars
        for (g, w) in zip(itm.joined(), wantITM) { XCTAssertEqual(g, w, accuracy: 1e-4) }
        let images = try model.imageFeatures(pixelValues: pixels)
        let texts = try model.textFeatures(ids: ids, attentionMask: mask)
        for (g, w) in zip(texts.joined(), try expected.tensor("itc_text_embeds").scalars) { XCTAssertEqual(g, w, accuracy: 1e-4) }
        for (g, w) in zip(images.joined().joined(), try expected.tensor("itc_image_embeds").scalars) { XCTAssertEqual(g, w, accuracy: 1e-4) }
        let itc = model.itcScores(imageFeatures: images, textFeatures: texts)
        for (g, w) in zip(itc.joined(), try expected.tensor("itc_logits_per_image").scalars) { XCTAssertEqual(g, w, accuracy: 1e-4) }
        XCTAssertThrowsError(try model.itmLogits(pixelValues: pixels, ids: [[1, 99_999]], attentionMask: [[1, 1]]))
        // The captioning checkpoint has no text input: refused by name.
        XCTAssertThrowsError(try Blip2ForImageTextRetrieval(directory: Blip2ImageEncoderTests.directory)) {
            XCTAssertTrue("\($0)".contains("use_qformer_text_input"), "\($0)")
        }
    }
}

/// BLIP-2 with a Flan-T5-style language model on a tiny random config: encoder states, decoder
/// logits and greedy / beam-3 ids equal to transformers.
final class Blip2T5Tests: XCTestCase {
    func testEncoderDecoderAndGenerationEqualTransformers() throws {
        let directory = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("tiny-blip2-t5")
        let model = try Blip2ForConditionalGeneration(directory: directory)
        guard case .t5(let t5) = model.languageModel else { return XCTFail("a T5 model") }
        let expected = try SafeTensorsFile(url: directory.appendingPathComponent("expected.safetensors"))
        func rows(_ name: String) throws -> [[Int]] {
            let t = try expected.tensor(name)
            return (0..<t.shape[0]).map { r in t[r].contiguous().scalars.map { Int($0) } }
        }
        func close(_ a: Tensor, _ b: Tensor, _ what: String) {
            XCTAssertEqual(a.shape, b.shape, what)
            let d = zip(a.contiguous().scalars, b.contiguous().scalars).map { abs($0 - $1) }.max() ?? .infinity
            XCTAssertLessThan(d, 1e-4, what)
        }
        let pixels = try expected.tensor("pixel_values")
        let ids = try rows("input_ids")
        XCTAssertEqual(ids[0], model.inputIds(prompt: [5, 17, 33, 1]))
        let projected = try model.imageEncoder.encode(pixelValues: pixels).projected
        let (states, context) = t5.encode(try model.inputEmbeddings(ids: ids, projectedQueries: projected),
                                          attentionMask: ids.map { $0.map { _ in 1 } })
        close(states, try expected.tensor("encoder_last_hidden_state"), "encoder")
        var cache = t5.makeCache(batch: 2, capacity: 3)
        close(t5.decode(try rows("decoder_input_ids"), cache: &cache, context: context), try expected.tensor("logits"), "decoder logits")
        var options = GenerationOptions()
        options.maxNewTokens = 6
        XCTAssertEqual(try model.generate(pixelValues: pixels, prompt: [5, 17, 33, 1], options: options), try rows("greedy_ids"))
        options.numBeams = 3
        XCTAssertEqual(try model.generate(pixelValues: pixels, prompt: [5, 17, 33, 1], options: options), try rows("beam3_ids"))
        XCTAssertEqual(T5ConfigBucketTests.buckets(t5.config), T5ConfigBucketTests.expectedBuckets)
    }
}

/// T5's relative position buckets, by hand for num_buckets 8 and max_distance 20.
enum T5ConfigBucketTests {
    static func buckets(_ c: T5Config) -> [Int] {
        [-30, -10, -3, -1, 0, 1, 2, 3, 10, 30].map { c.bucket($0, bidirectional: true) }
            + [-30, -10, -3, -1, 0, 5].map { c.bucket($0, bidirectional: false) }
    }
    // Bidirectional: 4 buckets per side, 2 exact; beyond, log-spaced up to bucket 3 (+4 for positive).
    // Causal: 8 buckets of the past, 4 exact; future positions are bucket 0.
    static let expectedBuckets = [3, 3, 2, 1, 0, 5, 6, 6, 7, 7, 7, 6, 3, 1, 0, 0]
}

/// BLIP-2 OPT from photo to text: `Blip2Processor` (image processor and GPT-2 BPE tokenizer)
/// + `generate` + `batch_decode(skip_special_tokens=True)`, equal to transformers on a tiny
/// model whose vocabulary is the tiny BPE tokenizer's.
final class Blip2CaptionerTests: XCTestCase {
    func testCaptionAndPromptedAnswerEqualTransformers() throws {
        try checkCaptions("tiny-blip2-opt-bpe")
    }

    /// Flan-T5 with a SentencePiece tokenizer (spiece.model alone): the processor's ids, the
    /// decoder's ids and the decoded text, unprompted ("" → `</s>`) and prompted.
    func testFlanT5CaptionAndPromptedAnswerEqualTransformers() throws {
        try checkCaptions("tiny-blip2-t5-spm")
        let captioner = try Blip2Captioner(modelDirectory: Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
            .appendingPathComponent("tiny-blip2-t5-spm"))
        XCTAssertTrue(captioner.tokenizer is UnigramTokenizer)
    }

    func checkCaptions(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let directory = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent(name)
        let captioner = try Blip2Captioner(modelDirectory: directory)
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("expected.json"))) as? [String: Any])
        let image = try RGBImage(contentsOf: Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
            .appendingPathComponent("tiny/images/astronaut_96x80.png"))
        var options = GenerationOptions()
        options.maxNewTokens = 8
        for c in try XCTUnwrap(root["cases"] as? [[String: Any]]) {
            let prompt = c["prompt"] as? String
            if let ids = c["input_ids"] as? [Int] {
                XCTAssertEqual(captioner.model.inputIds(prompt: captioner.promptIds(prompt)), ids, file: file, line: line)
            }
            let pixels = try XCTUnwrap(captioner.imageProcessor.pixelValues(for: image) as [Float]?)
            let rows = try captioner.model.generate(pixelValues: Tensor(pixels, shape: [1, 3, 56, 56]),
                                                    prompt: captioner.promptIds(prompt), options: options)
            XCTAssertEqual(rows[0], c["ids"] as? [Int], prompt ?? "no prompt", file: file, line: line)
            XCTAssertEqual(try captioner.generate(image, prompt: prompt, options: options), [c["text"] as! String], file: file, line: line)
        }
    }
}

/// transformers 5's T5 output scaling: the saved `scale_decoder_outputs` wins; without it,
/// `tie_word_embeddings: false` (T5 v1.1, Flan-T5) means no scaling and anything else scaling.
final class T5ScalingTests: XCTestCase {
    func testScaleDecoderOutputsFollowsTransformers5() throws {
        func scale(_ o: [String: Any]) throws -> Bool { try T5Config(o, source: "test").scaleDecoderOutputs }
        XCTAssertTrue(try scale([:]))
        XCTAssertTrue(try scale(["tie_word_embeddings": true]))
        XCTAssertFalse(try scale(["tie_word_embeddings": false]))
        XCTAssertFalse(try scale(["tie_word_embeddings": true, "scale_decoder_outputs": false]))
        XCTAssertTrue(try scale(["tie_word_embeddings": false, "scale_decoder_outputs": true]))
    }
}
