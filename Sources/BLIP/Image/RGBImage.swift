import Foundation

/// An 8-bit RGB image, row-major, 3 bytes a pixel (HWC), as `np.array(PIL.Image.convert("RGB"))` holds it.
///
/// Decoding (`init(contentsOf:)`, `init(data:)`) reproduces what transformers' BLIP image processor gets
/// from `PIL.Image.open(file)` followed by its `convert_to_rgb`:
/// - The format is detected from the magic bytes (JPEG, PNG, WebP), not the file extension.
/// - Grey is replicated to R, G and B; palettes are looked up.
/// - Transparency (an alpha channel, or a PNG tRNS chunk on grey, RGB or palette images) is composited onto
///   opaque white, exactly as transformers 5 does (`alpha_composite` over white, then `convert("RGB")`;
///   per channel `round((c*a + 255*(255-a)) / 255)`). Note that plain Pillow `convert("RGB")` would drop
///   alpha instead; transformers does not.
/// - JPEG: full-size decode with libjpeg's accurate integer IDCT and fancy upsampling (no DCT scaling).
///   Adobe CMYK/YCCK JPEGs are converted with Pillow's CMYK→RGB formula.
/// - EXIF orientation is applied by default, as transformers' `load_image` does
///   (`ImageOps.exif_transpose` before `convert("RGB")`; see `ExifOrientation`); pass
///   `applyingExifOrientation: false` for the stored pixel layout, as plain `Image.open` gives it.
/// - 16-bit PNGs keep the high byte of every sample (`v >> 8`). This matches Pillow for 16-bit RGB,
///   RGBA and grey+alpha PNGs. For 16-bit *grey* PNGs Pillow opens mode "I;16" and `convert("RGB")`
///   clips every value above 255 to 255, which turns almost any real 16-bit grey photo white; we
///   deliberately use the same `>> 8` rule instead (a documented difference from the Python reference).
/// - Animated WebP is refused.
/// - Before the pixel buffer is allocated, the header's width × height is checked against `maxPixels`.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// `width * height * 3` bytes, RGB, row-major.
    public let pixels: [UInt8]

    /// Default pixel budget: 64 megapixels (about 192 MB of RGB).
    public static let defaultMaxPixels = 64_000_000

    /// Wraps existing RGB bytes. `pixels.count` must be `width * height * 3`.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0, "RGBImage: width and height must be positive")
        precondition(pixels.count == width * height * 3, "RGBImage: expected \(width * height * 3) bytes, got \(pixels.count)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    init(uncheckedWidth width: Int, height: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Decodes a JPEG, PNG or WebP file, turned upright for its EXIF orientation unless
    /// `applyingExifOrientation` is false. Throws `ImageDecodingError` naming the file and the problem.
    /// Anything but a regular file (a device such as /dev/zero, a FIFO, a directory) is refused
    /// before it is opened, so reading never blocks on a FIFO or runs forever on a device.
    public init(contentsOf url: URL, maxPixels: Int = RGBImage.defaultMaxPixels,
                applyingExifOrientation: Bool = true) throws {
        if let problem = regularFileProblem(url.path) {
            throw ImageDecodingError(kind: .unreadable, source: url.path, detail: problem)
        }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ImageDecodingError(kind: .unreadable, source: url.path, detail: error.localizedDescription)
        }
        self = try RGBImage(data: data, maxPixels: maxPixels, source: url.path,
                            applyingExifOrientation: applyingExifOrientation)
    }

    /// Decodes JPEG, PNG or WebP bytes (a file's contents, an upload), turned upright for their EXIF
    /// orientation unless `applyingExifOrientation` is false. `source` names the data in error messages.
    ///
    /// ```swift
    /// let image = try RGBImage(data: try Data(contentsOf: url), source: url.lastPathComponent)
    /// ```
    public init(data: Data, maxPixels: Int = RGBImage.defaultMaxPixels, source: String = "image data",
                applyingExifOrientation: Bool = true) throws {
        let decoded = try ImageDecoder.decode(data, maxPixels: maxPixels, source: source)
        self = applyingExifOrientation ? decoded.oriented(ExifOrientation.read(from: data)) : decoded
    }

    /// The pixel at (x, y) as (r, g, b).
    public subscript(x: Int, y: Int) -> (UInt8, UInt8, UInt8) {
        let i = (y * width + x) * 3
        return (pixels[i], pixels[i + 1], pixels[i + 2])
    }
}

/// Why `path` is not a readable regular file ("not a regular file (a FIFO)"), or nil when it is one
/// (symbolic links are followed; a missing file is left to the read that follows).
func regularFileProblem(_ path: String) -> String? {
    var info = stat()
    guard stat(path, &info) == 0 else {
        switch errno {
        case ENOENT: return "no such file"
        case EACCES: return "permission denied"
        case ENOTDIR: return "a part of the path is not a directory"
        default: return nil  // let the read report it
        }
    }
    let kind: String
    switch info.st_mode & S_IFMT {
    case S_IFREG: return nil
    case S_IFDIR: kind = "a directory"
    case S_IFCHR: kind = "a character device"
    case S_IFBLK: kind = "a block device"
    case S_IFIFO: kind = "a FIFO"
    case S_IFSOCK: kind = "a socket"
    default: kind = "a special file"
    }
    return "not a regular file (\(kind))"
}
