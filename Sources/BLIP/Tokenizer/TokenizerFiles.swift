import Foundation

/// Errors thrown while loading tokenizer files. Every case names the file involved.
public enum TokenizerError: Error, Sendable, Equatable, CustomStringConvertible, LocalizedError {
    /// The file does not exist or cannot be read.
    case unreadableFile(path: String, reason: String)
    /// The file is not valid UTF-8 text.
    case invalidEncoding(path: String)
    /// The file is not the JSON the tokenizer expects.
    case invalidJSON(path: String, reason: String)
    /// The vocabulary has no entries.
    case emptyVocabulary(path: String)
    /// A required token (such as `[UNK]`) is not in the vocabulary.
    case missingToken(token: String, path: String)
    /// The directory holds neither `tokenizer.json` nor `vocab.txt`.
    case noVocabulary(directory: String)

    public var description: String {
        switch self {
        case let .unreadableFile(path, reason): return "cannot read tokenizer file \(path): \(reason)"
        case let .invalidEncoding(path): return "tokenizer file \(path) is not valid UTF-8"
        case let .invalidJSON(path, reason): return "tokenizer file \(path) is not valid: \(reason)"
        case let .emptyVocabulary(path): return "vocabulary \(path) is empty"
        case let .missingToken(token, path): return "token \(token) is not in the vocabulary \(path)"
        case let .noVocabulary(directory):
            return "no tokenizer.json or vocab.txt in \(directory)"
        }
    }

    public var errorDescription: String? { description }
}

/// An added token (an entry of `added_tokens` in tokenizer.json or `added_tokens_decoder` in
/// tokenizer_config.json). Added tokens are matched in the input text as whole units before the
/// basic tokenizer runs.
public struct AddedToken: Sendable, Hashable {
    /// The token text, e.g. `[DEC]`.
    public var content: String
    /// Its id.
    public var id: Int
    /// Special tokens are dropped by `decode(_:skipSpecialTokens: true)`.
    public var special: Bool
    /// Match against the normalised (e.g. lower-cased) text instead of the raw text.
    public var normalized: Bool
    /// Swallow whitespace to the left of a match.
    public var lstrip: Bool
    /// Swallow whitespace to the right of a match.
    public var rstrip: Bool
    /// Only match when not inside a word.
    public var singleWord: Bool

    public init(content: String, id: Int, special: Bool = true, normalized: Bool? = nil,
                lstrip: Bool = false, rstrip: Bool = false, singleWord: Bool = false) {
        self.content = content
        self.id = id
        self.special = special
        self.normalized = normalized ?? !special
        self.lstrip = lstrip
        self.rstrip = rstrip
        self.singleWord = singleWord
    }
}

/// Everything the tokenizer files say, gathered before the tokenizer is built.
struct TokenizerFiles {
    /// id → token for the base vocabulary (line order of vocab.txt, or model.vocab of tokenizer.json).
    var idToToken: [String] = []
    /// token (UTF-8 bytes) → id; later duplicates win, as in transformers' `load_vocab`.
    var tokenToId: [ArraySlice<UInt8>: Int] = [:]
    var vocabPath = ""
    var added: [AddedToken] = []
    var basic = BasicTokenizer()
    var unkToken = "[UNK]"
    var sepToken = "[SEP]"
    var padToken = "[PAD]"
    var clsToken = "[CLS]"
    var maskToken = "[MASK]"
    var bosToken: String? = nil
    var eosToken: String? = nil
    var additionalSpecial: [String] = []
    var continuingSubwordPrefix = "##"
    var maxInputCharsPerWord = 100
    var modelMaxLength: Int? = nil
    var cleanUpTokenizationSpaces = false
    var decoderCleanup = true

    // MARK: Reading

    static func readData(_ url: URL) throws -> Data {
        do {
            return try Data(contentsOf: url)
        } catch {
            let reason = FileManager.default.fileExists(atPath: url.path) ? "\(error)" : "no such file"
            throw TokenizerError.unreadableFile(path: url.path, reason: reason)
        }
    }

