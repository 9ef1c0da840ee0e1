import Foundation

/// Port of the GPT-2 byte-level BPE tokenizer (transformers `GPT2TokenizerFast` / `tokenizers` BPE + ByteLevel) as OPT and BLIP-2 OPT checkpoints use it.
///
/// Encoding: added tokens (`</s>`, `<pad>`, BLIP-2's `<image>`, …) are split out first, non-normalised
/// ones before normalised ones, honouring `lstrip` / `rstrip` / `single_word`; each remaining piece
/// gets a leading space when `add_prefix_space` is on, is split by the GPT-2 pattern, mapped to
/// byte-level characters and merged by rank; the post-processor then adds its special tokens (OPT:
/// `</s>` first — OPT uses `</s>`, id 2, as bos).
///
/// Loading follows transformers 5: a directory whose tokenizer_config.json names `GPT2Tokenizer`
/// rebuilds the pipeline the way `GPT2Tokenizer.__init__` does (plain BPE, ByteLevel with the
/// config's `add_prefix_space`, default false), keeping tokenizer.json's vocabulary, merges and
/// post-processor; without tokenizer.json the post-processor comes from `add_bos_token` /
/// `add_eos_token`. ``init(tokenizerJSON:)`` runs the file as `tokenizers.Tokenizer.from_file` does.
/// Added tokens get ids as `tokenizers` assigns them (the vocabulary id, else the next id after the
/// vocabulary); the configs' named tokens (bos, eos, unk, pad, …, model-specific `*_token` keys such
/// as `image_token`) become special added tokens. `\p{L}` / `\p{N}` follow Unicode 16, the tables of
/// `tokenizers`' Oniguruma, not Swift's newer ones.
///
/// Not covered: normalizers and other pre-tokenizers or models (they throw
/// ``BPETokenizerError/unsupported(path:feature:)``), `continuing_subword_prefix` / `end_of_word_suffix`,
/// BPE dropout (ignored), sequence pairs, truncation and padding.
///
/// ```swift
/// let tokenizer = try ByteLevelBPETokenizer(directory: checkpointURL)   // Salesforce/blip2-opt-2.7b
/// tokenizer.encode("Question: what is this? Answer:")   // [2, …]
/// tokenizer.decode(ids, skipSpecialTokens: true)
/// ```
public struct ByteLevelBPETokenizer: Sendable {
    private let model: BPEModel
    private let vocabTokens: [Int: String]
    private let vocabIds: [[UInt8]: Int]
    /// Added tokens (special or not), by id.
    public let addedTokens: [BPEAddedToken]
    private let addedById: [Int: BPEAddedToken]
    private let addedIds: [[UInt8]: Int]
    private let rawMatcher: BPEAddedTokens
    private let normalizedMatcher: BPEAddedTokens
    /// Contents of the special added tokens: any token spelled so is dropped by `skipSpecialTokens`.
    private let specialContents: Set<[UInt8]>
    private let postProcessor: BPEPostProcessor
    private let byteLevelDecoder: Bool
    private let useRegex: Bool

    /// Whether each text piece gets a leading space (`add_prefix_space`).
    public let addPrefixSpace: Bool
    /// Whether ``decode(_:skipSpecialTokens:)`` applies transformers' `clean_up_tokenization`:
    /// transformers 5 does so for BPE only when tokenizer_config.json sets both
    /// `clean_up_tokenization_spaces` and `clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output`.
    public let cleanUpTokenizationSpaces: Bool
    public let bosTokenId: Int?, eosTokenId: Int?, padTokenId: Int?, unkTokenId: Int?

    /// Distinct tokens of the vocabulary and the added tokens, like `len(tokenizer)`.
    public let count: Int

    // MARK: - Loading

    /// Loads tokenizer.json (preferred) or vocab.json + merges.txt (+ tokenizer_config.json / special_tokens_map.json / added_tokens.json) from a model directory.
    public init(directory: URL) throws {
        let fm = FileManager.default
        func file(_ name: String) -> URL? {
            let url = directory.appendingPathComponent(name)
            return fm.fileExists(atPath: url.path) ? url : nil
        }
        let configURL = file("tokenizer_config.json")
        let config = try configURL.map(ByteLevelBPEFiles.readJSONObject) ?? [:]
        let specialMap = file("special_tokens_map.json"), addedFile = file("added_tokens.json")
        let prefixSpace = config["add_prefix_space"] as? Bool ?? false
        var files = ByteLevelBPEFiles()
        if let json = file("tokenizer.json") {
            let cls = config["tokenizer_class"] as? String
            let gpt2 = cls == "GPT2Tokenizer" || cls == "GPT2TokenizerFast"
            try files.loadTokenizerJSON(json, gpt2Rebuild: gpt2)
            if gpt2 { files.useGPT2Defaults(addPrefixSpace: prefixSpace) }
            if configURL != nil || specialMap != nil || addedFile != nil {
                _ = try files.loadTokenizerConfig(configURL, specialTokensMap: specialMap, addedTokensFile: addedFile,
                                                  addedFromJSON: files.added, gpt2: gpt2)
            }
        } else if let vocab = file("vocab.json"), let merges = file("merges.txt") {
            try files.loadVocabJSON(vocab)
            try files.loadMergesText(merges)
            files.useGPT2Defaults(addPrefixSpace: prefixSpace)
            _ = try files.loadTokenizerConfig(configURL, specialTokensMap: specialMap, addedTokensFile: addedFile,
                                              addedFromJSON: [], gpt2: true)
            files.templateFromFlags = true
            files.addBos = config["add_bos_token"] as? Bool ?? false
            files.addEos = config["add_eos_token"] as? Bool ?? false
        } else {
            throw BPETokenizerError.noVocabulary(directory: directory.path)
        }
        try self.init(files: files)
    }

