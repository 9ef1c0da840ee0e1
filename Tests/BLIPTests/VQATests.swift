import Foundation
import XCTest
@testable import BLIP

/// The tiny random-weight VQA model and the outputs transformers computed for it
/// (`python3 scripts/reference_vqa.py make-fixtures`).
enum TinyVQAFixture {
    static let directory = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
        .appendingPathComponent("tiny-vqa")

    struct Expected: Decodable {
        var image: String
        var questions: [String]
        var candidates: [String]
        var teacherForced: TeacherForced
        var generate: [GenerateCase]
        var rank: [RankCase]
        enum CodingKeys: String, CodingKey {
            case image, questions, candidates, teacherForced = "teacher_forced", generate, rank
        }
    }

    struct TeacherForced: Decodable {
        var question: String
        var questionInputIds: [Int]
        var decoderInputIds: [Int]
        enum CodingKeys: String, CodingKey {
            case question, questionInputIds = "question_input_ids", decoderInputIds = "decoder_input_ids"
        }
    }

    struct GenerateCase: Decodable {
        var name: String
        var questions: [String]
        var tokenIds: [[Int]]
        var answers: [String]
        var kwargs: [String: TinyFixture.JSONScalar]
        enum CodingKeys: String, CodingKey { case name, questions, tokenIds = "token_ids", answers, kwargs }

        /// The case's `generate` kwargs as options.
        var options: GenerationOptions {
            var g = GenerationOptions()
            for (key, value) in kwargs {
                switch key {
                case "max_new_tokens": g.maxNewTokens = Int(value.number)
                case "min_new_tokens": g.minNewTokens = Int(value.number)
                case "num_beams": g.numBeams = Int(value.number)
                case "do_sample": g.doSample = value.number != 0
                default: XCTFail("\(name): unhandled kwarg \(key)")
                }
            }
            return g
        }
    }

    struct RankCase: Decodable {
        var question: String
        var k: Int
        var labelSmoothing: Double
        var questionIds: [Int]
        var firstTokenProbabilities: [Double]
        var topKIndices: [Int]
        var scores: [Double]
        var ranked: [Ranked]
        enum CodingKeys: String, CodingKey {
            case question, k, labelSmoothing = "label_smoothing", questionIds = "question_ids"
            case firstTokenProbabilities = "first_token_probabilities", topKIndices = "top_k_indices", scores, ranked
        }
    }

    struct Ranked: Decodable {
        var index: Int
        var answer: String
        var score: Double
        var probability: Double
    }

    static let expected: Expected = try! JSONDecoder().decode(
        Expected.self, from: Data(contentsOf: directory.appendingPathComponent("expected.json")))
    static let tensors = try! SafeTensorsFile(url: directory.appendingPathComponent("expected.safetensors"))
    static let answerer = try! BlipQuestionAnswerer(modelDirectory: directory)
    static let image = try! RGBImage(contentsOf: directory.appendingPathComponent(expected.image))
    static let encoding = try! answerer.encode(image)

    /// An int64 tensor of the expected file as rows of ints.
    static func intRows(_ name: String) throws -> [[Int]] {
        let info = try XCTUnwrap(tensors.info(name))
        XCTAssertEqual(info.dtype, .i64)
        let raw = try tensors.rawBytes(name)
        let values = (0..<info.elementCount).map { Int(raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) }
        let width = info.shape.last!
        return stride(from: 0, to: values.count, by: width).map { Array(values[$0..<($0 + width)]) }
    }
}

final class VQATests: XCTestCase {
    typealias F = TinyVQAFixture

    func testCheckpointLoadsStrictlyWithSeparateEncoderAndTiedDecoder() throws {
        let store = try SafeTensorsCheckpoint(directory: F.directory)
        XCTAssertTrue(store.names.contains("text_encoder.embeddings.word_embeddings.weight"))
        XCTAssertTrue(store.names.contains("text_encoder.encoder.layer.0.crossattention.self.key.weight"))
        XCTAssertFalse(store.names.contains("text_decoder.cls.predictions.decoder.weight"))
        XCTAssertFalse(store.names.contains { $0.hasPrefix("text_encoder.pooler") })
        XCTAssertEqual(F.answerer.model.config.architectures, ["BlipForQuestionAnswering"])
    }

    func testVisionMatchesTransformers() throws {
        let pixels = F.answerer.pixelValues(F.image)
        XCTAssertLessThan(pixels.maxAbsDifference(try F.tensors.tensor("pixel_values")), 1e-5)
        let expected = try F.tensors.tensor("vision_last_hidden_state")
        XCTAssertEqual(F.encoding.embeddings.shape, expected.shape)
        XCTAssertLessThan(F.encoding.embeddings.maxAbsDifference(expected), 1e-4)
    }

