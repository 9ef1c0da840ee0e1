import Foundation

/// Reads `.npy` files (NumPy format 1.0–3.0) holding a 2-D float array, as `np.save` writes
/// score matrices and embeddings: `<f4`, `<f8` or `<f2`, C or Fortran order. Anything else — a
/// hostile header, a shape the data does not fill — is an error naming the file.
public enum NumpyReader {
    /// Rows of the matrix (a 1-D array is one row).
    public static func matrix(contentsOf url: URL) throws -> [[Float]] {
        let data: Data
        do { data = try Data(contentsOf: url, options: .mappedIfSafe) } catch {
            throw EvalError.invalid("\(url.path): cannot read the file")
        }
        return try matrix(data, source: url.path)
    }

    public static func matrix(_ data: Data, source: String) throws -> [[Float]] {
        func bad(_ m: String) -> EvalError { .invalid("\(source): not a NumPy float matrix (.npy): \(m)") }
        let bytes = [UInt8](data.prefix(12))
        guard bytes.count >= 10, bytes[0] == 0x93, bytes[1...5].elementsEqual("NUMPY".utf8) else { throw bad("no .npy magic") }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        switch major {
        case 1: headerLength = Int(bytes[8]) | Int(bytes[9]) << 8; headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw bad("truncated header") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default: throw bad("format version \(major)")
        }
        guard headerLength <= 1 << 20, headerStart + headerLength <= data.count else { throw bad("bad header length") }
        let header = String(decoding: data[(data.startIndex + headerStart)..<(data.startIndex + headerStart + headerLength)], as: UTF8.self)
        guard let descr = field("descr", in: header).map({ $0.trimmingCharacters(in: CharacterSet(charactersIn: "'\" ")) }),
              let fortranText = field("fortran_order", in: header), let shapeText = field("shape", in: header) else {
            throw bad("header without descr, fortran_order or shape")
        }
        let width: Int
        switch descr {
        case "<f4", "=f4", "|f4": width = 4
        case "<f8", "=f8": width = 8
        case "<f2", "=f2": width = 2
        default: throw bad("dtype \(descr) (expected little-endian float16, float32 or float64)")
        }
        let dims = try shapeText.trimmingCharacters(in: CharacterSet(charactersIn: "() ")).split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            .map { (s: String) -> Int in guard let v = Int(s), v >= 0 else { throw bad("shape \(shapeText)") }; return v }
        guard (1...2).contains(dims.count) else { throw bad("\(dims.count)-D array (expected a matrix)") }
        let rows = dims.count == 2 ? dims[0] : 1, cols = dims.count == 2 ? dims[1] : dims[0]
        let (count, overflow) = rows.multipliedReportingOverflow(by: cols)
        guard !overflow, count <= (data.count - headerStart - headerLength) / width else {
            throw bad("shape (\(rows), \(cols)) needs more data than the file holds")
        }
        let fortran = fortranText.trimmingCharacters(in: .whitespaces).hasPrefix("True")
        let base = data.startIndex + headerStart + headerLength
        var values = [Float](repeating: 0, count: count)
        data.withUnsafeBytes { raw in
            for i in 0..<count {
                let o = base - data.startIndex + i * width
                switch width {
                case 4: values[i] = Float(bitPattern: raw.loadUnaligned(fromByteOffset: o, as: UInt32.self).littleEndian)
                case 8: values[i] = Float(Double(bitPattern: raw.loadUnaligned(fromByteOffset: o, as: UInt64.self).littleEndian))
                default: values[i] = Float(Float16(bitPattern: raw.loadUnaligned(fromByteOffset: o, as: UInt16.self).littleEndian))
                }
            }
        }
        return (0..<rows).map { r in (0..<cols).map { c in fortran ? values[c * rows + r] : values[r * cols + c] } }
    }

    /// The text after `'key':` up to the next top-level comma or closing brace.
    static func field(_ key: String, in header: String) -> String? {
        guard let range = header.range(of: "'\(key)':") ?? header.range(of: "\"\(key)\":") else { return nil }
        var depth = 0
        var out = ""
        for ch in header[range.upperBound...] {
            if ch == "(" { depth += 1 }
            if ch == ")" { depth -= 1; if depth < 0 { break } }
            if depth == 0 && (ch == "," || ch == "}") { break }
            out.append(ch)
            if depth == 0 && ch == ")" { break }
        }
        return out.trimmingCharacters(in: .whitespaces)
    }
}
