import Foundation
import XCTest
@testable import BLIP
import BLIPEval

/// The tiny random-weight BlipForImageTextRetrieval model and what transformers computed for it
/// (`python3 scripts/reference_retrieval.py make-fixtures`): 3 images x 6 texts.
enum TinyITMFixture {
    static let directory = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
        .appendingPathComponent("tiny-itm")

    struct Expected: Decodable {
        var images: [String]
        var texts: [String]
        var inputIds: [[Int]]
        var attentionMask: [[Int]]
        var inputIdsOfficial: [[Int]]
        var imageTextHiddenSize: Int
        enum CodingKeys: String, CodingKey {
            case images, texts, inputIds = "input_ids", attentionMask = "attention_mask"
            case inputIdsOfficial = "input_ids_official", imageTextHiddenSize = "image_text_hidden_size"
        }
    }

    static let expected: Expected = try! JSONDecoder().decode(
        Expected.self, from: Data(contentsOf: directory.appendingPathComponent("expected.json")))
    static let tensors = try! SafeTensorsFile(url: directory.appendingPathComponent("expected.safetensors"))
    static let matcher = try! BlipImageTextMatcher(modelDirectory: directory)

    static func images() throws -> [RGBImage] {
        try expected.images.map { try RGBImage(contentsOf: directory.appendingPathComponent($0)) }
    }

    /// Expected tensor `name` as nested rows of its last dimension.
    static func matrix(_ name: String) throws -> [[Float]] {
        let t = try tensors.tensor(name)
        let d = t.shape[t.rank - 1]
        let s = t.scalars
        return stride(from: 0, to: s.count, by: d).map { Array(s[$0..<($0 + d)]) }
    }
}

private func maxDiff(_ a: [[Float]], _ b: [[Float]], file: StaticString = #filePath, line: UInt = #line) -> Float {
    XCTAssertEqual(a.count, b.count, "row count", file: file, line: line)
    var m: Float = 0
    for (x, y) in zip(a, b) {
        XCTAssertEqual(x.count, y.count, "row length", file: file, line: line)
        for (u, v) in zip(x, y) { m = max(m, abs(u - v)) }
    }
    return m
}

final class RetrievalTests: XCTestCase {
    let tolerance: Float = 1e-4

    // MARK: - Loading and inputs

    func testTinyRetrievalCheckpointLoads() throws {
        let m = TinyITMFixture.matcher
        XCTAssertEqual(m.embeddingSize, TinyITMFixture.expected.imageTextHiddenSize)
        XCTAssertEqual(m.embeddingSize, 24)
        XCTAssertEqual(m.modelIdentifier, "tiny-itm")
        XCTAssertEqual(m.tokenizer.encTokenId, 30523)
    }

    func testTokenizationMatchesTransformers() throws {
        let e = TinyITMFixture.expected
        let batch = TinyITMFixture.matcher.tokenizer.encodeBatch(e.texts)
        XCTAssertEqual(batch.inputIds, e.inputIds)
        XCTAssertEqual(batch.attentionMask, e.attentionMask)
        XCTAssertEqual(TinyITMFixture.matcher.model.itmInputIds(batch.inputIds, mode: .official), e.inputIdsOfficial)
        XCTAssertEqual(TinyITMFixture.matcher.model.itmInputIds(batch.inputIds, mode: .transformers), e.inputIds)
    }