    /// Question encoder over the padded batch of all fixture questions (padding mask, [CLS] first).
    func testQuestionEncoderStatesMatchTransformers() throws {
        let batch = F.answerer.tokenizer.encodeBatch(F.expected.questions)
        XCTAssertEqual(batch.inputIds, try F.intRows("question_input_ids"))
        XCTAssertEqual(batch.attentionMask, try F.intRows("question_attention_mask"))
        XCTAssertTrue(batch.attentionMask.contains { $0.contains(0) }, "fixture should exercise padding")
        let states = try F.answerer.model.encodeQuestions(batch.inputIds, attentionMask: batch.attentionMask,
                                                          image: F.encoding.crossAttention)
        let expected = try F.tensors.tensor("question_last_hidden_state")
        XCTAssertEqual(states.shape, expected.shape)
        let diff = states.maxAbsDifference(expected)
        XCTAssertLessThan(diff, 1e-4)
        print("VQA question_last_hidden_state max abs diff \(diff)")
    }

    /// Teacher-forced answer logits ([DEC] two people [SEP]) over the first question's states.
    func testDecoderLogitsMatchTransformers() throws {
        let tf = F.expected.teacherForced
        let model = F.answerer.model
        XCTAssertEqual(F.answerer.tokenizer.encode(tf.question), tf.questionInputIds)
        let states = try model.encodeQuestions([tf.questionInputIds], image: F.encoding.crossAttention)
        let logits = try model.decoderLogits(answerIds: [tf.decoderInputIds], question: model.questionCrossAttention(states))
        let expected = try F.tensors.tensor("decoder_logits")
        XCTAssertEqual(logits.shape, expected.shape)
        let diff = logits.maxAbsDifference(expected)
        XCTAssertLessThan(diff, 1e-4)
        print("VQA decoder_logits max abs diff \(diff)")
    }

    /// Each question asked alone, greedy and beam 3: through `answer` and through one batched
    /// `answers` call (independent mode must equal asking alone).
    func testGeneratedAnswersMatchTransformersAlone() throws {
        let cases = F.expected.generate.filter { $0.name.hasSuffix("_alone") }
        XCTAssertEqual(cases.count, 4)
        XCTAssertTrue(cases.contains { $0.tokenIds.contains { $0.count >= 6 } }, "fixture should have long answers")
        for c in cases {
            let options = c.options
            let single = try c.questions.map { try F.answerer.answer($0, image: F.encoding, options: options) }
            XCTAssertEqual(single.map(\.tokenIds), c.tokenIds, c.name)
            XCTAssertEqual(single.map(\.text), c.answers, c.name)
            let batched = try F.answerer.answers(c.questions, image: F.encoding, options: options)
            XCTAssertEqual(batched.map(\.tokenIds), c.tokenIds, "\(c.name) batched")
            XCTAssertEqual(batched.map(\.text), c.answers, "\(c.name) batched")
        }
        // The RGBImage convenience encodes the image itself.
        let first = cases[0]
        XCTAssertEqual(try F.answerer.answer(first.questions[1], image: F.image, options: first.options).tokenIds,
                       first.tokenIds[1])
    }

    /// transformers' padded-batch behaviour (decoder attends to question padding) on request.
    func testTransformersBatchModeMatchesPaddedGenerate() throws {
        let cases = F.expected.generate.filter { $0.name.hasSuffix("_batch") }
        XCTAssertEqual(cases.count, 4)
        for c in cases {
            let alone = F.expected.generate.first { $0.name == c.name.replacingOccurrences(of: "_batch", with: "_alone") }!
            XCTAssertNotEqual(alone.tokenIds, c.tokenIds, "fixture should show the padding effect")
            let answers = try F.answerer.answers(c.questions, image: F.encoding, options: c.options,
                                                 batchMode: .transformers)
            XCTAssertEqual(answers.map(\.tokenIds), c.tokenIds, c.name)
            XCTAssertEqual(answers.map(\.text), c.answers, c.name)
        }
    }

