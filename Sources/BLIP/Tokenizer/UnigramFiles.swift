import Foundation

/// Errors thrown while loading SentencePiece Unigram tokenizer files. Every case names the file involved.
public enum UnigramTokenizerError: Error, Sendable, Equatable, CustomStringConvertible, LocalizedError {
    /// The file does not exist or cannot be read.
    case unreadableFile(path: String, reason: String)
    /// The file is not the JSON the tokenizer expects (malformed, truncated or missing a field).
    case invalidJSON(path: String, reason: String)
    /// spiece.model is not a valid SentencePiece `ModelProto` (truncated, garbled, inconsistent).
    case invalidModel(path: String, reason: String)
    /// The file asks for something this port does not implement (another model, normalizer, …).
    case unsupported(path: String, feature: String)
    /// The directory holds neither tokenizer.json nor spiece.model.
    case noVocabulary(directory: String)

    public var description: String {
        switch self {
        case let .unreadableFile(path, reason): return "cannot read tokenizer file \(path): \(reason)"
        case let .invalidJSON(path, reason): return "tokenizer file \(path) is not valid: \(reason)"
        case let .invalidModel(path, reason): return "SentencePiece model \(path) is not valid: \(reason)"
        case let .unsupported(path, feature): return "tokenizer file \(path) uses \(feature), which is not supported"
        case let .noVocabulary(directory): return "no tokenizer.json or spiece.model in \(directory)"
        }
    }

    public var errorDescription: String? { description }

    /// The same error from the shared byte-level BPE readers (configs, post-processors).
    init(_ error: any Error) {
        if let e = error as? UnigramTokenizerError {
            self = e
            return
        }
        guard let e = error as? BPETokenizerError else {
            self = .invalidJSON(path: "", reason: "\(error)")
            return
        }
        switch e {
        case let .unreadableFile(path, reason): self = .unreadableFile(path: path, reason: reason)
        case let .invalidJSON(path, reason): self = .invalidJSON(path: path, reason: reason)
        case let .invalidMerges(path, _, reason): self = .invalidJSON(path: path, reason: reason)
        case let .unsupported(path, feature): self = .unsupported(path: path, feature: feature)
        case let .noVocabulary(directory): self = .noVocabulary(directory: directory)
        }
    }
}

/// Everything read from the files, before the tokenizer is built.
struct UnigramFiles {
    var vocab: [(piece: String, score: Double)] = []
    var modelPath = ""
    var unkId: Int? = nil
    var byteFallback = false
    var normalizer: UnigramNormalizer? = nil
    var preTokenizer: UnigramPreTokenizer? = nil
    var decoder: UnigramDecoder? = nil
    var postProcessor = BPEPostProcessor.none
    /// The backend's own added tokens (tokenizer.json's `added_tokens` when it is run as it is).
    var added: [BPEAddedToken] = []
    /// tokenizer.json's `added_tokens` (transformers passes them on when the config has no `added_tokens_decoder`).
    var jsonAdded: [BPEAddedToken] = []
    /// transformers' configs (named tokens, their added tokens, the cleanup flag), when read.
    var config: ByteLevelBPEFiles? = nil
    /// Extra special tokens `T5Tokenizer.__init__` adds when the configs name none.
    var t5Extras: [BPEAddedToken] = []
    /// T5Tokenizer's post-processor: `$A` then the eos token.
    var t5Template = false
    var cleanUp = false

    static let t5Classes: Set<String> = ["T5Tokenizer", "T5TokenizerFast"]

    /// What `T5Tokenizer.__init__` builds around the vocabulary, whatever the files say: unk id 2, no
    /// byte fallback, the charsmap as the only normalizer, WhitespaceSplit + Metaspace("▁", always),
    /// a Metaspace decoder, `$A </s>`, and no added tokens of the backend's own.
    mutating func useT5Pipeline(charsmap: PrecompiledCharsmap?) {
        unkId = 2
        byteFallback = false
        normalizer = charsmap.map { .precompiled($0) }
        preTokenizer = .sequence([.whitespaceSplit, .metaspace(replacement: "▁", scheme: .always, split: true)])
        decoder = .metaspace(replacement: "▁", scheme: .always)
        added = []
        t5Template = true
    }

    /// `T5Tokenizer`'s default sentinels `<extra_id_0>` … `<extra_id_{n-1}>`.
    static func extraIds(_ n: Int) -> [String] { (0..<max(n, 0)).map { "<extra_id_\($0)>" } }

    // MARK: tokenizer.json

