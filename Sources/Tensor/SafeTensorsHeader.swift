import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Header parsing

struct HeaderEntry: Decodable {
    let dtype: String
    let shape: [Int]
    let dataOffsets: [Int]

    enum CodingKeys: String, CodingKey {
        case dtype, shape
        case dataOffsets = "data_offsets"
    }

    /// Decodes field by field so messages say which field is wrong and how.
    init(from decoder: Decoder) throws {
        let c: KeyedDecodingContainer<CodingKeys>
        do {
            c = try decoder.container(keyedBy: CodingKeys.self)
        } catch {
            throw HeaderParser.FieldError(reason: "entry must be an object with dtype, shape and data_offsets")
        }
        func field<T: Decodable>(_ key: CodingKeys, _ type: T.Type, _ expected: String) throws -> T {
            guard c.contains(key) else { throw HeaderParser.FieldError(reason: "missing \"\(key.stringValue)\"") }
            do {
                return try c.decode(type, forKey: key)
            } catch {
                throw HeaderParser.FieldError(reason: "\"\(key.stringValue)\" must be \(expected)")
            }
        }
        dtype = try field(.dtype, String.self, "a string")
        shape = try field(.shape, [Int].self, "an array of integers")
        dataOffsets = try field(.dataOffsets, [Int].self, "an array of two integers")
    }
}

struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// A short, readable summary of a DecodingError.
func describeDecodingError(_ error: Error) -> String {
    guard let e = error as? DecodingError else { return "\(error)" }
    func path(_ p: [CodingKey]) -> String {
        p.isEmpty ? "value" : "\"" + p.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".") + "\""
    }
    switch e {
    case let .keyNotFound(key, _):
        return "missing \"\(key.stringValue)\""
    case let .typeMismatch(type, ctx):
        return "\(path(ctx.codingPath)) has the wrong type (expected \(type))"
    case let .valueNotFound(type, ctx):
        return "\(path(ctx.codingPath)) is null (expected \(type))"
    case let .dataCorrupted(ctx):
        let detail = ctx.underlyingError.map { " (\($0))" } ?? ""
        return (ctx.codingPath.isEmpty ? "" : path(ctx.codingPath) + ": ") + ctx.debugDescription + detail
    @unknown default:
        return "\(e)"
    }
}

enum HeaderParser {
    struct Header {
        var metadata: [String: String] = [:]
        var entries: [(String, HeaderEntry)] = []
    }

    /// What is wrong with one field of an entry.
    struct FieldError: Error {
        let reason: String
    }

    /// Error thrown from inside `Decodable` so the tensor name survives JSONDecoder.
    struct EntryError: Error {
        let key: String
        let reason: String
    }

    struct Top: Decodable {
        var header = Header()
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: AnyKey.self)
            for key in c.allKeys {
                let name = key.stringValue
                if name == "__metadata__" {
                    do {
                        header.metadata = try c.decode([String: String].self, forKey: key)
                    } catch {
                        throw EntryError(key: name, reason: "__metadata__ must be an object of strings to strings")
                    }
                } else {
                    do {
                        header.entries.append((name, try c.decode(HeaderEntry.self, forKey: key)))
                    } catch {
                        throw EntryError(key: name, reason: (error as? FieldError)?.reason ?? describeDecodingError(error))
                    }
                }
            }
        }
    }

    static func parse(_ bytes: UnsafeRawBufferPointer, file: String) throws -> Header {
        let data = Data(bytes)
        let top: Top
        do {
            top = try JSONDecoder().decode(Top.self, from: data)
        } catch let e as EntryError {
            if e.key == "__metadata__" { throw SafeTensorsError.invalidHeader(file: file, reason: e.reason) }
            throw SafeTensorsError.invalidTensor(file: file, tensor: e.key, reason: "bad header entry: \(e.reason)")
        } catch DecodingError.typeMismatch(_, let ctx) where ctx.codingPath.isEmpty {
            throw SafeTensorsError.invalidHeader(file: file, reason: "header is not a JSON object")
        } catch {
            throw SafeTensorsError.invalidHeader(file: file, reason: "header is not valid JSON: \(describeDecodingError(error))")
        }
        // JSONDecoder silently keeps one of several equal keys; reject duplicates explicitly.
        if let dup = duplicateTopLevelKey(in: bytes) {
            throw SafeTensorsError.invalidHeader(file: file, reason: "duplicate key \"\(dup)\"")
        }
        return top.header
    }

    /// Scans already-validated JSON text for a repeated key in the top-level object.
    static func duplicateTopLevelKey(in bytes: UnsafeRawBufferPointer) -> String? {
        var seen = Set<String>()
        var depth = 0
        var i = 0
        let n = bytes.count
        while i < n {
            let c = bytes[i]
            switch c {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                i += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                i += 1
            case UInt8(ascii: "\""):
                // Find the closing quote, skipping escapes.
                var j = i + 1
                var escaped = false
                while j < n, bytes[j] != UInt8(ascii: "\"") {
                    if bytes[j] == UInt8(ascii: "\\") { escaped = true; j += 1 }
                    j += 1
                }
                let raw = UnsafeRawBufferPointer(rebasing: bytes[i...min(j, n - 1)])
                i = j + 1
                guard depth == 1 else { continue }
                // A key is followed (after whitespace) by ':'.
                var k = i
                while k < n, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[k]) { k += 1 }
                guard k < n, bytes[k] == UInt8(ascii: ":") else { continue }
                let key: String
                if escaped {
                    key = (try? JSONDecoder().decode(String.self, from: Data(raw))) ?? String(decoding: raw, as: UTF8.self)
                } else {
                    key = String(decoding: raw.dropFirst().dropLast(), as: UTF8.self)
                }
                if !seen.insert(key).inserted { return key }
            default:
                i += 1
            }
        }
        return nil
    }
}
