import Foundation

/// The orientation an image's metadata asks for (EXIF/TIFF tag 0x0112), numbered as the tag is.
///
/// Port of what Pillow's `ImageOps.exif_transpose` reads and does (the step transformers'
/// `load_image` applies before `convert("RGB")`): the orientation comes from the EXIF block of a
/// JPEG (first APP1 `Exif`), PNG (`eXIf` chunk, before or after the image data) or WebP (`EXIF`
/// chunk), or, when that has none, from XMP's `tiff:Orientation`; values other than 2…8 leave the
/// image as it is.
public enum ExifOrientation: Int, Sendable, CaseIterable {
    case up = 1, upMirrored = 2, down = 3, downMirrored = 4
    case leftMirrored = 5, right = 6, rightMirrored = 7, left = 8

    /// Whether width and height swap (orientations 5–8).
    public var swapsDimensions: Bool { rawValue >= 5 }

    /// The orientation declared by JPEG, PNG or WebP bytes (`.up` when none is declared or the
    /// metadata is unreadable: metadata never makes decoding fail).
    public static func read(from data: Data) -> ExifOrientation {
        data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            var scanner = MetadataScanner(bytes: bytes)
            return scanner.orientation()
        }
    }
}

extension RGBImage {
    /// This image turned upright for `orientation`, as Pillow's `exif_transpose` does:
    /// 2 FLIP_LEFT_RIGHT, 3 ROTATE_180, 4 FLIP_TOP_BOTTOM, 5 TRANSPOSE, 6 ROTATE_270,
    /// 7 TRANSVERSE, 8 ROTATE_90.
    public func oriented(_ orientation: ExifOrientation) -> RGBImage {
        if orientation == .up { return self }
        let w = width, h = height
        let outWidth = orientation.swapsDimensions ? h : w
        let outHeight = orientation.swapsDimensions ? w : h
        // Source coordinates of output pixel (x, y), per orientation.
        let source: (Int, Int) -> Int
        switch orientation {
        case .up: source = { x, y in y * w + x }
        case .upMirrored: source = { x, y in y * w + (w - 1 - x) }
        case .down: source = { x, y in (h - 1 - y) * w + (w - 1 - x) }
        case .downMirrored: source = { x, y in (h - 1 - y) * w + x }
        case .leftMirrored: source = { x, y in x * w + y }  // transpose
        case .right: source = { x, y in (h - 1 - x) * w + y }  // 90° clockwise
        case .rightMirrored: source = { x, y in (h - 1 - x) * w + (w - 1 - y) }  // transverse
        case .left: source = { x, y in x * w + (w - 1 - y) }  // 90° counter-clockwise
        }
        let out = [UInt8](unsafeUninitializedCapacity: pixels.count) { buffer, count in
            pixels.withUnsafeBufferPointer { src in
                var o = 0
                for y in 0..<outHeight {
                    for x in 0..<outWidth {
                        let s = source(x, y) * 3
                        buffer[o] = src[s]
                        buffer[o + 1] = src[s + 1]
                        buffer[o + 2] = src[s + 2]
                        o += 3
                    }
                }
            }
            count = pixels.count
        }
        return RGBImage(uncheckedWidth: outWidth, height: outHeight, pixels: out)
    }
}

/// Finds the EXIF block (and XMP packet) in a JPEG, PNG or WebP container. Every read is bounds
/// checked; malformed containers simply yield no orientation.
private struct MetadataScanner {
    let bytes: UnsafeBufferPointer<UInt8>

    mutating func orientation() -> ExifOrientation {
        var exif: Range<Int>?
        var xmp: Range<Int>?
        if bytes.count >= 3, bytes[0] == 0xFF, bytes[1] == 0xD8 {
            (exif, xmp) = jpegBlocks()
        } else if bytes.count >= 8, bytes[0] == 0x89, bytes[1] == 0x50, bytes[2] == 0x4E, bytes[3] == 0x47 {
            (exif, xmp) = pngBlocks()
        } else if bytes.count >= 12, ascii(0, "RIFF"), ascii(8, "WEBP") {
            (exif, xmp) = webpBlocks()
        }
        if let exif, let value = tiffOrientation(exif), let o = ExifOrientation(rawValue: value) { return o }
        if let exif, tiffOrientation(exif) != nil { return .up }  // declared, but not 1…8
        if let xmp, let value = xmpOrientation(xmp), let o = ExifOrientation(rawValue: value) { return o }
        return .up
    }

    private func ascii(_ at: Int, _ s: String) -> Bool {
        let u = Array(s.utf8)
        guard at >= 0, at + u.count <= bytes.count else { return false }
        for (i, c) in u.enumerated() where bytes[at + i] != c { return false }
        return true
    }

    private func be16(_ at: Int) -> Int { Int(bytes[at]) << 8 | Int(bytes[at + 1]) }
    private func be32(_ at: Int) -> Int { be16(at) << 16 | be16(at + 2) }
    private func le32(_ at: Int) -> Int {
        Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24
    }