    func testLoaderRejectsMissingAndUnusedKeys() throws {
        let checkpoint = try SafeTensorsCheckpoint(directory: TinyITMFixture.directory)
        var tensors = [String: Tensor]()
        for name in checkpoint.names { tensors[name] = try checkpoint.tensor(name) }
        let config = TinyITMFixture.matcher.model.config
        XCTAssertNoThrow(try BlipForImageTextRetrieval(config: config, weights: DictionaryWeightStore(tensors)))

        var missing = tensors
        missing["text_proj.bias"] = nil
        XCTAssertThrowsError(try BlipForImageTextRetrieval(config: config, weights: DictionaryWeightStore(missing))) {
            XCTAssertEqual($0 as? BlipModelError, .missingWeight("text_proj.bias"))
        }
        var extra = tensors
        extra["text_encoder.pooler.dense.bias"] = Tensor.zeros([32])
        XCTAssertThrowsError(try BlipForImageTextRetrieval(config: config, weights: DictionaryWeightStore(extra))) {
            XCTAssertEqual($0 as? BlipModelError, .unusedWeights(["text_encoder.pooler.dense.bias"]))
        }
        // A captioning checkpoint is refused with a message that says what it is.
        XCTAssertThrowsError(try BlipImageTextMatcher(modelDirectory: TinyFixture.directory)) {
            XCTAssertTrue("\($0)".contains("not an image-text matching model"), "\($0)")
        }
    }

    // MARK: - Against transformers

    func testImageStatesAndEmbeddingsMatchTransformers() throws {
        let m = TinyITMFixture.matcher
        let images = try TinyITMFixture.images()
        let pixels = try m.pixelValues(images)
        XCTAssertLessThan(pixels.maxAbsDifference(try TinyITMFixture.tensors.tensor("pixel_values")), 1e-5)
        let states = m.model.imageEmbeddings(pixels)
        let expectedStates = try TinyITMFixture.tensors.tensor("image_embeds")
        XCTAssertEqual(states.shape, expectedStates.shape)
        XCTAssertLessThan(states.maxAbsDifference(expectedStates), tolerance)

        let embeddings = try m.imageEmbeddings(images)
        let d = maxDiff(embeddings, try TinyITMFixture.matrix("image_feat"))
        XCTAssertLessThan(d, tolerance)
        for e in embeddings {
            XCTAssertEqual(e.count, 24)
            XCTAssertEqual(e.reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-5)
        }
        // encode() holds the same states and embedding, one image at a time or batched.
        let encoded = try m.encode(images[1])
        XCTAssertLessThan(encoded.states.maxAbsDifference(expectedStates[1].contiguous()), tolerance)
        XCTAssertLessThan(maxDiff([encoded.embedding], [embeddings[1]]), 1e-6)
        print("RetrievalTests: image states max |diff| \(states.maxAbsDifference(expectedStates)), ITC image embedding \(d)")
    }

    func testTextStatesAndEmbeddingsMatchTransformers() throws {
        let m = TinyITMFixture.matcher
        let e = TinyITMFixture.expected
        let states = try m.model.textStates(inputIds: e.inputIds, attentionMask: e.attentionMask)
        let expectedStates = try TinyITMFixture.tensors.tensor("text_states")
        // Padded positions are computed too (transformers does not zero them): compare all.
        XCTAssertLessThan(states.maxAbsDifference(expectedStates), tolerance)

        var matcher = m
        matcher.textBatchSize = 4  // two chunks with different padded lengths
        let embeddings = try matcher.textEmbeddings(e.texts)
        let d = maxDiff(embeddings, try TinyITMFixture.matrix("text_feat"))
        XCTAssertLessThan(d, tolerance)
        print("RetrievalTests: text states max |diff| \(states.maxAbsDifference(expectedStates)), ITC text embedding \(d)")
        // One text alone (no padding) gives the same vector.
        let alone = try m.textEmbeddings([e.texts[0]])
        XCTAssertLessThan(maxDiff(alone, [embeddings[0]]), 1e-5)
    }

    /// The model-level ITC matrix (transformers `use_itm_head=False`: [images, texts]).
    func testITCMatrixEqualsTransformers() throws {
        let model = TinyITMFixture.matcher.model
        let e = TinyITMFixture.expected
        let pixels = try TinyITMFixture.tensors.tensor("pixel_values")
        let imageFeatures = model.imageFeatures(imageEmbeddings: model.imageEmbeddings(pixels))
        let textFeatures = try model.textFeatures(inputIds: e.inputIds, attentionMask: e.attentionMask)
        let matrix = try BlipForImageTextRetrieval.cosineMatrix(imageFeatures: imageFeatures, textFeatures: textFeatures)
        XCTAssertLessThan(maxDiff(matrix, try TinyITMFixture.matrix("itc_cosine")), tolerance)
        XCTAssertThrowsError(try BlipForImageTextRetrieval.cosineMatrix(imageFeatures: imageFeatures,
                                                                         textFeatures: Tensor.zeros([2, 5])))
    }

