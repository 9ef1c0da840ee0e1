import BLIP
import Foundation
import Hummingbird

/// Decodes a JSON body in one pass: malformed JSON or a non-object is a 400, a well-formed object
/// with missing or wrongly typed fields a 422.
func decodeJSONBody<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
    let data = Data(buffer.readableBytesView)
    guard !data.isEmpty else { throw APIError.badRequest("empty request body: expected a JSON object", type: "invalid_json") }
    do {
        return try JSONDecoder().decode(T.self, from: data)
    } catch DecodingError.dataCorrupted(let context) where context.codingPath.isEmpty {
        // Linux Foundation reports a number that does not fit its field (`"seed": -1`, 25 digits)
        // as invalid JSON with an empty path: find the field, answer 422 naming it.
        if let number = JSONNumberProblem.find(T.self, in: data) {
            throw APIError.unprocessable(number.description, type: "invalid_field")
        }
        if (try? JSONSerialization.jsonObject(with: data)) != nil {
            throw APIError.unprocessable("a number in the request body is out of range for its field", type: "invalid_field")
        }
        throw APIError.badRequest("request body is not valid JSON", type: "invalid_json")
    } catch DecodingError.typeMismatch(_, let context) where context.codingPath.isEmpty {
        throw APIError.badRequest("request body is not a JSON object", type: "invalid_json")
    } catch let error as DecodingError {
        throw APIError.unprocessable(describe(error), type: "invalid_field")
    } catch let error as UnknownFieldError {
        throw APIError.unprocessable("unknown field \(error.path) (expected one of: \(error.known.joined(separator: ", ")))",
                                     type: "unknown_field")
    }
}

/// A JSON field an endpoint does not know (e.g. a misspelt option, which would otherwise be ignored).
struct UnknownFieldError: Error {
    var path: String
    var known: [String]
}

/// Any JSON object key.
private struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// Throws `UnknownFieldError` for the first key (in sorted order) of the object being decoded
/// that is not in `known`. A value that is not an object is left to the normal decoding.
func rejectUnknownFields(_ decoder: Decoder, known: [String]) throws {
    guard let c = try? decoder.container(keyedBy: AnyKey.self) else { return }
    if let key = c.allKeys.map(\.stringValue).sorted().first(where: { !known.contains($0) }) {
        let path = (decoder.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue } + [key])
            .joined(separator: ".")
        throw UnknownFieldError(path: path, known: known.sorted())
    }
}

/// How a JSON value of `type` is named to a client ("a string", "an integer", ...), instead of
/// a Swift type name.
func jsonTypeName(_ type: Any.Type) -> String {
    switch type {
    case is String.Type: return "a string"
    case is Bool.Type: return "true or false"
    case is Int.Type, is Int64.Type, is Int32.Type, is UInt64.Type, is UInt32.Type, is UInt.Type: return "an integer"
    case is Double.Type, is Float.Type: return "a number"
    default:
        let name = "\(type)"
        if name.hasPrefix("Array") || name.hasPrefix("[") { return "an array" }
        return "an object"
    }
}

/// "field.path: problem" for a decoding error.
private func describe(_ error: DecodingError) -> String {
    func path(_ p: [CodingKey]) -> String {
        p.isEmpty ? "body" : p.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
    switch error {
    case .keyNotFound(let key, let c): return "missing field \(path(c.codingPath + [key]))"
    case .typeMismatch(let t, let c): return "\(path(c.codingPath)): expected \(jsonTypeName(t))"
    case .valueNotFound(let t, let c): return "\(path(c.codingPath)): expected \(jsonTypeName(t)), got null"
    case .dataCorrupted(let c): return "\(path(c.codingPath)): \(c.debugDescription)"
    @unknown default: return "invalid request body"
    }
}

/// Base64 (standard or URL-safe, padding optional, a `data:...;base64,` prefix allowed) to bytes.
func decodeBase64Image(_ string: String, field: String) throws -> Data {
    var s = Substring(string)
    if s.hasPrefix("data:"), let comma = s.firstIndex(of: ",") { s = s[s.index(after: comma)...] }
    var cleaned = String(s.filter { !$0.isWhitespace })
    cleaned = cleaned.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    if cleaned.count % 4 != 0 { cleaned += String(repeating: "=", count: 4 - cleaned.count % 4) }
    guard !cleaned.isEmpty else { throw APIError.unprocessable("\(field) is empty", type: "invalid_image") }
    guard let data = Data(base64Encoded: cleaned) else {
        throw APIError.unprocessable("\(field) is not valid base64", type: "invalid_base64")
    }
    return data
}

/// Checks one question or text.
func checkText(_ text: String, field: String, limits: ServerLimits) throws -> String {
    let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
    if t.isEmpty { throw APIError.unprocessable("\(field) is empty", type: "invalid_text") }
    if t.count > limits.maxTextLength {
        throw APIError.unprocessable("\(field) is longer than \(limits.maxTextLength) characters", type: "invalid_text")
    }
    return t
}

/// Decodes images off the event loop, within the pixel budget.
final class ImageDecodingPool: Sendable {
    private let thread = ModelThread(name: "blip-image-decode")
    let maxPixels: Int
    let applyExifOrientation: Bool

    init(maxPixels: Int, applyExifOrientation: Bool) {
        self.maxPixels = maxPixels
        self.applyExifOrientation = applyExifOrientation
    }

    func decode(_ data: Data, source: String) async throws -> RGBImage {
        let (maxPixels, upright) = (self.maxPixels, applyExifOrientation)
        return try await thread.run {
            try RGBImage(data: data, maxPixels: maxPixels, source: source, applyingExifOrientation: upright)
        }
    }

    /// Runs other image work (thumbnails) on the decoding thread.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await thread.run(body)
    }

    func shutdown() { thread.shutdown() }
}