    static func readJSONObject(_ url: URL) throws -> [String: Any] {
        let data = try readData(url)
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String
            throw TokenizerError.invalidJSON(
                path: url.path, reason: "not well-formed JSON (truncated or malformed)" + (detail.map { ": \($0)" } ?? ""))
        }
        guard let dict = object as? [String: Any] else {
            throw TokenizerError.invalidJSON(path: url.path, reason: "top level is not an object")
        }
        return dict
    }

    /// Reads a `vocab.txt`: one token a line, the line number is the id. Line ends are `\n`,
    /// `\r\n` or `\r` (Python's universal newlines); a final line end does not add an empty token.
    mutating func loadVocabText(_ url: URL) throws {
        let data = try Self.readData(url)
        let bytes = [UInt8](data)
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw TokenizerError.invalidEncoding(path: url.path)
        }
        var tokens: [String] = []
        tokens.reserveCapacity(bytes.count / 7)
        var start = 0
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == 10 || b == 13 {
                tokens.append(String(decoding: bytes[start..<i], as: UTF8.self))
                if b == 13, i + 1 < bytes.count, bytes[i + 1] == 10 { i += 1 }
                start = i + 1
            }
            i += 1
        }
        if start < bytes.count { tokens.append(String(decoding: bytes[start...], as: UTF8.self)) }
        guard !tokens.isEmpty else { throw TokenizerError.emptyVocabulary(path: url.path) }
        idToToken = tokens
        tokenToId = [:]
        tokenToId.reserveCapacity(tokens.count)
        for (i, token) in tokens.enumerated() {
            tokenToId[ArraySlice(Array(token.utf8))] = i
        }
        vocabPath = url.path
    }

    /// Reads a Hugging Face `tokenizer.json` with a WordPiece model.
    mutating func loadTokenizerJSON(_ url: URL) throws {
        let root = try Self.readJSONObject(url)
        guard let model = root["model"] as? [String: Any] else {
            throw TokenizerError.invalidJSON(path: url.path, reason: "missing \"model\"")
        }
        if let type = model["type"] as? String, type != "WordPiece" {
            throw TokenizerError.invalidJSON(path: url.path, reason: "model type \(type) is not WordPiece")
        }
        guard let vocab = model["vocab"] as? [String: Any], !vocab.isEmpty else {
            throw TokenizerError.invalidJSON(path: url.path, reason: "missing or empty \"model.vocab\"")
        }
        var maxId = -1
        var pairs: [(String, Int)] = []
        pairs.reserveCapacity(vocab.count)
        for (token, value) in vocab {
            guard let id = Self.int(value), id >= 0 else {
                throw TokenizerError.invalidJSON(path: url.path, reason: "bad id for token \(token)")
            }
            pairs.append((token, id))
            maxId = max(maxId, id)
        }
        idToToken = Array(repeating: "", count: maxId + 1)
        tokenToId = [:]
        tokenToId.reserveCapacity(pairs.count)
        for (token, id) in pairs {
            idToToken[id] = token
            tokenToId[ArraySlice(Array(token.utf8))] = id
        }
        vocabPath = url.path
        if let unk = model["unk_token"] as? String { unkToken = unk }
        if let prefix = model["continuing_subword_prefix"] as? String { continuingSubwordPrefix = prefix }
        if let m = Self.int(model["max_input_chars_per_word"]) { maxInputCharsPerWord = m }

        if let normalizer = root["normalizer"] as? [String: Any] {
            if normalizer["type"] as? String == "BertNormalizer" {
                if let v = normalizer["lowercase"] as? Bool { basic.lowercase = v }
                if let v = normalizer["clean_text"] as? Bool { basic.cleanText = v }
                if let v = normalizer["handle_chinese_chars"] as? Bool { basic.handleChineseChars = v }
                basic.stripAccents = normalizer["strip_accents"] as? Bool
            }
        }
        if let decoder = root["decoder"] as? [String: Any], decoder["type"] as? String == "WordPiece" {
            if let v = decoder["cleanup"] as? Bool { decoderCleanup = v }
        }
        if let list = root["added_tokens"] as? [[String: Any]] {
            for entry in list {
                guard let content = entry["content"] as? String, let id = Self.int(entry["id"]) else {
                    throw TokenizerError.invalidJSON(path: url.path, reason: "bad entry in \"added_tokens\"")
                }
                addOrReplace(Self.addedToken(content: content, id: id, entry))
            }
        }
    }

    /// Reads `tokenizer_config.json` (transformers 4 or 5 form). `applyNormalizerFlags` is false when
    /// a tokenizer.json already fixed the normaliser.
    mutating func loadTokenizerConfig(_ url: URL, applyNormalizerFlags: Bool) throws {
        let config = try Self.readJSONObject(url)
        if applyNormalizerFlags {
            if let v = config["do_lower_case"] as? Bool { basic.lowercase = v }
            if config.keys.contains("strip_accents") { basic.stripAccents = config["strip_accents"] as? Bool }
            if let v = config["tokenize_chinese_chars"] as? Bool { basic.handleChineseChars = v }
        }
        if let v = config["clean_up_tokenization_spaces"] as? Bool { cleanUpTokenizationSpaces = v }
        if let value = config["model_max_length"] {
            // transformers writes 1e30 for "no limit".
            if let d = (value as? NSNumber)?.doubleValue, d > 0, d < 1e15 { modelMaxLength = Int(d) }
        }
        if let decoderMap = config["added_tokens_decoder"] as? [String: Any] {
            for (key, value) in decoderMap {
                guard let id = Int(key), let entry = value as? [String: Any],
                      let content = entry["content"] as? String else {
                    throw TokenizerError.invalidJSON(path: url.path, reason: "bad entry in \"added_tokens_decoder\"")
                }
                addOrReplace(Self.addedToken(content: content, id: id, entry))
            }
        }
        try applySpecialTokenNames(config, path: url.path)
    }

    /// Reads `special_tokens_map.json`.
    mutating func loadSpecialTokensMap(_ url: URL) throws {
        try applySpecialTokenNames(try Self.readJSONObject(url), path: url.path)
    }

    private mutating func applySpecialTokenNames(_ dict: [String: Any], path: String) throws {
        /// The token named by `key`: nil when absent or null; a string, or an object with a string
        /// "content"; anything else is an error naming the key.
        func token(_ key: String, _ value: Any?) throws -> String? {
            guard let value, !(value is NSNull) else { return nil }
            if let s = Self.tokenString(value) { return s }
            throw TokenizerError.invalidJSON(
                path: path, reason: "\(key) must be a string or an object with a string \"content\", got \(Self.jsonKind(value))")
        }
        if let v = try token("unk_token", dict["unk_token"]) { unkToken = v }
        if let v = try token("sep_token", dict["sep_token"]) { sepToken = v }
        if let v = try token("pad_token", dict["pad_token"]) { padToken = v }
        if let v = try token("cls_token", dict["cls_token"]) { clsToken = v }
        if let v = try token("mask_token", dict["mask_token"]) { maskToken = v }
        if let v = try token("bos_token", dict["bos_token"]) { bosToken = v }
        if let v = try token("eos_token", dict["eos_token"]) { eosToken = v }
        for key in ["additional_special_tokens", "extra_special_tokens"] {
            var names: [String] = []
            if let list = dict[key] as? [Any] {
                names = try list.enumerated().compactMap { try token("\(key)[\($0.offset)]", $0.element) }
            } else if let map = dict[key] as? [String: Any] {
                names = try map.keys.sorted().compactMap { try token("\(key).\($0)", map[$0]) }
            } else if let value = dict[key], !(value is NSNull) {
                throw TokenizerError.invalidJSON(path: path, reason: "\(key) must be a list or an object, got \(Self.jsonKind(value))")
            }
            for n in names where !additionalSpecial.contains(n) { additionalSpecial.append(n) }
        }
    }

    /// "a number", "a list", ... for messages.
    static func jsonKind(_ value: Any) -> String {
        switch value {
        case is String: return "a string"
        case is [Any]: return "a list"
        case is [String: Any]: return "an object without a string \"content\""
        case is NSNumber: return "a number or boolean (\(value))"
        default: return "\(type(of: value))"
        }
    }

    // MARK: Helpers

    mutating func addOrReplace(_ token: AddedToken) {
        added.removeAll { $0.id == token.id || $0.content == token.content }
        added.append(token)
    }

    static func addedToken(content: String, id: Int, _ entry: [String: Any]) -> AddedToken {
        let special = entry["special"] as? Bool ?? true
        return AddedToken(content: content, id: id, special: special,
                          normalized: entry["normalized"] as? Bool,
                          lstrip: entry["lstrip"] as? Bool ?? false,
                          rstrip: entry["rstrip"] as? Bool ?? false,
                          singleWord: entry["single_word"] as? Bool ?? false)
    }

    /// A special token value: a string, or an AddedToken-like object with "content".
    static func tokenString(_ value: Any?) -> String? {
        if let s = value as? String { return s }
        if let d = value as? [String: Any], let s = d["content"] as? String { return s }
        return nil
    }

    static func int(_ value: Any?) -> Int? {
        if let i = value as? Int { return i }
        if let n = value as? NSNumber {
            let d = n.doubleValue
            if d.rounded() == d, abs(d) < 1e15 { return Int(d) }
        }
        return nil
    }
}

