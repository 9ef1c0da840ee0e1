import Foundation

/// Errors thrown while loading byte-level BPE tokenizer files. Every case names the file involved.
public enum BPETokenizerError: Error, Sendable, Equatable, CustomStringConvertible, LocalizedError {
    /// The file does not exist or cannot be read.
    case unreadableFile(path: String, reason: String)
    /// The file is not the JSON the tokenizer expects (malformed, truncated or missing a field).
    case invalidJSON(path: String, reason: String)
    /// A line of merges.txt (1-based, not counting the `#version` header) is not `left right`.
    case invalidMerges(path: String, line: Int, reason: String)
    /// The file asks for something this port does not implement (another model, a normalizer, …).
    case unsupported(path: String, feature: String)
    /// The directory holds neither tokenizer.json nor vocab.json + merges.txt.
    case noVocabulary(directory: String)

    public var description: String {
        switch self {
        case let .unreadableFile(path, reason): return "cannot read tokenizer file \(path): \(reason)"
        case let .invalidJSON(path, reason): return "tokenizer file \(path) is not valid: \(reason)"
        case let .invalidMerges(path, line, reason): return "merges file \(path), merge \(line): \(reason)"
        case let .unsupported(path, feature): return "tokenizer file \(path) uses \(feature), which is not supported"
        case let .noVocabulary(directory):
            return "no tokenizer.json or vocab.json + merges.txt in \(directory)"
        }
    }

    public var errorDescription: String? { description }
}

/// Everything read from the files, before the tokenizer is built.
struct ByteLevelBPEFiles {
    var vocab: [(token: String, id: Int)] = []
    var merges: [(String, String)] = []
    var modelPath = ""
    var unkToken: String? = nil
    var fuseUnk = false
    var byteFallback = false
    var ignoreMerges = false
    var addPrefixSpace = false
    var useRegex = true
    var byteLevelDecoder = true
    var postProcessor = BPEPostProcessor.none
    var added: [BPEAddedToken] = []
    /// Named special tokens from the configs (bos, eos, unk, pad, …) in transformers' order.
    var named: [String: String] = [:]
    /// Model-specific named tokens (`image_token`, …), in key order.
    var modelSpecific: [(key: String, content: String)] = []
    /// Unnamed extra special tokens (`extra_special_tokens` / `additional_special_tokens` lists).
    var extraSpecial: [String] = []
    /// Added tokens transformers passes to the backend after loading (the configs' `added_tokens_decoder`
    /// or the legacy files), by id; `added` holds the backend's own (tokenizer.json's) added tokens.
    var configAdded: [BPEAddedToken] = []
    var cleanUp = false
    /// Named special tokens come from transformers configs (otherwise they are guessed).
    var fromConfig = false
    /// vocab.json + merges.txt through transformers: the post-processor comes from
    /// `add_bos_token` / `add_eos_token`.
    var templateFromFlags = false
    var addBos = false
    var addEos = false
    var mergesPath = ""

    /// What transformers 5's `GPT2Tokenizer.__init__` rebuilds whatever tokenizer.json says: a plain
    /// BPE (no unk token, no byte fallback), `ByteLevel(add_prefix_space)` from the config, a
    /// ByteLevel decoder, no normalizer.
    mutating func useGPT2Defaults(addPrefixSpace: Bool) {
        unkToken = nil
        fuseUnk = false
        byteFallback = false
        ignoreMerges = false
        self.addPrefixSpace = addPrefixSpace
        useRegex = true
        byteLevelDecoder = true
    }

    static let namedKeys = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"]

    // MARK: Reading

    static func readData(_ url: URL) throws -> Data {
        do {
            return try Data(contentsOf: url)
        } catch {
            let reason = FileManager.default.fileExists(atPath: url.path) ? "\(error)" : "no such file"
            throw BPETokenizerError.unreadableFile(path: url.path, reason: reason)
        }
    }

