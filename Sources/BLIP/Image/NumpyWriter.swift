import Foundation

/// Writes NumPy `.npy` files (format version 1.0, little-endian float32 `<f4`, C order).
public enum NumpyWriter {
    public struct WriteError: Error, Sendable, CustomStringConvertible, LocalizedError {
        public let message: String
        public var description: String { message }
        public var errorDescription: String? { message }
    }

    /// The bytes of a `.npy` file holding `values` with `shape` (product of shape == values.count).
    /// The header is padded with spaces and ends with a newline so the data starts at a multiple of 64.
    public static func float32Data(_ values: [Float], shape: [Int]) -> Data {
        precondition(shape.allSatisfy { $0 >= 0 } && shape.reduce(1, *) == values.count,
                     "NumpyWriter: shape \(shape) does not match \(values.count) values")
        let shapeText: String
        switch shape.count {
        case 0: shapeText = "()"
        case 1: shapeText = "(\(shape[0]),)"
        default: shapeText = "(" + shape.map(String.init).joined(separator: ", ") + ")"
        }
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shapeText), }"
        let preamble = 10  // magic (6) + version (2) + header length (2)
        let unpadded = preamble + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        let headerLength = header.utf8.count
        var data = Data(capacity: preamble + headerLength + values.count * 4)
        data.append(contentsOf: [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 0x01, 0x00])  // \x93NUMPY 1.0
        data.append(UInt8(headerLength & 0xFF))
        data.append(UInt8(headerLength >> 8))
        data.append(contentsOf: Array(header.utf8))
        values.withUnsafeBufferPointer { buffer in
            #if _endian(little)
            data.append(UnsafeBufferPointer(start: UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: UInt8.self),
                                            count: buffer.count * 4))
            #else
            for v in buffer {
                withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) }
            }
            #endif
        }
        return data
    }

    /// Writes `values` with `shape` (e.g. `[1, 3, H, W]`) to `url` atomically: the bytes go to a
    /// temporary file in the same directory, which is then renamed over `url`.
    public static func writeFloat32(_ values: [Float], shape: [Int], to url: URL) throws {
        let data = float32Data(values, shape: shape)
        let directory = url.deletingLastPathComponent()
        let temp = directory.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        do {
            try data.write(to: temp)
        } catch {
            throw WriteError(message: "\(url.path): cannot write: \(error.localizedDescription)")
        }
        if rename(temp.path, url.path) != 0 {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temp)
            throw WriteError(message: "\(url.path): cannot move the written file into place: \(reason)")
        }
    }
}
