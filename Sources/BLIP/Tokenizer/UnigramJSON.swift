import Foundation

/// Readers for the tokenizer.json components a SentencePiece Unigram tokenizer uses. Unknown or
/// unimplemented types throw ``UnigramTokenizerError/unsupported(path:feature:)``; malformed ones
/// ``UnigramTokenizerError/invalidJSON(path:reason:)``.
enum UnigramJSON {
    typealias E = UnigramTokenizerError

    /// Reads a JSON object with JSONDecoder rather than JSONSerialization, whose Linux implementation
    /// drops unescaped U+FEFF from strings and reads some doubles a few ulps off (serde_json does
    /// neither). Values come out as JSONSerialization's would: String, Bool, Int (integers), Double,
    /// NSNull, [Any], [String: Any].
    static func readObject(_ url: URL) throws(E) -> [String: Any] {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            let reason = FileManager.default.fileExists(atPath: url.path) ? "\(error)" : "no such file"
            throw .unreadableFile(path: url.path, reason: reason)
        }
        let value: Any
        do { value = try JSONDecoder().decode(AnyJSON.self, from: data).value } catch {
            throw .invalidJSON(path: url.path, reason: "not well-formed JSON (truncated or malformed)")
        }
        guard let object = value as? [String: Any] else { throw .invalidJSON(path: url.path, reason: "top level is not an object") }
        return object
    }

    private struct AnyJSON: Decodable {
        var value: Any

        init(from decoder: Decoder) throws {
            if var list = try? decoder.unkeyedContainer() {
                var items: [Any] = []
                while !list.isAtEnd { items.append(try list.decode(AnyJSON.self).value) }
                value = items
                return
            }
            if let object = try? decoder.container(keyedBy: Key.self) {
                var dict: [String: Any] = [:]
                for key in object.allKeys {
                    // A Unigram vocabulary decodes much faster typed than probed value by value.
                    if key.stringValue == "vocab", let vocab = try? object.decode([VocabEntry].self, forKey: key) {
                        dict["vocab"] = vocab.map { [$0.piece, $0.score] as [Any] }
                    } else {
                        dict[key.stringValue] = try object.decode(AnyJSON.self, forKey: key).value
                    }
                }
                value = dict
                return
            }
            let c = try decoder.singleValueContainer()
            if c.decodeNil() { value = NSNull() }
            else if let b = try? c.decode(Bool.self) { value = b }
            else if let i = try? c.decode(Int.self) { value = i }
            else if let d = try? c.decode(Double.self) { value = d }
            else { value = try c.decode(String.self) }
        }

        struct VocabEntry: Decodable {
            var piece: String
            var score: Double
            init(from decoder: Decoder) throws {
                var c = try decoder.unkeyedContainer()
                piece = try c.decode(String.self)
                score = try c.decode(Double.self)
                guard c.isAtEnd else { throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a pair") }
            }
        }

        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }
    }

    /// A JSON number as a Double (integers included).
    static func double(_ value: Any) -> Double? {
        if let d = value as? Double { return d }
        return (value as? Int).map(Double.init)
    }

    static func typeName(_ value: Any?) -> String {
        ByteLevelBPEFiles.typeName(value)
    }

    private static func object(_ value: Any?, _ what: String, path: String) throws(E) -> [String: Any]? {
        guard let value, !(value is NSNull) else { return nil }
        guard let o = value as? [String: Any], o["type"] is String else {
            throw .invalidJSON(path: path, reason: "malformed \(what) (an object with a \"type\")")
        }
        return o
    }

    private static func list(_ o: [String: Any], _ key: String, path: String) throws(E) -> [Any] {
        guard let l = o[key] as? [Any] else { throw .invalidJSON(path: path, reason: "Sequence without a \"\(key)\" list") }
        return l
    }

    private static func bool(_ o: [String: Any], _ key: String, _ what: String, path: String) throws(E) -> Bool {
        guard let b = o[key] as? Bool else { throw .invalidJSON(path: path, reason: "\(what) needs a boolean \"\(key)\"") }
        return b
    }

    private static func string(_ o: [String: Any], _ key: String, _ what: String, path: String) throws(E) -> String {
        guard let s = o[key] as? String else { throw .invalidJSON(path: path, reason: "\(what) needs a string \"\(key)\"") }
        return s
    }

    /// A one-character string (serde's `char`).
    private static func character(_ o: [String: Any], _ key: String, _ what: String, path: String) throws(E) -> Unicode.Scalar {
        let s = try string(o, key, what, path: path)
        guard s.unicodeScalars.count == 1, let c = s.unicodeScalars.first else {
            throw .invalidJSON(path: path, reason: "\(what) \"\(key)\" must be a single character, got \(s.debugDescription)")
        }
        return c
    }

    /// The base64 `precompiled_charsmap` of a Precompiled normalizer.
    static func charsmap(_ value: Any?, path: String) throws(E) -> PrecompiledCharsmap {
        guard let s = value as? String, let data = Data(base64Encoded: s) else {
            throw .invalidJSON(path: path, reason: "Precompiled \"precompiled_charsmap\" is not a base64 string")
        }
        do { return try PrecompiledCharsmap([UInt8](data)) } catch {
            throw .invalidJSON(path: path, reason: "Precompiled \"precompiled_charsmap\" cannot be parsed (\(error))")
        }
    }

    static func pattern(_ o: [String: Any], _ what: String, path: String) throws(E) -> TextPattern {
        guard let p = o["pattern"] as? [String: Any], p.count == 1 else {
            throw .invalidJSON(path: path, reason: "\(what) needs a \"pattern\" {\"String\": …} or {\"Regex\": …}")
        }
        if let s = p["String"] as? String {
            guard !s.isEmpty else { throw .unsupported(path: path, feature: "\(what) with an empty pattern") }
            return TextPattern(literal: s)
        }
        if let r = p["Regex"] as? String {
            do { return TextPattern(regex: try NSRegularExpression(pattern: r)) } catch {
                throw .invalidJSON(path: path, reason: "\(what) regex \(r.debugDescription) does not compile")
            }
        }
        throw .invalidJSON(path: path, reason: "\(what) needs a \"pattern\" {\"String\": …} or {\"Regex\": …}")
    }

    // MARK: Normalizers

    static func normalizer(_ value: Any?, path: String) throws(E) -> UnigramNormalizer? {
        guard let o = try object(value, "normalizer", path: path) else { return nil }
        let type = o["type"] as! String
        switch type {
        case "Sequence":
            var items: [UnigramNormalizer] = []
            for item in try list(o, "normalizers", path: path) {
                guard let n = try normalizer(item, path: path) else {
                    throw .invalidJSON(path: path, reason: "null inside a normalizer Sequence")
                }
                items.append(n)
            }
            return .sequence(items)
        case "Precompiled": return .precompiled(try charsmap(o["precompiled_charsmap"], path: path))
        case "Replace":
            return .replace(try pattern(o, "Replace normalizer", path: path),
                            Array(try string(o, "content", "Replace normalizer", path: path).unicodeScalars))
        case "Strip":
            return .strip(left: try bool(o, "strip_left", "Strip normalizer", path: path),
                          right: try bool(o, "strip_right", "Strip normalizer", path: path))
        case "Prepend": return .prepend(Array(try string(o, "prepend", "Prepend normalizer", path: path).unicodeScalars))
        case "NFC": return .unicode(.nfc)
        case "NFD": return .unicode(.nfd)
        case "NFKC": return .unicode(.nfkc)
        case "NFKD": return .unicode(.nfkd)
        case "Lowercase": return .lowercase
        case "StripAccents": return .stripAccents
        default: throw .unsupported(path: path, feature: "normalizer \(type)")
        }
    }

    // MARK: Pre-tokenizers

    /// Metaspace's `replacement` and `prepend_scheme` (old files: `add_prefix_space`, no scheme).
    private static func metaspace(_ o: [String: Any], _ what: String, path: String) throws(E) -> (Unicode.Scalar, PrependScheme) {
        let replacement = try character(o, "replacement", what, path: path)
        var scheme = PrependScheme.always
        if let s = o["prepend_scheme"] {
            guard let name = s as? String, let parsed = PrependScheme(rawValue: name) else {
                throw .invalidJSON(path: path, reason: "\(what) \"prepend_scheme\" must be \"always\", \"first\" or \"never\"")
            }
            scheme = parsed
        }
        // `tokenizers` refuses add_prefix_space false unless the scheme is "never" (also when it is absent).
        if o["add_prefix_space"] as? Bool == false && scheme != .never {
            throw .invalidJSON(path: path, reason: "\(what) add_prefix_space does not match declared prepend_scheme")
        }
        return (replacement, scheme)
    }

    static func preTokenizer(_ value: Any?, path: String) throws(E) -> UnigramPreTokenizer? {
        guard let o = try object(value, "pre_tokenizer", path: path) else { return nil }
        let type = o["type"] as! String
        switch type {
        case "Sequence":
            var items: [UnigramPreTokenizer] = []
            for item in try list(o, "pretokenizers", path: path) {
                guard let p = try preTokenizer(item, path: path) else {
                    throw .invalidJSON(path: path, reason: "null inside a pre-tokenizer Sequence")
                }
                items.append(p)
            }
            return .sequence(items)
        case "WhitespaceSplit": return .whitespaceSplit
        case "Metaspace":
            let (replacement, scheme) = try metaspace(o, "Metaspace pre-tokenizer", path: path)
            return .metaspace(replacement: replacement, scheme: scheme, split: o["split"] as? Bool ?? true)
        default: throw .unsupported(path: path, feature: "pre-tokenizer \(type)")
        }
    }

    // MARK: Decoders

    static func decoder(_ value: Any?, path: String) throws(E) -> UnigramDecoder? {
        guard let o = try object(value, "decoder", path: path) else { return nil }
        let type = o["type"] as! String
        switch type {
        case "Sequence":
            var items: [UnigramDecoder] = []
            for item in try list(o, "decoders", path: path) {
                guard let d = try decoder(item, path: path) else {
                    throw .invalidJSON(path: path, reason: "null inside a decoder Sequence")
                }
                items.append(d)
            }
            return .sequence(items)
        case "Metaspace":
            let (replacement, scheme) = try metaspace(o, "Metaspace decoder", path: path)
            return .metaspace(replacement: replacement, scheme: scheme)
        case "Replace":
            return .replace(try pattern(o, "Replace decoder", path: path), try string(o, "content", "Replace decoder", path: path))
        case "ByteFallback": return .byteFallback
        case "Fuse": return .fuse
        case "Strip":
            guard let start = ByteLevelBPEFiles.int(o["start"]), let stop = ByteLevelBPEFiles.int(o["stop"]) else {
                throw .invalidJSON(path: path, reason: "Strip decoder needs integer \"start\" and \"stop\"")
            }
            return .strip(content: try character(o, "content", "Strip decoder", path: path), start: start, stop: stop)
        default: throw .unsupported(path: path, feature: "decoder \(type)")
        }
    }
}