    /// JPEG: the first APP1 `Exif\0\0` segment (TIFF data after the prefix) and the first APP1
    /// XMP packet, up to the start of scan.
    private func jpegBlocks() -> (Range<Int>?, Range<Int>?) {
        var exif: Range<Int>?
        var xmp: Range<Int>?
        let xmpPrefix = "http://ns.adobe.com/xap/1.0/\0"
        var p = 2
        while p + 4 <= bytes.count {
            guard bytes[p] == 0xFF else { break }
            let marker = bytes[p + 1]
            if marker == 0xFF { p += 1; continue }  // fill byte
            if marker == 0xD8 || marker == 0x01 || (0xD0...0xD7).contains(marker) { p += 2; continue }
            if marker == 0xDA || marker == 0xD9 { break }  // start of scan / end of image
            let length = be16(p + 2)
            guard length >= 2, p + 2 + length <= bytes.count else { break }
            let body = (p + 4)..<(p + 2 + length)
            if marker == 0xE1 {
                if exif == nil, ascii(body.lowerBound, "Exif\0\0") {
                    exif = (body.lowerBound + 6)..<body.upperBound
                } else if xmp == nil, ascii(body.lowerBound, xmpPrefix) {
                    xmp = (body.lowerBound + xmpPrefix.utf8.count)..<body.upperBound
                }
            }
            p += 2 + length
        }
        return (exif, xmp)
    }

    /// PNG: the `eXIf` chunk and an `iTXt` chunk keyed `XML:com.adobe.xmp`, anywhere in the file.
    private func pngBlocks() -> (Range<Int>?, Range<Int>?) {
        var exif: Range<Int>?
        var xmp: Range<Int>?
        var p = 8
        while p + 12 <= bytes.count {
            let length = be32(p)
            guard length <= bytes.count - p - 12 else { break }
            let body = (p + 8)..<(p + 8 + length)
            if ascii(p + 4, "eXIf"), exif == nil {
                exif = ascii(body.lowerBound, "Exif\0\0") ? (body.lowerBound + 6)..<body.upperBound : body
            } else if ascii(p + 4, "iTXt"), xmp == nil, ascii(body.lowerBound, "XML:com.adobe.xmp\0") {
                xmp = body
            } else if ascii(p + 4, "IEND") {
                break
            }
            p += 12 + length
        }
        return (exif, xmp)
    }

    /// WebP: the `EXIF` and `XMP ` chunks of an extended (VP8X) file.
    private func webpBlocks() -> (Range<Int>?, Range<Int>?) {
        var exif: Range<Int>?
        var xmp: Range<Int>?
        let end = min(bytes.count, 8 + le32(4))
        var p = 12
        while p + 8 <= end {
            let length = le32(p + 4)
            guard length <= end - p - 8 else { break }
            let body = (p + 8)..<(p + 8 + length)
            if ascii(p, "EXIF"), exif == nil {
                exif = ascii(body.lowerBound, "Exif\0\0") ? (body.lowerBound + 6)..<body.upperBound : body
            } else if ascii(p, "XMP "), xmp == nil {
                xmp = body
            }
            p += 8 + length + (length & 1)
        }
        return (exif, xmp)
    }

    /// Tag 0x0112 of IFD0 of TIFF data (`II*\0` or `MM\0*`), when it holds one SHORT or LONG.
    private func tiffOrientation(_ r: Range<Int>) -> Int? {
        guard r.count >= 8 else { return nil }
        let base = r.lowerBound
        let little: Bool
        if bytes[base] == 0x49, bytes[base + 1] == 0x49 { little = true }
        else if bytes[base] == 0x4D, bytes[base + 1] == 0x4D { little = false }
        else { return nil }
        func u16(_ o: Int) -> Int? {
            guard o >= 0, o + 2 <= r.count else { return nil }
            let a = Int(bytes[base + o]), b = Int(bytes[base + o + 1])
            return little ? a | b << 8 : a << 8 | b
        }
        func u32(_ o: Int) -> Int? {
            guard let lo = u16(little ? o : o + 2), let hi = u16(little ? o + 2 : o) else { return nil }
            return lo | hi << 16
        }
        guard u16(2) == 42, let ifd = u32(4), let count = u16(ifd) else { return nil }
        for i in 0..<count {
            let entry = ifd + 2 + 12 * i
            guard let tag = u16(entry), let type = u16(entry + 2), let n = u32(entry + 4) else { return nil }
            guard tag == 0x0112 else { continue }
            guard n == 1 else { return 0 }
            switch type {
            case 3: return u16(entry + 8) ?? 0  // SHORT
            case 4, 9: return u32(entry + 8) ?? 0  // LONG, SLONG
            default: return 0
            }
        }
        return nil
    }

    /// `tiff:Orientation="N"` or `<tiff:Orientation>N` in an XMP packet (Pillow's pattern).
    private func xmpOrientation(_ r: Range<Int>) -> Int? {
        let key = Array("tiff:Orientation".utf8)
        var i = r.lowerBound
        while i + key.count + 2 <= r.upperBound {
            if bytes[i] == key[0], ascii(i, "tiff:Orientation") {
                let next = i + key.count
                if bytes[next] == UInt8(ascii: "="), next + 2 < r.upperBound, bytes[next + 1] == UInt8(ascii: "\"") {
                    let d = bytes[next + 2]
                    if (48...57).contains(d) { return Int(d) - 48 }
                } else if bytes[next] == UInt8(ascii: ">") {
                    let d = bytes[next + 1]
                    if (48...57).contains(d) { return Int(d) - 48 }
                }
            }
            i += 1
        }
        return nil
    }
}