    /// tokenizer.json with a Unigram model. With `t5Rebuild` only the vocabulary and the Precompiled
    /// charsmap are kept (transformers' `T5Tokenizer` rebuilds the rest, see ``useT5Pipeline(charsmap:)``);
    /// otherwise everything runs as `tokenizers.Tokenizer.from_file` runs it.
    mutating func loadTokenizerJSON(_ url: URL, t5Rebuild: Bool = false) throws(UnigramTokenizerError) {
        let path = url.path
        let root: [String: Any]
        root = try UnigramJSON.readObject(url)
        guard let model = root["model"] as? [String: Any] else { throw .invalidJSON(path: path, reason: "missing \"model\"") }
        if let type = model["type"], type as? String != "Unigram" {
            throw .unsupported(path: path, feature: "model type \(type) (only Unigram)")
        }
        guard let list = model["vocab"] as? [Any] else {
            throw .invalidJSON(path: path, reason: "missing or malformed \"model.vocab\" (a list of [piece, score])")
        }
        vocab = []
        vocab.reserveCapacity(list.count)
        for (i, item) in list.enumerated() {
            guard let pair = item as? [Any], pair.count == 2, let piece = pair[0] as? String,
                  let score = UnigramJSON.double(pair[1]) else {
                throw .invalidJSON(path: path, reason: "entry \(i) of \"model.vocab\" is not [piece, score]")
            }
            vocab.append((piece, score))
        }
        modelPath = path
        jsonAdded = []
        if let tokens = root["added_tokens"] {
            guard let entries = tokens as? [[String: Any]] else {
                throw .invalidJSON(path: path, reason: "\"added_tokens\" is not a list of objects")
            }
            for entry in entries {
                guard let content = entry["content"] as? String, let id = ByteLevelBPEFiles.int(entry["id"]) else {
                    throw .invalidJSON(path: path, reason: "bad entry in \"added_tokens\"")
                }
                jsonAdded.append(ByteLevelBPEFiles.addedToken(content: content, id: id, entry))
            }
        }
        added = jsonAdded
        if t5Rebuild {
            useT5Pipeline(charsmap: try Self.findCharsmap(root["normalizer"], path: path))
            return
        }
        switch model["unk_id"] {
        case nil, is NSNull: unkId = nil
        case let v:
            guard let id = ByteLevelBPEFiles.int(v) else { throw .invalidJSON(path: path, reason: "bad \"model.unk_id\"") }
            unkId = id
        }
        byteFallback = model["byte_fallback"] as? Bool ?? false
        normalizer = try UnigramJSON.normalizer(root["normalizer"], path: path)
        preTokenizer = try UnigramJSON.preTokenizer(root["pre_tokenizer"], path: path)
        decoder = try UnigramJSON.decoder(root["decoder"], path: path)
        do { postProcessor = try ByteLevelBPEFiles.postProcessor(root["post_processor"], path: path) } catch {
            throw UnigramTokenizerError(error)
        }
    }

    /// The charsmap transformers 5 passes to `T5Tokenizer` (`_spm_precompiled_charsmap`): the first
    /// Precompiled normalizer at the top level or directly inside a Sequence.
    static func findCharsmap(_ node: Any?, path: String) throws(UnigramTokenizerError) -> PrecompiledCharsmap? {
        guard let n = node as? [String: Any] else { return nil }
        let list = n["type"] as? String == "Sequence" ? (n["normalizers"] as? [Any] ?? []) : [n]
        for case let item as [String: Any] in list where item["type"] as? String == "Precompiled" && item["precompiled_charsmap"] != nil {
            return try UnigramJSON.charsmap(item["precompiled_charsmap"], path: path)
        }
        return nil
    }

    // MARK: spiece.model

    /// spiece.model the way transformers 5 loads it into `T5Tokenizer`: the pieces and scores, then
    /// `<extra_id_{n-1}>` … `<extra_id_0>` (score 0), the normalizer spec's charsmap, the T5 pipeline;
    /// CONTROL pieces (special) and USER_DEFINED pieces (not special), then the sentinels, become the
    /// extra special tokens unless the configs name some.
    mutating func loadSentencePiece(_ url: URL, extraIds: Int) throws(UnigramTokenizerError) {
        let model = try SentencePieceModel(contentsOf: url)
        guard model.modelType == .unigram else {
            throw .unsupported(path: url.path, feature: "SentencePiece model type \(model.modelType) (only unigram)")
        }
        vocab = model.pieces.map { ($0.piece, Double($0.score)) }
        vocab += Self.extraIds(extraIds).reversed().map { ($0, 0.0) }
        modelPath = url.path
        var charsmap: PrecompiledCharsmap? = nil
        if !model.precompiledCharsmap.isEmpty {
            do { charsmap = try PrecompiledCharsmap(model.precompiledCharsmap) } catch {
                throw .invalidModel(path: url.path, reason: "normalizer_spec.precompiled_charsmap: \(error)")
            }
        }
        useT5Pipeline(charsmap: charsmap)
        t5Extras = model.pieces.filter { $0.type == .control || $0.type == .userDefined }.map {
            BPEAddedToken(content: $0.piece, id: -1, special: $0.type == .control, normalized: false)
        }
    }

    // MARK: transformers configs

    /// tokenizer_config.json (+ special_tokens_map.json / added_tokens.json) as transformers 5 reads
    /// them (the byte-level BPE reader's logic); `t5` adds `T5Tokenizer`'s defaults (eos `</s>`, unk
    /// `<unk>`, pad `<pad>`, the sentinels when no extra special tokens are named).
    mutating func loadConfig(_ url: URL?, specialTokensMap: URL?, addedTokensFile: URL?, t5: Bool,
                             extraIds: Int) throws(UnigramTokenizerError) {
        var files = ByteLevelBPEFiles()
        if t5 { files.named = ["eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"] }
        let raw: [String: Any]
        do {
            raw = try url.map(ByteLevelBPEFiles.readJSONObject) ?? [:]
            try files.loadTokenizerConfig(url, specialTokensMap: specialTokensMap, addedTokensFile: addedTokensFile,
                                          addedFromJSON: jsonAdded, gpt2: false)
        } catch { throw UnigramTokenizerError(error) }
        if t5 {
            var names = Set(raw.keys)
            if raw["added_tokens_decoder"] == nil, let specialTokensMap {
                do { names.formUnion(try ByteLevelBPEFiles.readJSONObject(specialTokensMap).keys) } catch {
                    throw UnigramTokenizerError(error)
                }
            }
            if names.contains("extra_special_tokens") || names.contains("additional_special_tokens") {
                t5Extras = []
            } else {
                t5Extras += Self.extraIds(extraIds).map { BPEAddedToken(content: $0, id: -1, special: true, normalized: false) }
            }
        }
        // transformers 5 cleans up Unigram decodes when the config asks (only BPE needs the extra flag).
        cleanUp = raw["clean_up_tokenization_spaces"] as? Bool ?? false
        config = files
    }
}