    func testITMStatesMatchTransformers() throws {
        let m = TinyITMFixture.matcher
        let e = TinyITMFixture.expected
        let expected = try TinyITMFixture.tensors.tensor("itm_text_states")  // [images, texts, T, C]
        let embeds = try TinyITMFixture.tensors.tensor("image_embeds")
        for i in 0..<embeds.shape[0] {
            let image = embeds.slice(0, i..<(i + 1)).contiguous()
            let states = try m.model.itmStates(imageEmbeddings: image, inputIds: e.inputIds, attentionMask: e.attentionMask)
            XCTAssertLessThan(states.maxAbsDifference(expected[i].contiguous()), tolerance, "image \(i)")
        }
    }

    func testMatchEqualsTransformersInBothModes() throws {
        let m = TinyITMFixture.matcher
        let texts = TinyITMFixture.expected.texts
        let encodings = try m.encode(try TinyITMFixture.images())
        let itc = try TinyITMFixture.matrix("itc_cosine")
        for (mode, suffix) in [(ITMInputMode.transformers, ""), (.official, "_official")] {
            let probability = try TinyITMFixture.matrix("itm_probability" + suffix)
            let logits = try TinyITMFixture.tensors.tensor("itm_logits" + suffix).scalars
            var maxP: Float = 0, maxC: Float = 0, maxL: Float = 0
            for (i, image) in encodings.enumerated() {
                let matches = try m.match(image, texts: texts, mode: mode)
                XCTAssertEqual(matches.count, texts.count)
                for (j, r) in matches.enumerated() {
                    maxP = max(maxP, abs(r.itmProbability - probability[i][j]))
                    maxC = max(maxC, abs(r.itcCosine - itc[i][j]))
                    for k in 0..<2 { maxL = max(maxL, abs(r.itmLogits[k] - logits[(i * texts.count + j) * 2 + k])) }
                }
            }
            XCTAssertLessThan(maxP, tolerance, "\(mode) probability")
            XCTAssertLessThan(maxL, tolerance, "\(mode) logits")
            XCTAssertLessThan(maxC, tolerance, "\(mode) cosine")
            print("RetrievalTests \(mode): max |diff| ITM probability \(maxP), ITM logits \(maxL), ITC cosine \(maxC)")
        }
        // The two modes really differ on this model (otherwise the test above proves nothing).
        let a = try TinyITMFixture.matrix("itm_probability"), b = try TinyITMFixture.matrix("itm_probability_official")
        XCTAssertGreaterThan(maxDiff(a, b), 1e-3)
    }

    func testOneTextAgainstSeveralImagesEqualsTransformers() throws {
        var m = TinyITMFixture.matcher
        m.itmImageBatchSize = 2  // 3 images: a chunk of 2 and a chunk of 1
        let texts = TinyITMFixture.expected.texts
        let encodings = try m.encode(try TinyITMFixture.images())
        for (mode, suffix) in [(ITMInputMode.transformers, ""), (.official, "_official")] {
            let probability = try TinyITMFixture.matrix("itm_probability" + suffix)
            for (j, text) in texts.enumerated() {
                let p = try m.itmProbabilities(images: encodings, text: text, mode: mode)
                XCTAssertEqual(p.count, encodings.count)
                for i in encodings.indices {
                    XCTAssertEqual(p[i], probability[i][j], accuracy: tolerance, "\(mode) image \(i) text \(j)")
                }
            }
        }
    }

