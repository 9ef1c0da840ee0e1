import Foundation
import XCTest

/// Minimal .npy reader for little-endian float32 files (test helper).
func readNumpyFloat32(_ url: URL) throws -> (shape: [Int], values: [Float]) {
    let data = try Data(contentsOf: url)
    let bytes = [UInt8](data)
    XCTAssertEqual(Array(bytes[0..<6]), [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59])
    let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
    let header = String(decoding: bytes[10..<(10 + headerLength)], as: UTF8.self)
    XCTAssertTrue(header.contains("'descr': '<f4'"), header)
    XCTAssertTrue(header.contains("'fortran_order': False"), header)
    let shapeText = header.components(separatedBy: "'shape': (")[1].components(separatedBy: ")")[0]
    let shape = shapeText.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    let start = 10 + headerLength
    let count = (bytes.count - start) / 4
    var values = [Float](repeating: 0, count: count)
    for i in 0..<count {
        let o = start + 4 * i
        let bits = UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24
        values[i] = Float(bitPattern: bits)
    }
    return (shape, values)
}

func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    var m: Float = 0
    for i in a.indices { m = max(m, abs(a[i] - b[i])) }
    return m
}
