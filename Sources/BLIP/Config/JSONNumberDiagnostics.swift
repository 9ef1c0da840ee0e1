import Foundation

/// A number in well-formed JSON that does not fit the field it is decoded into (`"seed": -1` for
/// an unsigned field, a 25-digit `max_new_tokens`, `"hidden_size": 64.5`, `1e999`).
///
/// Foundation's `JSONDecoder` on Linux reports these as "The given data was not valid JSON." with
/// an empty coding path; `find` locates the number and names its field.
public struct JSONNumberProblem: Sendable, Equatable, CustomStringConvertible {
    /// The field's coding path, e.g. `text_config.hidden_size` or `parameters.seed`.
    public var path: String
    /// The number as written in the JSON text.
    public var value: String
    /// What the field expects, e.g. "expects an integer, got 64.5".
    public var problem: String

    /// "path problem", e.g. "seed expects a non-negative integer at most 18446744073709551615, got -1".
    public var description: String { "\(path) \(problem)" }

    /// Finds the first number of `data` that cannot be decoded into its field of `T`, or nil.
    ///
    /// Each number token (outside strings) is replaced by a string in turn; the decoder then
    /// reports a type mismatch at that number's coding path with the type the field wants, and
    /// the original text is checked against that type. The work is bounded: at most
    /// `maxAttempts` decodes, fewer for large documents (about 64 MiB decoded in all).
    public static func find<T: Decodable>(_ type: T.Type, in data: Data, maxAttempts: Int = 64) -> JSONNumberProblem? {
        let bytes = [UInt8](data)
        let attempts = min(maxAttempts, max(1, (64 << 20) / max(1, bytes.count)))
        for range in numberTokens(bytes).prefix(attempts) {
            var probe = Array(bytes[..<range.lowerBound])
            probe += Array("\"?\"".utf8)
            probe += bytes[range.upperBound...]
            let text = String(decoding: bytes[range], as: UTF8.self)
            do {
                _ = try JSONDecoder().decode(T.self, from: Data(probe))
            } catch DecodingError.typeMismatch(let expected, let context) {
                guard let problem = check(text, against: expected) else { continue }
                let path = codingPathString(context.codingPath)
                return JSONNumberProblem(path: path.isEmpty ? "value" : path, value: text, problem: problem)
            } catch {
                continue
            }
        }
        return nil
    }

    /// Byte ranges of the number tokens outside strings.
    static func numberTokens(_ bytes: [UInt8]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var i = 0, inString = false
        while i < bytes.count {
            let b = bytes[i]
            if inString {
                if b == UInt8(ascii: "\\") { i += 2; continue }
                if b == UInt8(ascii: "\"") { inString = false }
                i += 1
            } else if b == UInt8(ascii: "\"") {
                inString = true
                i += 1
            } else if b == UInt8(ascii: "-") || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) {
                let start = i
                while i < bytes.count, isNumberByte(bytes[i]) { i += 1 }
                ranges.append(start..<i)
            } else {
                i += 1
            }
        }
        return ranges
    }

    private static func isNumberByte(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "-") || b == UInt8(ascii: "+")
            || b == UInt8(ascii: ".") || b == UInt8(ascii: "e") || b == UInt8(ascii: "E")
    }

    /// What is wrong with `text` for a field of type `expected`, or nil when it fits (or the
    /// type is not a number type).
    static func check(_ text: String, against expected: Any.Type) -> String? {
        switch ObjectIdentifier(expected) {
        case ObjectIdentifier(Int.self): return integerProblem(Int.self, text)
        case ObjectIdentifier(Int64.self): return integerProblem(Int64.self, text)
        case ObjectIdentifier(Int32.self): return integerProblem(Int32.self, text)
        case ObjectIdentifier(Int16.self): return integerProblem(Int16.self, text)
        case ObjectIdentifier(Int8.self): return integerProblem(Int8.self, text)
        case ObjectIdentifier(UInt.self): return integerProblem(UInt.self, text)
        case ObjectIdentifier(UInt64.self): return integerProblem(UInt64.self, text)
        case ObjectIdentifier(UInt32.self): return integerProblem(UInt32.self, text)
        case ObjectIdentifier(UInt16.self): return integerProblem(UInt16.self, text)
        case ObjectIdentifier(UInt8.self): return integerProblem(UInt8.self, text)
        case ObjectIdentifier(Double.self):
            if let d = Double(text), d.isFinite { return nil }
            return "expects a finite number, got \(text) (out of range)"
        case ObjectIdentifier(Float.self):
            if let f = Float(text), f.isFinite { return nil }
            return "expects a finite number within Float range, got \(text)"
        default:
            return nil
        }
    }

    private static func integerProblem<I: FixedWidthInteger>(_: I.Type, _ text: String) -> String? {
        if I(text) != nil { return nil }
        if let d = Double(text), d.isFinite {
            if d != d.rounded() { return "expects an integer, got \(text)" }
            if d >= Double(I.min) && d <= Double(I.max) { return nil }
        }
        return I.min == 0
            ? "expects a non-negative integer at most \(I.max), got \(text)"
            : "expects an integer between \(I.min) and \(I.max), got \(text)"
    }
}

/// `text_config.hidden_size`, `values[2]`: a coding path as written in messages.
func codingPathString(_ path: [CodingKey]) -> String {
    var out = ""
    for key in path {
        if let i = key.intValue { out += "[\(i)]" } else { out += out.isEmpty ? key.stringValue : ".\(key.stringValue)" }
    }
    return out
}
