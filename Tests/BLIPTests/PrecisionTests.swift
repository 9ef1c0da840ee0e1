import XCTest
@testable import BLIP

/// The tiny captioning model loaded in bf16 and int8 against itself in fp32 (its weights are
/// bf16-representable, so bf16 differs from fp32 only through the activations the AVX512_BF16
/// kernel rounds; the test forces that kernel where the CPU has it). Bounds are
/// PyTorch's own errors in those precisions on full-size random base weights (scripts/precision.py:
/// bf16 vision 1.07e-2 / logits 1.87e-2, int8 vision 4.35e-2 / logits 5.98e-2).
final class PrecisionTests: XCTestCase {
    private func relativeError(_ a: [Float], _ b: [Float]) -> Double {
        XCTAssertEqual(a.count, b.count)
        var e = 0.0, n = 0.0
        for (x, y) in zip(a, b) { e += Double(x - y) * Double(x - y); n += Double(y) * Double(y) }
        return (e / n).squareRoot()
    }

    private func outputs(_ precision: Precision) throws -> (vision: [Float], logits: [Float]) {
        let model = try BlipForConditionalGeneration(directory: TinyFixture.directory, precision: precision)
        let size = model.config.visionConfig.imageSize
        var state: UInt64 = 7
        let pixels = (0..<(2 * 3 * size * size)).map { _ -> Float in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(state >> 40) / Float(1 << 24) * 4 - 2
        }
        let embeds = model.imageEmbeddings(Tensor(pixels, shape: [2, 3, size, size]))
        let ids = [30522, 1037, 3861, 1997, 1037, 4937, 102]
        let logits = model.decoderLogits(inputIds: [ids, ids], imageEmbeddings: embeds)
        return (embeds.scalars, logits.scalars)
    }

    func testReducedPrecisionErrorsWithinPyTorchs() throws {
        let fp32 = try outputs(.fp32)
        WeightMatrix.forceKernels(.native)
        defer { WeightMatrix.forceKernels(.automatic) }
        for (precision, visionBound, logitsBound) in [(Precision.bf16, 1.07e-2, 1.87e-2), (.int8, 4.35e-2, 5.98e-2)] {
            let low = try outputs(precision)
            let ev = relativeError(low.vision, fp32.vision), el = relativeError(low.logits, fp32.logits)
            // Something must change: int8 always (quantised weights); bf16 where its kernel runs.
            if precision == .int8 || WeightMatrix.usesBF16Kernel {
                XCTAssertGreaterThan(ev, 1e-6, "\(precision) vision equals fp32: nothing was converted")
                XCTAssertGreaterThan(el, 1e-6, "\(precision) logits equal fp32")
            }
            XCTAssertLessThan(ev, visionBound, "\(precision) vision")
            XCTAssertLessThan(el, logitsBound, "\(precision) logits")
        }
    }

    /// The tiny checkpoint is stored as BF16: in bf16 its Linear weights are its own bits (no
    /// fp32 detour), equal to the fp32 load's values.
    func testBF16CheckpointIsUsedAsStored() throws {
        let checkpoint = try SafeTensorsCheckpoint(directory: TinyFixture.directory)
        let name = "text_decoder.bert.encoder.layer.0.attention.self.query.weight"
        XCTAssertEqual(checkpoint.info(name)?.dtype, .bf16)
        let raw = try XCTUnwrap(checkpoint.bf16Matrix(name))
        XCTAssertEqual(raw.precision, .bf16)
        XCTAssertEqual(raw.toFloat().scalars, try checkpoint.tensor(name).scalars)
        let model = try BlipForConditionalGeneration(directory: TinyFixture.directory, precision: .bf16)
        let query = model.textDecoder.bert.layers[0].attention.query.matrix
        XCTAssertEqual(query.precision, .bf16)
        XCTAssertEqual(query.toFloat().scalars, raw.toFloat().scalars)
    }

    func testStrictLoadingInEveryPrecision() throws {
        let checkpoint = try SafeTensorsCheckpoint(directory: TinyFixture.directory)
        var tensors: [String: Tensor] = [:]
        for name in checkpoint.names { tensors[name] = try checkpoint.tensor(name) }
        tensors["extra.weight"] = Tensor([1], shape: [1])
        let config = try BlipConfig.load(directory: TinyFixture.directory)
        for precision in Precision.allCases {
            XCTAssertThrowsError(try BlipForConditionalGeneration(config: config, weights: DictionaryWeightStore(tensors),
                                                                  precision: precision)) { error in
                XCTAssertTrue("\(error)".contains("extra.weight"), "\(precision): \(error)")
            }
        }
    }

    func testCaptionerReportsPrecisionThroughLinearLayers() throws {
        let captioner = try BlipCaptioner(modelDirectory: TinyFixture.directory, precision: .int8)
        XCTAssertEqual(captioner.model.textDecoder.head.decoder.matrix.precision, .int8)
        let caption = try captioner.captions(for: [RGBImage(width: 48, height: 48, pixels: [UInt8](repeating: 128, count: 48 * 48 * 3))])
        XCTAssertEqual(caption.count, 1)
    }
}
