import CImageCodecs
import Foundation

extension RGBImage {
    /// The image encoded as a baseline JPEG of `quality` (1...100), e.g. for thumbnails.
    public func jpegData(quality: Int = 85) throws -> Data {
        var out: UnsafeMutablePointer<UInt8>?
        var size = 0
        let status = pixels.withUnsafeBufferPointer { src in
            cic_encode_jpeg(src.baseAddress, Int32(clamping: width), Int32(clamping: height),
                            Int32(clamping: quality), &out, &size)
        }
        guard status == 0, let out else {
            throw ImageDecodingError(kind: .corrupt, source: "JPEG encoder",
                                     detail: status == -1 ? "cannot encode a \(width)x\(height) image as JPEG" : "libjpeg failed")
        }
        defer { free(out) }
        return Data(bytes: out, count: size)
    }

    /// The image scaled down (aspect ratio kept, bilinear with antialiasing) to fit in
    /// `maxSide` × `maxSide`; unchanged when it already fits.
    public func thumbnail(maxSide: Int) -> RGBImage {
        let side = max(maxSide, 1)
        guard width > side || height > side else { return self }
        let scale = Double(side) / Double(max(width, height))
        let w = max(1, Int((Double(width) * scale).rounded()))
        let h = max(1, Int((Double(height) * scale).rounded()))
        return resized(width: min(w, side), height: min(h, side), filter: .bilinear)
    }
}