    func testStoredEncodingRoundTrip() throws {
        let m = TinyITMFixture.matcher
        let image = try m.encode(try TinyITMFixture.images()[0])
        let stored = try BlipImageEncoding(states: image.states.scalars, tokens: image.states.shape[0],
                                           width: image.states.shape[1], embedding: image.embedding)
        XCTAssertEqual(try m.match(stored, texts: ["a cat"]), try m.match(image, texts: ["a cat"]))
        XCTAssertThrowsError(try BlipImageEncoding(states: [1, 2, 3], tokens: 2, width: 2, embedding: []))
        let wrong = try BlipImageEncoding(states: image.states.scalars, tokens: image.states.shape[0],
                                          width: image.states.shape[1], embedding: [1, 0])
        XCTAssertThrowsError(try m.match(wrong, texts: ["a cat"]))
        XCTAssertEqual(try m.match(image, texts: []), [])
        XCTAssertEqual(try m.itmProbabilities(images: [], text: "a cat"), [])
    }

    /// The tiny model has 64 positions: a longer text is an error naming the problem.
    func testBadTextInputsThrowClearErrors() throws {
        let m = TinyITMFixture.matcher
        let long = Array(repeating: "cat", count: 70).joined(separator: " ")
        let image = try m.encode(try TinyITMFixture.images()[0])
        XCTAssertThrowsError(try m.match(image, texts: ["a cat", long])) {
            XCTAssertTrue("\($0)".contains("longer than the model's 64 positions"), "\($0)")
        }
        XCTAssertThrowsError(try m.textEmbeddings([long]))
        XCTAssertThrowsError(try m.model.textStates(inputIds: [[101, 40_000, 102]])) {
            XCTAssertTrue("\($0)".contains("outside the vocabulary"), "\($0)")
        }
        XCTAssertThrowsError(try m.model.textStates(inputIds: [[101, 102], [101]]))
    }

    // MARK: - Ranking and recall

    /// Text→image retrieval with our embeddings orders the images as transformers' cosines do.
    func testRetrievalOrderEqualsBruteForceRanking() throws {
        let m = TinyITMFixture.matcher
        let imageEmb = try m.imageEmbeddings(try TinyITMFixture.images())
        let textEmb = try m.textEmbeddings(TinyITMFixture.expected.texts)
        let reference = try TinyITMFixture.matrix("itc_cosine")  // [images][texts]
        for (t, text) in textEmb.enumerated() {
            let scores = imageEmb.map { zip($0, text).reduce(0) { $0 + $1.0 * $1.1 } }
            let ref = reference.map { $0[t] }
            // Brute force: item i goes before j when its reference cosine is larger.
            let brute = ref.indices.sorted { ref[$0] > ref[$1] }
            let gaps = zip(brute, brute.dropFirst()).map { ref[$0] - ref[$1] }
            XCTAssertGreaterThan(gaps.min() ?? 1, 10 * tolerance, "reference near-tie makes the order meaningless")
            XCTAssertEqual(rankedIndices(scores), brute, "text \(t)")
        }
        // And image→text.
        for (i, image) in imageEmb.enumerated() {
            let scores = textEmb.map { zip($0, image).reduce(0) { $0 + $1.0 * $1.1 } }
            let ref = reference[i]
            let brute = ref.indices.sorted { ref[$0] > ref[$1] }
            XCTAssertEqual(rankedIndices(scores), brute, "image \(i)")
        }
    }

    func testRankedIndicesTiesAndNaN() {
        XCTAssertEqual(rankedIndices([0.5, 0.9, 0.5, .nan, 1.0, 0.9]), [4, 1, 5, 0, 2, 3])
        XCTAssertEqual(rankedIndices([]), [])
        XCTAssertEqual(bestRelevantRank([0.5, 0.9, 0.5, .nan, 1.0, 0.9], relevant: [2, 3]), 4)
        XCTAssertNil(bestRelevantRank([1, 2], relevant: []))
    }

