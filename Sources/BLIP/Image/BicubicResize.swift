import CImageCodecs

/// Resampling filters with PIL's numbering (`PIL.Image.Resampling`). Nearest (0) is not supported.
public enum ResamplingFilter: Int, Sendable, CaseIterable {
    case lanczos = 1
    case bilinear = 2
    case bicubic = 3
    case box = 4
    case hamming = 5
}

extension RGBImage {
    /// Resizes like Pillow 13's `Image.resize((width, height), resample: filter)` on an RGB image,
    /// bit for bit: separable convolution (horizontal pass first, unless the height shrinks by more
    /// than twice as many pixels as the width), kernel support scaled by the downscale factor
    /// (antialiasing), Keys cubic with a = -0.5 for bicubic, 22-bit fixed-point weights, rounding and
    /// clipping to 8 bits after each pass. The aspect ratio is not kept. Implemented in C
    /// (`cic_resize_rgb8`).
    public func resized(width newWidth: Int, height newHeight: Int, filter: ResamplingFilter = .bicubic) -> RGBImage {
        precondition(newWidth > 0 && newHeight > 0, "resized: target size must be positive")
        if newWidth == width && newHeight == height { return self }
        var out = [UInt8](repeating: 0, count: newWidth * newHeight * 3)
        let status = pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                cic_resize_rgb8(src.baseAddress, Int32(width), Int32(height),
                                dst.baseAddress, Int32(newWidth), Int32(newHeight), Int32(filter.rawValue))
            }
        }
        precondition(status == 0, "resized: out of memory resizing \(width)x\(height) to \(newWidth)x\(newHeight)")
        return RGBImage(uncheckedWidth: newWidth, height: newHeight, pixels: out)
    }
}
