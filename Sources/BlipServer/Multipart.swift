import Foundation

/// One part of a `multipart/form-data` body.
struct MultipartPart: Sendable {
    var name: String
    var filename: String?
    var contentType: String?
    var body: [UInt8]
}

/// A small, bounded `multipart/form-data` parser (RFC 7578): parts are located by boundary search
/// over the already size-limited body; at most `maxParts` parts, header blocks at most 8 KiB.
enum MultipartParser {
    static let maxParts = 64
    static let maxHeaderBytes = 8192

    /// The boundary of a `multipart/form-data; boundary=...` content type, or nil.
    static func boundary(contentType: String) -> String? {
        let pieces = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let type = pieces.first, type.lowercased() == "multipart/form-data" else { return nil }
        for p in pieces.dropFirst() {
            let kv = p.split(separator: "=", maxSplits: 1).map(String.init)
            if kv.count == 2, kv[0].lowercased() == "boundary" {
                var b = kv[1]
                if b.hasPrefix("\""), b.hasSuffix("\""), b.count >= 2 { b = String(b.dropFirst().dropLast()) }
                return b.isEmpty || b.utf8.count > 200 ? nil : b
            }
        }
        return nil
    }

    /// Splits `body` into parts. Throws 400 for a malformed body.
    static func parse(_ body: [UInt8], boundary: String) throws -> [MultipartPart] {
        var comparisons = 0
        return try parse(body, boundary: boundary, comparisons: &comparisons)
    }

    /// `parse(_:boundary:)`, adding the byte comparisons of its boundary searches to `comparisons`
    /// (tests check that it is linear in the body size). Every search is Knuth–Morris–Pratt and the
    /// searches cover disjoint stretches of the body (up to one delimiter of overlap each).
    static func parse(_ body: [UInt8], boundary: String, comparisons: inout Int) throws -> [MultipartPart] {
        let delimiterBytes = Array(("--" + boundary).utf8)
        let delimiter = BytePattern(delimiterBytes)
        let partEnd = BytePattern([13, 10] + delimiterBytes)
        let headerEnd = BytePattern([13, 10, 13, 10])
        func bad(_ m: String) -> APIError { .badRequest("malformed multipart body: \(m)", type: "invalid_multipart") }

        return try body.withUnsafeBufferPointer { h in
            guard var position = delimiter.firstIndex(in: h, from: 0, comparisons: &comparisons) else {
                throw bad("no boundary found")
            }
            var parts: [MultipartPart] = []
            while true {
                position += delimiterBytes.count
                // "--" after a delimiter ends the body.
                if position + 1 < h.count, h[position] == 45, h[position + 1] == 45 { return parts }
                // Skip transport padding and the CRLF after the delimiter.
                while position < h.count, h[position] == 32 || h[position] == 9 { position += 1 }
                guard position + 1 < h.count, h[position] == 13, h[position + 1] == 10 else {
                    throw bad("missing line break after boundary")
                }
                position += 2
                guard let headersEnd = headerEnd.firstIndex(
                    in: h, from: position, limit: maxHeaderBytes, comparisons: &comparisons)
                else { throw bad("part headers not terminated") }
                let headerText = String(decoding: h[position..<headersEnd], as: UTF8.self)
                let contentStart = headersEnd + 4
                guard let next = partEnd.firstIndex(in: h, from: contentStart, comparisons: &comparisons) else {
                    throw bad("part not terminated by a boundary")
                }
                var name: String?
                var filename: String?
                var contentType: String?
                for line in headerText.components(separatedBy: "\r\n") {
                    let kv = line.split(separator: ":", maxSplits: 1)
                    guard kv.count == 2 else { continue }
                    let key = kv[0].trimmingCharacters(in: .whitespaces).lowercased()
                    let value = kv[1].trimmingCharacters(in: .whitespaces)
                    if key == "content-disposition" {
                        name = parameter("name", in: value)
                        filename = parameter("filename", in: value)
                    } else if key == "content-type" {
                        contentType = value
                    }
                }
                guard let name else { throw bad("part without a name") }
                parts.append(MultipartPart(name: name, filename: filename, contentType: contentType,
                                           body: Array(h[contentStart..<next])))
                if parts.count > maxParts { throw bad("more than \(maxParts) parts") }
                position = next + 2
            }
        }
    }

    /// `name="value"` (or unquoted) in a Content-Disposition value.
    private static func parameter(_ key: String, in value: String) -> String? {
        for piece in value.split(separator: ";").dropFirst() {
            let kv = piece.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2, kv[0].lowercased() == key else { continue }
            var v = kv[1]
            if v.hasPrefix("\""), v.hasSuffix("\""), v.count >= 2 { v = String(v.dropFirst().dropLast()) }
            return v
        }
        return nil
    }
}

/// Parsed form: text fields (first value wins; `repeated` keeps repeats) and every part by name.
struct MultipartForm {
    var fields: [String: String] = [:]
    var repeated: [String: [String]] = [:]
    var files: [String: MultipartPart] = [:]

    init(parts: [MultipartPart]) {
        for p in parts {
            if files[p.name] == nil { files[p.name] = p }
            if p.filename == nil {
                let text = String(decoding: p.body, as: UTF8.self)
                if fields[p.name] == nil { fields[p.name] = text }
                repeated[p.name, default: []].append(text)
            }
        }
    }
}