    /// A hand-computed gallery: 4 queries x 5 items.
    func testRecallAtKOnSyntheticGallery() throws {
        let similarity: [[Float]] = [
            [0.9, 0.1, 0.3, 0.2, 0.0],  // ranking 0,2,3,1,4; relevant {0}: rank 0
            [0.2, 0.2, 0.8, 0.2, 0.1],  // ranking 2,0,1,3,4; relevant {3}: rank 3 (tie by index)
            [0.0, 0.5, 0.4, 0.6, 0.7],  // ranking 4,3,1,2,0; relevant {2, 0}: rank 3
            [0.3, 0.3, 0.3, 0.3, 0.3],  // ranking 0,1,2,3,4; relevant {4}: rank 4
        ]
        let relevant: [Set<Int>] = [[0], [3], [2, 0], [4]]
        let r = try recallAtK(similarity: similarity, relevant: relevant, ks: [1, 2, 4, 5])
        XCTAssertEqual(r, [1: 0.25, 2: 0.25, 4: 0.75, 5: 1.0])
        XCTAssertThrowsError(try recallAtK(similarity: similarity, relevant: relevant, ks: [0]))
        XCTAssertThrowsError(try recallAtK(similarity: similarity, relevant: [[0]], ks: [1]))
        XCTAssertThrowsError(try recallAtK(similarity: similarity, relevant: [[0], [3], [9], [4]], ks: [1]))

        // Both directions of an image x text matrix: 2 images, 4 texts (texts 0,1 -> image 0).
        let scores: [[Float]] = [
            [0.9, 0.2, 0.8, 0.1],
            [0.3, 0.7, 0.6, 0.5],
        ]
        let both = try RetrievalRecall(scores: scores, imageOfText: [0, 0, 1, 1], ks: [1, 2])
        // image 0: texts by score 0,2,1,3 -> best relevant rank 0; image 1: 1,2,3,0 -> rank 1 (text 2).
        XCTAssertEqual(both.imageToText, [1: 0.5, 2: 1.0])
        // text 0: images 0,1 -> rank 0; text 1: 1,0 -> rank 1; text 2: 0,1 -> rank 1; text 3: 1,0 -> rank 0.
        XCTAssertEqual(both.textToImage, [1: 0.5, 2: 1.0])
    }

    /// Recall@K of the tiny model's ITC matrix against a direct count from transformers' cosines.
    func testRecallAtKOfTinyModelEqualsDirectComputation() throws {
        let m = TinyITMFixture.matcher
        let imageEmb = try m.imageEmbeddings(try TinyITMFixture.images())
        let textEmb = try m.textEmbeddings(TinyITMFixture.expected.texts)
        let ours = try similarityMatrix(queries: imageEmb, gallery: textEmb)
        let reference = try TinyITMFixture.matrix("itc_cosine")
        XCTAssertLessThan(maxDiff(ours, reference), tolerance)
        XCTAssertLessThan(maxDiff(try similarityMatrix(queries: textEmb, gallery: imageEmb),
                                  (0..<textEmb.count).map { t in reference.map { $0[t] } }), tolerance)
        XCTAssertThrowsError(try similarityMatrix(queries: imageEmb, gallery: [[1, 2]]))
        // Pretend captions: texts 0,1 -> astronaut, 2,5 -> cat, 3 -> coffee, 4 (empty) -> cat.
        let imageOfText = [0, 0, 1, 2, 1, 1]
        let recall = try RetrievalRecall(scores: ours, imageOfText: imageOfText, ks: [1, 2, 3])
        for k in [1, 2, 3] {
            let t2i = imageOfText.indices.filter { t in
                reference.indices.filter { reference[$0][t] > reference[imageOfText[t]][t] }.count < k
            }.count
            XCTAssertEqual(recall.textToImage[k], Double(t2i) / 6, "t2i R@\(k)")
            let i2t = reference.indices.filter { i in
                let best = imageOfText.indices.filter { imageOfText[$0] == i }.map { reference[i][$0] }.max()!
                return reference[i].filter { $0 > best }.count < k
            }.count
            XCTAssertEqual(recall.imageToText[k], Double(i2t) / 3, "i2t R@\(k)")
        }
    }
}
