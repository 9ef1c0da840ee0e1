import Foundation

extension RGBImage {
    /// PNG bytes: 8-bit RGB, no interlacing, each row unfiltered, the zlib stream made of stored
    /// (uncompressed) deflate blocks — larger than a compressed PNG, readable by every decoder.
    public func pngData() -> Data {
        var raw = [UInt8]()  // per row: filter type 0, then the RGB bytes
        raw.reserveCapacity(height * (1 + width * 3))
        for y in 0..<height {
            raw.append(0)
            raw.append(contentsOf: pixels[(y * width * 3)..<((y + 1) * width * 3)])
        }
        var zlib: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let n = min(65_535, raw.count - offset)
            zlib.append(offset + n == raw.count ? 1 : 0)  // BFINAL, BTYPE 00 (stored)
            zlib += [UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
            zlib += raw[offset..<(offset + n)]
            offset += n
        } while offset < raw.count
        zlib += bigEndian(adler32(raw))
        var png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        func chunk(_ type: String, _ body: [UInt8]) {
            let typed = Array(type.utf8) + body
            png.append(contentsOf: bigEndian(UInt32(body.count)) + typed + bigEndian(crc32(typed)))
        }
        chunk("IHDR", bigEndian(UInt32(width)) + bigEndian(UInt32(height)) + [8, 2, 0, 0, 0])
        chunk("IDAT", zlib)
        chunk("IEND", [])
        return png
    }

    /// A copy with the outline of the box x1, y1, x2, y2 (pixels, clamped to the image) drawn
    /// `thickness` pixels wide in `color`.
    public func drawingRectangle(_ box: [Float], color: (UInt8, UInt8, UInt8) = (255, 0, 0), thickness: Int = 2) -> RGBImage {
        guard box.count == 4, box.allSatisfy(\.isFinite) else { return self }
        func clampX(_ v: Float) -> Int { min(max(Int(v.rounded(.down)), 0), width - 1) }
        func clampY(_ v: Float) -> Int { min(max(Int(v.rounded(.down)), 0), height - 1) }
        let x1 = clampX(min(box[0], box[2])), x2 = clampX(max(box[0], box[2]))
        let y1 = clampY(min(box[1], box[3])), y2 = clampY(max(box[1], box[3]))
        var out = pixels
        func paint(_ x: Int, _ y: Int) {
            let i = (y * width + x) * 3
            out[i] = color.0; out[i + 1] = color.1; out[i + 2] = color.2
        }
        let t = max(1, thickness)
        for y in y1...y2 {
            for x in x1...x2 where x - x1 < t || x2 - x < t || y - y1 < t || y2 - y < t { paint(x, y) }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }
}

private func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }

private func adler32(_ bytes: [UInt8]) -> UInt32 {
    var a: UInt32 = 1, b: UInt32 = 0
    for chunk in stride(from: 0, to: bytes.count, by: 5_552) {  // sums stay below 2^32 before the modulo
        for v in bytes[chunk..<min(chunk + 5_552, bytes.count)] {
            a += UInt32(v)
            b += a
        }
        a %= 65_521
        b %= 65_521
    }
    return b << 16 | a
}

private let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
    var c = UInt32(n)
    for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    return c
}

private func crc32(_ bytes: [UInt8]) -> UInt32 {
    var c: UInt32 = 0xFFFF_FFFF
    for v in bytes { c = crcTable[Int((c ^ UInt32(v)) & 0xFF)] ^ (c >> 8) }
    return c ^ 0xFFFF_FFFF
}