    /// The official rank mode: first-token probabilities, top-k selection, scores, order and
    /// probabilities, with label smoothing 0.1 and 0, k = 5 and k = all candidates.
    func testRankAnswersMatchesReferenceComputation() throws {
        XCTAssertEqual(F.expected.rank.count, 6)
        let candidates = F.expected.candidates
        let model = F.answerer.model
        var maxScoreDiff = 0.0, maxProbDiff = 0.0
        for r in F.expected.rank {
            let label = "\(r.question) k=\(r.k) ls=\(r.labelSmoothing)"
            // Model-level ranking: probabilities, kept indices and raw scores.
            var qids = F.answerer.tokenizer.encode(r.question, maxLength: 35)
            qids[0] = try XCTUnwrap(F.answerer.tokenizer.encTokenId)
            XCTAssertEqual(qids, r.questionIds, label)
            let states = try model.encodeQuestions([qids], image: F.encoding.crossAttention)
            let bos = model.config.textConfig.bosTokenId
            let ranking = try model.rankAnswers(
                question: model.questionCrossAttention(states),
                candidateIds: candidates.map { [bos] + F.answerer.tokenizer.encode($0).dropFirst() },
                k: r.k, labelSmoothing: r.labelSmoothing)
            XCTAssertEqual(ranking.topK, r.topKIndices, label)
            for (ours, ref) in zip(ranking.firstTokenProbabilities, r.firstTokenProbabilities) {
                XCTAssertEqual(Double(ours), ref, accuracy: ref * 1e-3, label)
            }
            for (ours, ref) in zip(ranking.scores, r.scores) {
                maxScoreDiff = max(maxScoreDiff, abs(Double(ours) - ref))
                XCTAssertEqual(Double(ours), ref, accuracy: 1e-4, label)
            }
            // High-level API: sorted answers with softmax probabilities.
            let ranked = try F.answerer.rankAnswers(r.question, image: F.encoding, candidates: candidates, k: r.k,
                                                    labelSmoothing: r.labelSmoothing)
            XCTAssertEqual(ranked.map(\.answer), r.ranked.map(\.answer), label)
            XCTAssertEqual(ranked.map(\.candidateIndex), r.ranked.map(\.index), label)
            for (ours, ref) in zip(ranked, r.ranked) {
                maxProbDiff = max(maxProbDiff, abs(Double(ours.probability) - ref.probability))
                XCTAssertEqual(Double(ours.probability), ref.probability, accuracy: 1e-4, label)
                XCTAssertEqual(Double(ours.score), ref.score, accuracy: 1e-4, label)
            }
            XCTAssertEqual(ranked.map(\.probability).reduce(0, +), 1, accuracy: 1e-5)
        }
        print("VQA rank max score diff \(maxScoreDiff), max probability diff \(maxProbDiff)")
        // Default k (128) keeps every candidate of a short list.
        let all = try F.answerer.rankAnswers(F.expected.rank[0].question, image: F.encoding, candidates: candidates)
        XCTAssertEqual(all.count, candidates.count)
        XCTAssertEqual(all.first?.tokenIds.first, F.answerer.model.config.textConfig.bosTokenId)
        XCTAssertEqual(all.first?.tokenIds.last, F.answerer.model.config.textConfig.sepTokenId)
    }

    func testBadInputsThrowClearErrors() throws {
        XCTAssertThrowsError(try F.answerer.rankAnswers("q", image: F.encoding, candidates: []))
        XCTAssertThrowsError(try F.answerer.rankAnswers("q", image: F.encoding, candidates: ["a"], k: 0))
        let long = Array(repeating: "word", count: 100).joined(separator: " ")
        XCTAssertThrowsError(try F.answerer.answer(long, image: F.encoding)) {
            XCTAssertTrue("\($0)".contains("max_position_embeddings"), "\($0)")
        }
        XCTAssertThrowsError(try F.answerer.rankAnswers("q", image: F.encoding, candidates: [long])) {
            XCTAssertTrue("\($0)".contains("max_position_embeddings"), "\($0)")
        }
        // Rank mode truncates the question to 35 tokens, as the official code does.
        XCTAssertNoThrow(try F.answerer.rankAnswers(long, image: F.encoding, candidates: ["a"]))
        XCTAssertEqual(try F.answerer.answers([], image: F.encoding), [])
    }

    func testStrictLoaderRejectsMissingAndUnusedWeights() throws {
        let store = try SafeTensorsCheckpoint(directory: F.directory)
        var tensors = [String: Tensor]()
        for name in store.names { tensors[name] = try store.tensor(name) }
        let config = F.answerer.model.config
        XCTAssertNoThrow(try BlipForQuestionAnswering(config: config, weights: DictionaryWeightStore(tensors)))

        var missing = tensors
        let key = "text_encoder.encoder.layer.1.crossattention.self.value.bias"
        missing[key] = nil
        XCTAssertThrowsError(try BlipForQuestionAnswering(config: config, weights: DictionaryWeightStore(missing))) {
            XCTAssertEqual($0 as? BlipModelError, .missingWeight(key))
        }
        var extra = tensors
        extra["text_encoder.pooler.dense.weight"] = Tensor.zeros([2])
        XCTAssertThrowsError(try BlipForQuestionAnswering(config: config, weights: DictionaryWeightStore(extra))) {
            XCTAssertEqual($0 as? BlipModelError, .unusedWeights(["text_encoder.pooler.dense.weight"]))
        }
    }

    func testCaptioningDirectoryIsRejectedWithAClearError() {
        let captioning = F.directory.deletingLastPathComponent().appendingPathComponent("tiny")
        XCTAssertThrowsError(try BlipQuestionAnswerer(modelDirectory: captioning)) {
            XCTAssertTrue("\($0)".contains("BlipForConditionalGeneration"), "\($0)")
        }
    }
}