    /// Loads a `tokenizers` serialisation (BPE model, ByteLevel pre-tokenizer, ByteLevel or no
    /// decoder, no normalizer) exactly as `tokenizers.Tokenizer.from_file` runs it. bos / eos are the
    /// post-processor's special tokens around the sequence (else `<|endoftext|>`, `<s>`, `</s>` among
    /// the special added tokens), pad a special `<pad>`, unk the model's `unk_token`.
    public init(tokenizerJSON: URL) throws {
        var files = ByteLevelBPEFiles()
        try files.loadTokenizerJSON(tokenizerJSON)
        try self.init(files: files)
    }

    /// Loads GPT-2 style vocab.json + merges.txt with no configuration: no prefix space, no
    /// post-processor; `addedTokens` become special added tokens (their vocabulary id when they have
    /// one, else ids after the vocabulary, in order).
    public init(vocabFile: URL, mergesFile: URL, addedTokens: [String] = []) throws {
        var files = ByteLevelBPEFiles()
        try files.loadVocabJSON(vocabFile)
        try files.loadMergesText(mergesFile)
        files.useGPT2Defaults(addPrefixSpace: false)
        files.added = addedTokens.map { BPEAddedToken(content: $0, id: -1, special: true, normalized: false) }
        try self.init(files: files)
    }

    init(files f: ByteLevelBPEFiles) throws {
        var idToToken: [Int: String] = [:]
        var tokenIds: [[UInt8]: Int] = [:]
        var byteVocab: [[UInt8]: Int] = [:]
        var fallback: [String: Int] = [:]
        idToToken.reserveCapacity(f.vocab.count)
        tokenIds.reserveCapacity(f.vocab.count)
        for (token, id) in f.vocab {
            idToToken[id] = token
            tokenIds[Array(token.utf8)] = id
            if let raw = ByteLevel.decodeToken(token) { byteVocab[raw] = id }
            if f.byteFallback, token.utf8.count == 6, token.hasPrefix("<0x") { fallback[token] = id }
        }
        var merges: [(rank: Int, left: Int, right: Int, merged: Int)] = []
        merges.reserveCapacity(f.merges.count)
        for (rank, (a, b)) in f.merges.enumerated() {
            func lookup(_ s: String) throws -> Int {
                guard let id = tokenIds[Array(s.utf8)] else {
                    throw BPETokenizerError.invalidMerges(path: f.mergesPath, line: rank + 1,
                                                          reason: "token \(s.debugDescription) is not in the vocabulary \(f.modelPath)")
                }
                return id
            }
            merges.append((rank, try lookup(a), try lookup(b), try lookup(a + b)))
        }
        let unkId = f.unkToken.flatMap { tokenIds[Array($0.utf8)] }
        model = BPEModel(vocab: byteVocab, merges: merges, unkId: unkId, fuseUnk: f.fuseUnk,
                         byteFallback: f.byteFallback, fallbackVocab: fallback, ignoreMerges: f.ignoreMerges)

        var vocabulary = AddedVocabulary(vocabIds: tokenIds, vocabCount: f.vocab.count)
        vocabulary.add(f.added)
        // transformers then adds the configs' added tokens and the named special tokens in one call.
        var namedIds: [String: Int] = [:]
        if f.fromConfig {
            namedIds = vocabulary.addConfigTokens(
                named: f.named, namedContents: ByteLevelBPEFiles.namedKeys.compactMap { f.named[$0] } + f.modelSpecific.map(\.content),
                configAdded: f.configAdded, extraSpecial: f.extraSpecial)
        }
        let addedMap = vocabulary.ids, addedR = vocabulary.byId, specialSet = vocabulary.special
        let added = vocabulary.sorted
        var post = f.postProcessor
        if f.templateFromFlags {
            let bos = f.addBos ? namedIds["bos_token"] : nil, eos = f.addEos ? namedIds["eos_token"] : nil
            post = .template((bos.map { [[$0]] } ?? []) + [nil] + (eos.map { [[$0]] } ?? []))
        }
        postProcessor = post

        addedTokens = added
        addedById = addedR
        addedIds = addedMap
        specialContents = specialSet
        rawMatcher = BPEAddedTokens(added.filter { !$0.normalized })
        normalizedMatcher = BPEAddedTokens(added.filter(\.normalized))
        vocabTokens = idToToken
        vocabIds = tokenIds
        byteLevelDecoder = f.byteLevelDecoder
        useRegex = f.useRegex
        addPrefixSpace = f.addPrefixSpace
        cleanUpTokenizationSpaces = f.cleanUp
        count = Set(tokenIds.keys).union(addedMap.keys).count

        if f.fromConfig {
            bosTokenId = namedIds["bos_token"]; eosTokenId = namedIds["eos_token"]
            padTokenId = namedIds["pad_token"]; unkTokenId = namedIds["unk_token"]
        } else {
            func special(_ names: [String]) -> Int? {
                names.lazy.compactMap { n in added.first { $0.special && $0.content == n }?.id }.first
            }
            let around = post.surroundingIds
            bosTokenId = around.leading ?? special(["<|endoftext|>", "<s>", "</s>"])
            eosTokenId = around.trailing ?? special(["<|endoftext|>", "</s>"])
            padTokenId = special(["<pad>"])
            unkTokenId = unkId
        }
    }

