import Foundation
import XCTest
@testable import BLIP

/// Fixtures come from scripts/make_exif_fixtures.py: the expected images are Pillow 13's
/// `ImageOps.exif_transpose(Image.open(f)).convert("RGB")`, what transformers' `load_image` gives.
final class ExifOrientationTests: XCTestCase {
    struct Case: Decodable {
        let file: String
        let expected: String
        let orientation: Int
        let width: Int
        let height: Int
    }

    struct PixelValuesCase: Decodable {
        let file: String
        let height: Int
        let width: Int
        let expected: String
    }

    struct Manifest: Decodable {
        let cases: [Case]
        let pixel_values: PixelValuesCase
    }

    static var directory: URL {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("images/exif")
    }

    func url(_ name: String) -> URL { Self.directory.appendingPathComponent(name) }

    func manifest() throws -> Manifest {
        try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: url("cases.json")))
    }

    func testEveryOrientationMatchesPillowExifTranspose() throws {
        let cases = try manifest().cases
        XCTAssertEqual(cases.count, 14)
        for c in cases {
            let data = try Data(contentsOf: url(c.file))
            XCTAssertEqual(ExifOrientation.read(from: data).rawValue, c.orientation, c.file)
            let image = try RGBImage(contentsOf: url(c.file))
            let expected = try RGBImage(contentsOf: url(c.expected))
            XCTAssertEqual(image.width, c.width, c.file)
            XCTAssertEqual(image.height, c.height, c.file)
            XCTAssertEqual(image, expected, c.file)
        }
    }

    func testIgnoringExifKeepsTheStoredLayout() throws {
        let stored = try RGBImage(contentsOf: url("orient_1.jpg"))
        let raw = try RGBImage(contentsOf: url("orient_6.jpg"), applyingExifOrientation: false)
        XCTAssertEqual(raw.width, 20)
        XCTAssertEqual(raw.height, 12)
        XCTAssertEqual(raw, stored)  // same JPEG data, only the EXIF block differs
        let upright = try RGBImage(contentsOf: url("orient_6.jpg"))
        XCTAssertEqual(upright.width, 12)
        XCTAssertNotEqual(upright.pixels, raw.pixels)
        let fromData = try RGBImage(data: Data(contentsOf: url("orient_6.jpg")))
        XCTAssertEqual(fromData, upright)
    }

    func testPixelValuesOfARotatedPhotoMatchTransformers() throws {
        let c = try manifest().pixel_values
        let image = try RGBImage(contentsOf: url(c.file))
        let values = ImageProcessor(size: .fixed(height: c.height, width: c.width)).pixelValues(for: image)
        let expected = try readNumpyFloat32(url(c.expected))
        XCTAssertEqual(expected.shape, [1, 3, c.height, c.width])
        XCTAssertEqual(values.count, expected.values.count)
        XCTAssertLessThanOrEqual(maxAbsDiff(values, expected.values), 1e-5)
    }

    /// The inverse pairs of the eight orientations: turning an image upright and back is the identity.
    func testOrientationsAreTheEightSymmetriesOfTheRectangle() throws {
        let pixels = (0..<(5 * 3 * 3)).map { UInt8($0) }
        let image = RGBImage(width: 5, height: 3, pixels: pixels)
        var seen = Set<[UInt8]>()
        for o in ExifOrientation.allCases {
            let turned = image.oriented(o)
            XCTAssertEqual(turned.width * turned.height, 15)
            XCTAssertEqual(turned.width, o.swapsDimensions ? 3 : 5)
            seen.insert(turned.pixels + [UInt8(turned.width)])
        }
        XCTAssertEqual(seen.count, 8)
        // 6 (clockwise) then 8 (counter-clockwise) restores the image; 3 twice too.
        XCTAssertEqual(image.oriented(.right).oriented(.left), image)
        XCTAssertEqual(image.oriented(.down).oriented(.down), image)
        XCTAssertEqual(image.oriented(.leftMirrored).oriented(.leftMirrored), image)
    }

    /// Malformed metadata never fails decoding: it reads as "up".
    func testMalformedMetadataReadsAsUp() throws {
        var jpeg = [UInt8](try Data(contentsOf: url("orient_6.jpg")))
        // Truncate the APP1 segment's TIFF data in place: claim an IFD offset far outside it.
        guard let exif = (0..<(jpeg.count - 6)).first(where: { jpeg[$0..<($0 + 6)].elementsEqual(Array("Exif\0\0".utf8)) }) else {
            return XCTFail("no Exif block in the fixture")
        }
        jpeg[exif + 6 + 4] = 0x7F
        XCTAssertEqual(ExifOrientation.read(from: Data(jpeg)), .up)
        XCTAssertEqual(ExifOrientation.read(from: Data()), .up)
        XCTAssertEqual(ExifOrientation.read(from: Data([0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF])), .up)
        let hugeChunk = Array("RIFF".utf8) + [0xFF, 0xFF, 0xFF, 0x7F] + Array("WEBPEXIF".utf8) + [0xFF, 0xFF, 0xFF, 0xFF]
        XCTAssertEqual(ExifOrientation.read(from: Data(hugeChunk)), .up)
        let decoded = try RGBImage(data: Data(jpeg))
        XCTAssertEqual(decoded.width, 20)
    }
}
