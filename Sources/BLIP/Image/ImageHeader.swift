import CImageCodecs
import Foundation

extension RGBImage {
    /// Width and height declared by the header of JPEG, PNG or WebP `data`, read without decoding
    /// any pixel (so a server can budget the decoded size before paying for it).
    ///
    /// Throws `ImageDecodingError` like `init(data:)` does for data it cannot read, and
    /// `.tooManyPixels` when the header declares more than `maxPixels`.
    public static func headerSize(of data: Data, maxPixels: Int = RGBImage.defaultMaxPixels,
                                  source: String = "image data") throws -> (width: Int, height: Int) {
        try data.withUnsafeBytes { raw in
            var header = cic_image()
            let status = cic_probe(raw.bindMemory(to: UInt8.self).baseAddress, raw.count, Int64(clamping: maxPixels), &header)
            try ImageDecoder.check(status, header, source)
            return (Int(header.width), Int(header.height))
        }
    }
}