    // MARK: - Vocabulary

    /// The id of `token` (an added token or a vocabulary entry, compared byte for byte).
    public func id(of token: String) -> Int? {
        let key = Array(token.utf8)
        return addedIds[key] ?? vocabIds[key]
    }

    /// The token of `id` (byte-level spelling for vocabulary entries, e.g. `Ġhello`).
    public func token(for id: Int) -> String? {
        addedById[id]?.content ?? vocabTokens[id]
    }

    /// Whether `id`'s token is special (dropped when decoding with `skipSpecialTokens`).
    public func isSpecial(_ id: Int) -> Bool {
        token(for: id).map { specialContents.contains(Array($0.utf8)) } ?? false
    }

    // MARK: - Encoding

    /// Ids as `tokenizer(text)["input_ids"]` gives them (with the post-processor's bos when addSpecialTokens).
    public func encode(_ text: String, addSpecialTokens: Bool = true) -> [Int] {
        let ids = encodeBody(text)
        return addSpecialTokens ? postProcessor.apply(ids) : ids
    }

    /// Tokens of `text` without special tokens, like `tokenizer.tokenize(text)`.
    public func tokenize(_ text: String) -> [String] {
        encodeBody(text).compactMap { token(for: $0) }
    }

    private func encodeBody(_ text: String) -> [Int] {
        var ids: [Int] = []
        let scalars = Array(text.unicodeScalars)
        for piece in rawMatcher.split(scalars[...]) {
            switch piece {
            case .token(let id): ids.append(id)
            case .text(let segment):
                for inner in normalizedMatcher.split(segment) {
                    switch inner {
                    case .token(let id): ids.append(id)
                    case .text(let rest): encodeSegment(rest, into: &ids)
                    }
                }
            }
        }
        return ids
    }

    private func encodeSegment(_ segment: ArraySlice<Unicode.Scalar>, into ids: inout [Int]) {
        guard !segment.isEmpty else { return }
        var text = segment
        if addPrefixSpace && segment.first != " " { text = ([" "] + segment)[...] }
        let words = useRegex ? ByteLevel.split(text) : [text.startIndex..<text.endIndex]
        var bytes: [UInt8] = []
        for range in words {
            bytes.removeAll(keepingCapacity: true)
            for scalar in text[range] { UTF8.encode(scalar) { bytes.append($0) } }
            model.encode(bytes[...], into: &ids)
        }
    }

    // MARK: - Decoding

    /// `tokenizer.decode(ids, skip_special_tokens:)`, with transformers' clean_up_tokenization_spaces as the tokenizer_config says.
    ///
    /// Ids with no token are skipped; byte sequences that are not valid UTF-8 decode to U+FFFD as in
    /// `tokenizers`.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        var tokens: [String] = []
        tokens.reserveCapacity(ids.count)
        for id in ids {
            guard let t = token(for: id) else { continue }
            if skipSpecialTokens && specialContents.contains(Array(t.utf8)) { continue }
            tokens.append(t)
        }
        let text = byteLevelDecoder ? ByteLevel.decode(tokens) : tokens.joined(separator: " ")
        return cleanUpTokenizationSpaces ? Self.cleanUpTokenization(text) : text
    }

    /// transformers' `clean_up_tokenization` (Python `str.replace` in order, on UTF-8 bytes).
    public static func cleanUpTokenization(_ s: String) -> String {
        var bytes = Array(s.utf8)
        let rules = [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                     (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")]
        for (from, to) in rules {
            let f = Array(from.utf8), t = Array(to.utf8)
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count)
            var i = 0
            while i < bytes.count {
                if bytes[i] == f[0], i + f.count <= bytes.count, bytes[i..<(i + f.count)].elementsEqual(f) {
                    out += t
                    i += f.count
                } else {
                    out.append(bytes[i])
                    i += 1
                }
            }
            bytes = out
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
