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

    /// An F16 checkpoint: in fp32 and bf16 its Linear weights are kept as the stored halves (half
    /// the memory, no fp32 copy) and compute as fp32 on those exact values, so in fp32 the outputs
    /// equal an fp32 checkpoint holding the same numbers; int8 quantises them.
    func testF16CheckpointIsUsedAsStored() throws {
        let checkpoint = try SafeTensorsCheckpoint(directory: TinyFixture.directory)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("f16-\(UUID().uuidString)")
        let f32Dir = dir.appendingPathComponent("f32"), f16Dir = dir.appendingPathComponent("f16")
        defer { try? FileManager.default.removeItem(at: dir) }
        var rounded: [(name: String, tensor: Tensor)] = []
        for name in checkpoint.names.sorted() {
            let t = try checkpoint.tensor(name)
            rounded.append((name, Tensor(t.scalars.map { Float(Float16($0)) }, shape: t.shape)))
        }
        for d in [f32Dir, f16Dir] {
            try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
            for file in try FileManager.default.contentsOfDirectory(atPath: TinyFixture.directory.path)
            where file.hasSuffix(".json") || file.hasSuffix(".txt") {
                try FileManager.default.copyItem(at: TinyFixture.directory.appendingPathComponent(file),
                                                 to: d.appendingPathComponent(file))
            }
        }
        try SafeTensorsWriter.write(rounded, to: f32Dir.appendingPathComponent("model.safetensors"))
        try writeF16(rounded, to: f16Dir.appendingPathComponent("model.safetensors"))

        let name = "text_decoder.bert.encoder.layer.0.attention.self.query.weight"
        XCTAssertEqual(try SafeTensorsCheckpoint(directory: f16Dir).info(name)?.dtype, .f16)
        let reference = try BlipForConditionalGeneration(directory: f32Dir)
        let image = try TinyFixture.image(TinyFixture.expected.images[0])
        let pixels = try TinyFixture.captioner.pixelValues([image, image])
        let ids = [30522, 1037, 3861, 1997, 1037, 4937, 102]
        let expected = reference.decoderLogits(inputIds: [ids, ids], imageEmbeddings: reference.imageEmbeddings(pixels)).scalars
        var options = GenerationOptions()
        options.maxNewTokens = 8
        let expectedIds = try reference.generate(pixelValues: pixels, options: options)
        for precision in [Precision.fp32, .bf16] {
            let model = try BlipForConditionalGeneration(directory: f16Dir, precision: precision)
            let query = model.textDecoder.bert.layers[0].attention.query.matrix
            guard case .f16 = query else { return XCTFail("\(precision): query weight is \(query), not the stored F16") }
            XCTAssertEqual(query.byteCount, query.rows * query.cols * 2)
            XCTAssertEqual(query.toFloat().scalars, try checkpoint.tensor(name).scalars.map { Float(Float16($0)) })
            let logits = model.decoderLogits(inputIds: [ids, ids], imageEmbeddings: model.imageEmbeddings(pixels)).scalars
            if precision == .fp32 {
                XCTAssertLessThan(relativeError(logits, expected), 1e-5)
                XCTAssertEqual(try model.generate(pixelValues: pixels, options: options), expectedIds)
            } else {
                // bf16: the stored F16 matrices as they are; only what is converted from fp32
                // tensors (the LM head tied to the word embeddings) is rounded to bf16.
                XCTAssertLessThan(relativeError(logits, expected), 1.87e-2)
            }
        }
        let int8 = try BlipForConditionalGeneration(directory: f16Dir, precision: .int8)
        XCTAssertEqual(int8.textDecoder.bert.layers[0].attention.query.matrix.precision, .int8)
    }

    /// Writes `tensors` as an F16 safetensors file.
    private func writeF16(_ tensors: [(name: String, tensor: Tensor)], to url: URL) throws {
        var entries: [String] = [], data = Data(), offset = 0
        for (name, t) in tensors {
            let halves = t.scalars.map { Float16($0).bitPattern }
            halves.withUnsafeBytes { data.append(contentsOf: $0) }
            let shape = t.shape.map(String.init).joined(separator: ",")
            entries.append("\"\(name)\":{\"dtype\":\"F16\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + halves.count * 2)]}")
            offset += halves.count * 2
        }
        var header = Data("{\(entries.joined(separator: ","))}".utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var file = Data()
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { file.append(contentsOf: $0) }
        try (file + header + data).write(to: url)
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
