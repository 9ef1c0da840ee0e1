import CImageCodecs
import Foundation

/// Image container formats the decoder recognises (by magic bytes, never by file extension).
public enum ImageFormat: String, Sendable, CaseIterable {
    case jpeg, png, webp

    /// Detects the format from the first bytes of `data`; `nil` if it is none of JPEG, PNG, WebP.
    public static func detect(_ data: Data) -> ImageFormat? {
        let format = data.withUnsafeBytes { raw -> cic_format in
            guard let base = raw.bindMemory(to: UInt8.self).baseAddress else { return CIC_FORMAT_UNKNOWN }
            return cic_detect_format(base, raw.count)
        }
        switch format {
        case CIC_FORMAT_JPEG: return .jpeg
        case CIC_FORMAT_PNG: return .png
        case CIC_FORMAT_WEBP: return .webp
        default: return nil
        }
    }
}

/// Why an image could not be loaded. `description` names the file (or "image data") and the problem.
public struct ImageDecodingError: Error, Sendable, CustomStringConvertible, LocalizedError {
    public enum Kind: String, Sendable {
        /// The file could not be read (missing, permissions, a directory...).
        case unreadable
        /// Zero bytes.
        case empty
        /// Not JPEG, PNG or WebP.
        case unsupportedFormat
        /// The codec library rejected the data.
        case corrupt
        /// The data ends before the image does.
        case truncated
        /// The header declares more pixels than the allowed budget.
        case tooManyPixels
        /// A variant this decoder does not handle (animated WebP, unusual JPEG colour space).
        case unsupportedVariant
        /// The pixel buffer could not be allocated.
        case outOfMemory
    }

    public let kind: Kind
    /// File path, or "image data" for in-memory input.
    public let source: String
    /// The codec's or the decoder's explanation.
    public let detail: String

    public init(kind: Kind, source: String, detail: String) {
        self.kind = kind
        self.source = source
        self.detail = detail
    }

    public var description: String {
        let what: String
        switch kind {
        case .unreadable: what = "cannot read the file"
        case .empty: what = "empty file"
        case .unsupportedFormat: what = "unsupported image format"
        case .corrupt: what = "corrupt image"
        case .truncated: what = "truncated image"
        case .tooManyPixels: what = "image too large"
        case .unsupportedVariant: what = "unsupported image variant"
        case .outOfMemory: what = "out of memory"
        }
        return "\(source): \(what): \(detail)"
    }

    public var errorDescription: String? { description }
}

enum ImageDecoder {
    /// Decodes JPEG/PNG/WebP bytes to 8-bit RGB through libjpeg-turbo, libpng and libwebp.
    /// The header is read first (dimensions checked against `maxPixels`), then the codec decodes
    /// straight into the array's storage (no second copy of a possibly large image).
    static func decode(_ data: Data, maxPixels: Int, source: String) throws -> RGBImage {
        try data.withUnsafeBytes { raw -> RGBImage in
            let base = raw.bindMemory(to: UInt8.self).baseAddress
            var header = cic_image()
            try check(cic_probe(base, raw.count, Int64(clamping: maxPixels), &header), header, source)
            let width = Int(header.width), height = Int(header.height)
            let capacity = width * height * 4  // room for RGBA before compositing; untouched pages cost nothing
            var result = cic_image()
            var status = CIC_OK
            let pixels = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, initialized in
                status = cic_decode_into(base, raw.count, Int64(clamping: maxPixels), buffer.baseAddress, capacity, &result)
                initialized = status == CIC_OK ? width * height * 3 : 0
            }
            try check(status, result, source)
            guard Int(result.width) == width, Int(result.height) == height else {
                throw ImageDecodingError(kind: .corrupt, source: source, detail: "image size changed while decoding")
            }
            return RGBImage(uncheckedWidth: width, height: height, pixels: pixels)
        }
    }

    static func check(_ status: cic_status, _ image: cic_image, _ source: String) throws {
        guard status != CIC_OK else { return }
        let detail = withUnsafeBytes(of: image.message) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        let kind: ImageDecodingError.Kind
        switch status {
        case CIC_ERR_UNSUPPORTED_FORMAT: kind = .unsupportedFormat
        case CIC_ERR_TRUNCATED: kind = .truncated
        case CIC_ERR_TOO_LARGE: kind = .tooManyPixels
        case CIC_ERR_UNSUPPORTED_VARIANT: kind = .unsupportedVariant
        case CIC_ERR_OUT_OF_MEMORY: kind = .outOfMemory
        case CIC_ERR_EMPTY: kind = .empty
        default: kind = .corrupt
        }
        throw ImageDecodingError(kind: kind, source: source, detail: detail)
    }
}
