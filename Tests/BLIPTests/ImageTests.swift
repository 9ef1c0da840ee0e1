import Foundation
import XCTest
@testable import BLIP

/// Fixtures come from scripts/make_image_fixtures.py (transformers 5.23 BlipImageProcessorPil, Pillow 13).
final class ImageTests: XCTestCase {
    struct Case: Decodable {
        let name: String
        let file: String
        let height: Int
        let width: Int
        let kind: String
        let expected: String
        let pil_decoded: String?
    }

    struct Manifest: Decodable {
        let cases: [Case]
        let broken: [String]
    }

    static var directory: URL {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("images")
    }

    func url(_ name: String) -> URL { Self.directory.appendingPathComponent(name) }

    func manifest() throws -> Manifest {
        try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: url("cases.json")))
    }

    func processor(height: Int, width: Int) -> ImageProcessor {
        ImageProcessor(size: .fixed(height: height, width: width))
    }

    // MARK: - pixel_values against transformers

    func testPixelValuesMatchTransformers() throws {
        var report: [String] = []
        for c in try manifest().cases where c.kind != "png16-pil" {
            let image = try RGBImage(contentsOf: url(c.file))
            let values = processor(height: c.height, width: c.width).pixelValues(for: image)
            let expected = try readNumpyFloat32(url(c.expected))
            XCTAssertEqual(expected.shape, [1, 3, c.height, c.width], c.name)
            XCTAssertEqual(values.count, expected.values.count, c.name)
            let diff = maxAbsDiff(values, expected.values)
            report.append("\(c.name): max |diff| = \(diff)")
            // Measured: every case, PNG, JPEG and WebP alike, is bit-identical (diff 0) with the system
            // libjpeg-turbo 2.1.5 / libwebp 1.2.4 against Pillow 13's bundled libjpeg-turbo 3.2 / libwebp 1.6.
            let tolerance: Float = c.kind.hasPrefix("png") ? 1e-5 : 1e-5
            XCTAssertLessThanOrEqual(diff, tolerance, c.name)
        }
        print(report.joined(separator: "\n"))
    }

    func testLossyDecodersMatchPillow() throws {
        for c in try manifest().cases {
            guard let reference = c.pil_decoded else { continue }
            let ours = try RGBImage(contentsOf: url(c.file))
            let pil = try RGBImage(contentsOf: url(reference))  // lossless PNG of Pillow's decode
            XCTAssertEqual(ours.width, pil.width, c.name)
            XCTAssertEqual(ours.height, pil.height, c.name)
            var maxDiff = 0
            for i in ours.pixels.indices { maxDiff = max(maxDiff, abs(Int(ours.pixels[i]) - Int(pil.pixels[i]))) }
            print("\(c.name): decode max |diff| vs Pillow = \(maxDiff)")
            XCTAssertEqual(maxDiff, 0, c.name)
        }
    }

    func testResizeAt384MatchesPillowBitForBit() throws {
        let image = try RGBImage(contentsOf: url("rgb.png"))
        XCTAssertEqual(image.width, 120)
        XCTAssertEqual(image.height, 100)
        let ours = image.resized(width: 384, height: 384, filter: .bicubic)
        let pil = try RGBImage(contentsOf: url("rgb_384_pil.png"))
        XCTAssertTrue(ours == pil, "bicubic 120x100 -> 384x384 differs from Pillow")
        // The float stage is a per-value table: check it against the formula transformers uses.
        let p = ImageProcessor()
        XCTAssertEqual(p.outputWidth, 384)
        XCTAssertEqual(p.outputHeight, 384)
        let values = p.pixelValues(for: image)
        XCTAssertEqual(values.count, 3 * 384 * 384)
        let mean: [Float] = [0.48145466, 0.4578275, 0.40821073], std: [Float] = [0.26862954, 0.26130258, 0.27577711]
        for (c, index) in [(0, 0), (1, 1234), (2, 384 * 384 - 1)] {
            let v = Float(Double(pil.pixels[index * 3 + c]) * (1.0 / 255.0))
            XCTAssertEqual(values[c * 384 * 384 + index], (v - mean[c]) / std[c])
        }
    }

    // MARK: - 16-bit decision

    func testSixteenBitGreyUsesHighByteNotPillowClipping() throws {
        // Our documented rule: 16-bit samples keep the high byte. For 16-bit grey Pillow would clip to 255.
        let image = try RGBImage(contentsOf: url("gray16.png"))
        let gray8 = try RGBImage(contentsOf: url("gray.png"))  // the same photo stored as 8-bit (gray16 = gray * 257)
        XCTAssertTrue(image == gray8)
        let values = processor(height: 32, width: 40).pixelValues(for: image)
        let pilClipped = try readNumpyFloat32(url("png_gray16_pil_clipped.npy"))
        XCTAssertGreaterThan(maxAbsDiff(values, pilClipped.values), 1, "expected to differ from Pillow's clipping")
    }

    func testSixteenBitRGBMatchesPillowHighByte() throws {
        // Fixture: rgb16 = rgb * 257 + noise (0...256), so the high byte is rgb or rgb + 1.
        let image = try RGBImage(contentsOf: url("rgb16.png"))
        let rgb8 = try RGBImage(contentsOf: url("rgb.png"))
        XCTAssertEqual(image.width, rgb8.width)
        XCTAssertEqual(image.height, rgb8.height)
        let offsets = Set(zip(image.pixels, rgb8.pixels).map { Int($0) - Int($1) })
        XCTAssertEqual(offsets, [0, 1])
    }

    // MARK: - formats and errors

    func testFormatDetectedByMagicBytes() throws {
        let data = try Data(contentsOf: url("jpeg_named.png"))
        XCTAssertEqual(ImageFormat.detect(data), .jpeg)
        XCTAssertEqual(ImageFormat.detect(try Data(contentsOf: url("rgb.png"))), .png)
        XCTAssertEqual(ImageFormat.detect(try Data(contentsOf: url("lossy.webp"))), .webp)
        XCTAssertNil(ImageFormat.detect(try Data(contentsOf: url("random.bin"))))
    }

    func testBrokenFilesThrowWithClearMessages() throws {
        let expectations: [String: ImageDecodingError.Kind] = [
            "truncated.png": .truncated, "truncated.jpg": .truncated, "random.bin": .unsupportedFormat,
            "empty.png": .empty, "bad_crc.png": .corrupt, "header_only.webp": .truncated,
        ]
        XCTAssertEqual(Set(try manifest().broken), Set(expectations.keys))
        for (file, kind) in expectations {
            do {
                _ = try RGBImage(contentsOf: url(file))
                XCTFail("\(file) decoded")
            } catch let error as ImageDecodingError {
                XCTAssertEqual(error.kind, kind, "\(file): \(error)")
                XCTAssertTrue(error.description.contains(file), error.description)
                XCTAssertFalse(error.detail.isEmpty, error.description)
                print(error.description)
            }
        }
        XCTAssertThrowsError(try RGBImage(contentsOf: url("does-not-exist.png"))) { error in
            XCTAssertEqual((error as? ImageDecodingError)?.kind, .unreadable)
        }
        // Every prefix of a valid file must throw, never crash.
        for file in ["rgb.png", "baseline.jpg", "progressive.jpg", "lossy.webp", "lossless.webp"] {
            let data = try Data(contentsOf: url(file))
            for length in stride(from: 0, to: data.count, by: max(1, data.count / 40)) {
                XCTAssertThrowsError(try RGBImage(data: data.prefix(length)), "\(file) cut at \(length)")
            }
        }
    }

    func testPixelBudgetRefusedBeforeDecoding() throws {
        for file in ["rgb.png", "baseline.jpg", "lossy.webp"] {  // all 120x100 = 12000 pixels
            XCTAssertNoThrow(try RGBImage(contentsOf: url(file), maxPixels: 12_000))
            XCTAssertThrowsError(try RGBImage(contentsOf: url(file), maxPixels: 11_999)) { error in
                let e = error as? ImageDecodingError
                XCTAssertEqual(e?.kind, .tooManyPixels, "\(error)")
                XCTAssertTrue(e?.description.contains("120x100") ?? false, "\(error)")
            }
        }
        // A PNG header claiming 100000 x 100000 pixels with no data: refused by the budget, not by OOM.
        var header = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var ihdr = Data("IHDR".utf8)
        for v in [UInt32(100_000), UInt32(100_000)] { withUnsafeBytes(of: v.bigEndian) { ihdr.append(contentsOf: $0) } }
        ihdr.append(contentsOf: [8, 2, 0, 0, 0])
        withUnsafeBytes(of: UInt32(13).bigEndian) { header.append(contentsOf: $0) }
        header.append(ihdr)
        withUnsafeBytes(of: crc32(ihdr).bigEndian) { header.append(contentsOf: $0) }
        XCTAssertThrowsError(try RGBImage(data: header)) { error in
            XCTAssertEqual((error as? ImageDecodingError)?.kind, .tooManyPixels, "\(error)")
        }
    }

    private func crc32(_ data: Data) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1))) }
        }
        return ~crc
    }

    // MARK: - configuration and .npy

    func testConfigParsing() throws {
        let json = """
        {"do_normalize": true, "do_rescale": true, "do_resize": true, "image_mean": [0.5, 0.5, 0.5],
         "image_processor_type": "BlipImageProcessor", "image_std": [0.25, 0.25, 0.25], "resample": 2,
         "rescale_factor": 0.00392156862745098, "size": {"height": 224, "width": 200}}
        """
        let p = try ImageProcessor(configData: Data(json.utf8))
        XCTAssertEqual(p.size, .fixed(height: 224, width: 200))
        XCTAssertEqual(p.resample, .bilinear)
        XCTAssertEqual(p.imageMean, [0.5, 0.5, 0.5])
        XCTAssertEqual(p.imageStd, [0.25, 0.25, 0.25])
        XCTAssertEqual(try ImageProcessor(configFile: nil), ImageProcessor())
        XCTAssertEqual(try ImageProcessor(configData: Data("{}".utf8)), ImageProcessor())
        XCTAssertEqual(try ImageProcessor(configData: Data(#"{"size": 480}"#.utf8)).size, .fixed(height: 480, width: 480))
        let short = try ImageProcessor(configData: Data(#"{"size": {"shortest_edge": 20}}"#.utf8))
        XCTAssertTrue(short.outputSize(forWidth: 120, height: 100) == (24, 20))
        XCTAssertThrowsError(try ImageProcessor(configData: Data(#"{"resample": 0}"#.utf8)))
        XCTAssertThrowsError(try ImageProcessor(configData: Data(#"{"size": {"height": 0, "width": 3}}"#.utf8)))
        XCTAssertThrowsError(try ImageProcessor(configData: Data("not json".utf8)))
    }

    func testNumpyWriterRoundTrip() throws {
        let values = (0..<(3 * 4 * 5)).map { Float($0) * 0.5 - 7 }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("blip-npy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("x.npy")
        try NumpyWriter.writeFloat32(values, shape: [1, 3, 4, 5], to: file)
        let bytes = try Data(contentsOf: file)
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        XCTAssertEqual((10 + headerLength) % 64, 0)
        XCTAssertEqual(bytes[10 + headerLength - 1], 0x0A)
        XCTAssertEqual(bytes[6], 1)
        XCTAssertEqual(bytes[7], 0)
        let read = try readNumpyFloat32(file)
        XCTAssertEqual(read.shape, [1, 3, 4, 5])
        XCTAssertEqual(read.values, values)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["x.npy"])  // no temp left
        XCTAssertTrue(String(decoding: NumpyWriter.float32Data([1, 2], shape: [2]).prefix(80), as: UTF8.self).contains("(2,)"))
    }
}