    static func readJSONObject(_ url: URL) throws -> [String: Any] {
        let data = try readData(url)
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            throw BPETokenizerError.invalidJSON(path: url.path, reason: "not well-formed JSON (truncated or malformed)")
        }
        guard let dict = object as? [String: Any] else {
            throw BPETokenizerError.invalidJSON(path: url.path, reason: "top level is not an object")
        }
        return dict
    }

    static func int(_ value: Any?) -> Int? {
        // Ids are u32 in `tokenizers`; this port keeps them below 2^31.
        if let i = value as? Int { return i >= 0 && i <= Int(Int32.max) ? i : nil }
        guard let n = value as? NSNumber else { return nil }
        let d = n.doubleValue
        return d.rounded() == d && d >= 0 && d <= Double(Int32.max) ? Int(d) : nil
    }

    /// vocab.json: an object of token → id (non-numeric values are skipped, as `tokenizers` does).
    mutating func loadVocabJSON(_ url: URL) throws {
        let root = try Self.readJSONObject(url)
        try setVocab(root, path: url.path)
    }

    private mutating func setVocab(_ dict: [String: Any], path: String) throws {
        vocab = []
        vocab.reserveCapacity(dict.count)
        for (token, value) in dict {
            guard value is NSNumber else { continue }
            guard let id = Self.int(value) else {
                throw BPETokenizerError.invalidJSON(path: path, reason: "bad id for token \(token.debugDescription)")
            }
            vocab.append((token, id))
        }
        vocab.sort { $0.id < $1.id }
        modelPath = path
    }

    /// merges.txt: `#version` lines skipped, then one `left right` pair a line.
    mutating func loadMergesText(_ url: URL) throws {
        let data = try Self.readData(url)
        guard let text = String(data: data, encoding: .utf8) else {
            throw BPETokenizerError.invalidMerges(path: url.path, line: 0, reason: "not valid UTF-8")
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.hasSuffix("\r") ? line.dropLast() : line
        }
        if lines.last?.isEmpty == true { lines.removeLast() }
        merges = []
        mergesPath = url.path
        for line in lines where !line.hasPrefix("#version") {
            merges.append(try Self.mergePair(String(line), path: url.path, line: merges.count + 1))
        }
    }

    static func mergePair(_ line: String, path: String, line number: Int) throws -> (String, String) {
        let parts = line.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            throw BPETokenizerError.invalidMerges(path: path, line: number,
                                                  reason: "expected two tokens separated by one space, got \(line.debugDescription)")
        }
        return (String(parts[0]), String(parts[1]))
    }

    /// tokenizer.json with a BPE model, ByteLevel pre-tokenizer and decoder. With `gpt2Rebuild` only the
    /// vocabulary, merges, post-processor and added tokens are read (transformers' `GPT2Tokenizer`
    /// rebuilds the rest; see ``useGPT2Defaults(addPrefixSpace:)``).
    mutating func loadTokenizerJSON(_ url: URL, gpt2Rebuild: Bool = false) throws {
        let path = url.path
        let root = try Self.readJSONObject(url)
        guard let model = root["model"] as? [String: Any] else {
            throw BPETokenizerError.invalidJSON(path: path, reason: "missing \"model\"")
        }
        if let type = model["type"] as? String, type != "BPE" {
            throw BPETokenizerError.unsupported(path: path, feature: "model type \(type) (only BPE)")
        }
        guard let vocabDict = model["vocab"] as? [String: Any] else {
            throw BPETokenizerError.invalidJSON(path: path, reason: "missing or malformed \"model.vocab\"")
        }
        try setVocab(vocabDict, path: path)
        guard let list = model["merges"] as? [Any] else {
            throw BPETokenizerError.invalidJSON(path: path, reason: "missing or malformed \"model.merges\"")
        }
        merges = []
        mergesPath = path
        merges.reserveCapacity(list.count)
        for item in list {
            if let s = item as? String, !s.hasPrefix("#version") {
                merges.append(try Self.mergePair(s, path: path, line: merges.count + 1))
            } else if let pair = item as? [Any], pair.count == 2, let a = pair[0] as? String, let b = pair[1] as? String {
                merges.append((a, b))
            } else if !(item is String) {
                throw BPETokenizerError.invalidJSON(path: path, reason: "bad entry \(merges.count + 1) in \"model.merges\"")
            }
        }
        if !gpt2Rebuild {
            unkToken = model["unk_token"] as? String
            fuseUnk = model["fuse_unk"] as? Bool ?? false
            byteFallback = model["byte_fallback"] as? Bool ?? false
            ignoreMerges = model["ignore_merges"] as? Bool ?? false
            for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
                if let s = model[key] as? String, !s.isEmpty {
                    throw BPETokenizerError.unsupported(path: path, feature: "\(key) \(s.debugDescription)")
                }
            }
            if let n = root["normalizer"], !(n is NSNull) {
                throw BPETokenizerError.unsupported(path: path, feature: "a normalizer (\((n as? [String: Any])?["type"] ?? "?"))")
            }
            try readPreTokenizer(root["pre_tokenizer"], path: path)
            switch root["decoder"] {
            case nil, is NSNull: byteLevelDecoder = false
            case let d as [String: Any] where d["type"] as? String == "ByteLevel": byteLevelDecoder = true
            case let d: throw BPETokenizerError.unsupported(path: path, feature: "decoder \(Self.typeName(d))")
            }
        }
        postProcessor = try Self.postProcessor(root["post_processor"], path: path)
        added = []
        if let tokens = root["added_tokens"] as? [[String: Any]] {
            for entry in tokens {
                guard let content = entry["content"] as? String, let id = Self.int(entry["id"]) else {
                    throw BPETokenizerError.invalidJSON(path: path, reason: "bad entry in \"added_tokens\"")
                }
                added.append(Self.addedToken(content: content, id: id, entry))
            }
        }
    }

    private mutating func readPreTokenizer(_ value: Any?, path: String) throws {
        var node = value as? [String: Any]
        if node?["type"] as? String == "Sequence", let list = node?["pretokenizers"] as? [[String: Any]], list.count == 1 {
            node = list[0]
        }
        guard let p = node, p["type"] as? String == "ByteLevel" else {
            throw BPETokenizerError.unsupported(path: path, feature: "pre-tokenizer \(Self.typeName(value)) (only ByteLevel)")
        }
        addPrefixSpace = p["add_prefix_space"] as? Bool ?? true
        useRegex = p["use_regex"] as? Bool ?? true
    }

    static func typeName(_ value: Any?) -> String {
        ((value as? [String: Any])?["type"] as? String) ?? (value == nil || value is NSNull ? "null" : "?")
    }

    static func postProcessor(_ value: Any?, path: String) throws -> BPEPostProcessor {
        guard let value, !(value is NSNull) else { return .none }
        guard let p = value as? [String: Any], let type = p["type"] as? String else {
            throw BPETokenizerError.invalidJSON(path: path, reason: "malformed \"post_processor\"")
        }
        func pair(_ key: String) throws -> Int {
            guard let list = p[key] as? [Any], list.count == 2, let id = int(list[1]) else {
                throw BPETokenizerError.invalidJSON(path: path, reason: "malformed \(type) \"\(key)\"")
            }
            return id
        }
        switch type {
        case "ByteLevel": return .none
        case "RobertaProcessing", "BertProcessing":
            return .template([[try pair("cls")], nil, [try pair("sep")]])
        case "Sequence":
            guard let list = p["processors"] as? [Any] else {
                throw BPETokenizerError.invalidJSON(path: path, reason: "malformed Sequence \"processors\"")
            }
            return .sequence(try list.map { try postProcessor($0, path: path) })
        case "TemplateProcessing":
            guard let single = p["single"] as? [[String: Any]] else {
                throw BPETokenizerError.invalidJSON(path: path, reason: "malformed TemplateProcessing \"single\"")
            }
            let specials = p["special_tokens"] as? [String: Any] ?? [:]
            var pieces: [[Int]?] = []
            for piece in single {
                if piece["Sequence"] != nil { pieces.append(nil); continue }
                guard let token = piece["SpecialToken"] as? [String: Any], let name = token["id"] as? String,
                      let entry = specials[name] as? [String: Any], let ids = entry["ids"] as? [Any] else {
                    throw BPETokenizerError.invalidJSON(path: path, reason: "TemplateProcessing piece without a known special token")
                }
                pieces.append(try ids.map {
                    guard let id = int($0) else {
                        throw BPETokenizerError.invalidJSON(path: path, reason: "bad id for special token \(name)")
                    }
                    return id
                })
            }
            return .template(pieces)
        default:
            throw BPETokenizerError.unsupported(path: path, feature: "post-processor \(type)")
        }
    }

    // MARK: transformers configs

    /// Reads tokenizer_config.json (+ special_tokens_map.json / added_tokens.json in the legacy
    /// layout without `added_tokens_decoder`) as transformers 5 does: named special tokens, the
    /// added tokens it passes to the backend, the cleanup flag. `gpt2`: the backend is rebuilt, so
    /// tokenizer.json's added tokens only count in the legacy layout.
    mutating func loadTokenizerConfig(_ url: URL?, specialTokensMap: URL?, addedTokensFile: URL?,
                                      addedFromJSON: [BPEAddedToken], gpt2: Bool) throws {
        let config = try url.map(Self.readJSONObject) ?? [:]
        let path = url?.path ?? ""
        fromConfig = true
        if gpt2 {  // GPT2Tokenizer's defaults
            for key in ["bos_token", "eos_token", "unk_token"] { named[key] = "<|endoftext|>" }
        }
        try applyNames(config, path: path)
        var decoder: [Int: BPEAddedToken] = [:]
        if let map = config["added_tokens_decoder"] {
            guard let dict = map as? [String: Any] else {
                throw BPETokenizerError.invalidJSON(path: path, reason: "\"added_tokens_decoder\" is not an object")
            }
            for (key, value) in dict {
                guard let id = Int(key), id >= 0, let entry = value as? [String: Any],
                      let content = entry["content"] as? String else {
                    throw BPETokenizerError.invalidJSON(path: path, reason: "bad entry in \"added_tokens_decoder\"")
                }
                decoder[id] = Self.addedToken(content: content, id: id, entry)
            }
        } else {
            if let specialTokensMap { try applyNames(try Self.readJSONObject(specialTokensMap), path: specialTokensMap.path) }
            if let addedTokensFile {
                let specials = Set(named.values).union(modelSpecific.map(\.content)).union(extraSpecial)
                for (content, value) in try Self.readJSONObject(addedTokensFile) {
                    guard let id = Self.int(value) else {
                        throw BPETokenizerError.invalidJSON(path: addedTokensFile.path, reason: "bad id for \(content.debugDescription)")
                    }
                    let special = specials.contains(content)
                    decoder[id] = BPEAddedToken(content: content, id: id, special: special, normalized: !special)
                }
            }
            for token in addedFromJSON { decoder[token.id] = token }
        }
        if gpt2 { added = [] }
        configAdded = decoder.keys.sorted().map { decoder[$0]! }
        if let v = config["clean_up_tokenization_spaces"] as? Bool {
            // transformers 5 skips the cleanup for BPE models unless this flag forces it.
            cleanUp = v && (config["clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output"] as? Bool ?? false)
        }
    }

    /// Named special tokens (the standard ones, then model-specific `*_token` keys and an
    /// `extra_special_tokens` object), and the unnamed extra special tokens.
    private mutating func applyNames(_ dict: [String: Any], path: String) throws {
        func name(_ key: String, _ value: Any) throws -> String? {
            if value is NSNull { return nil }
            if let s = value as? String { return s }
            if let d = value as? [String: Any], let s = d["content"] as? String { return s }
            throw BPETokenizerError.invalidJSON(path: path, reason: "\(key) must be a string or an object with a string \"content\"")
        }
        func setModelSpecific(_ key: String, _ content: String) {
            modelSpecific.removeAll { $0.key == key }
            modelSpecific.append((key, content))
        }
        for key in Self.namedKeys {
            guard let value = dict[key] else { continue }
            named[key] = try name(key, value)
        }
        for key in dict.keys.sorted() where key.hasSuffix("_token") && !Self.namedKeys.contains(key) {
            let value = dict[key]!
            if value is String || (value as? [String: Any])?["content"] is String, let content = try name(key, value) {
                setModelSpecific(key, content)
            }
        }
        var extraKey = "extra_special_tokens"
        if dict[extraKey] == nil || (dict[extraKey] as? [Any])?.isEmpty == true || (dict[extraKey] as? [String: Any])?.isEmpty == true {
            extraKey = "additional_special_tokens"
        }
        guard let value = dict[extraKey], !(value is NSNull) else { return }
        if let list = value as? [Any] {
            for n in try list.compactMap({ try name(extraKey, $0) }) where !extraSpecial.contains(n) { extraSpecial.append(n) }
        } else if let map = value as? [String: Any] {
            for key in map.keys.sorted() { if let n = try name(extraKey, map[key]!) { setModelSpecific(key, n) } }
        } else {
            throw BPETokenizerError.invalidJSON(path: path, reason: "\(extraKey) must be a list or an object")
        }
    }

    // MARK: Helpers

    static func addedToken(content: String, id: Int, _ entry: [String: Any]) -> BPEAddedToken {
        BPEAddedToken(content: content, id: id, special: entry["special"] as? Bool ?? false,
                      normalized: entry["normalized"] as? Bool,
                      lstrip: entry["lstrip"] as? Bool ?? false, rstrip: entry["rstrip"] as? Bool ?? false,
                      singleWord: entry["single_word"] as? Bool ?? false)
    }
}
