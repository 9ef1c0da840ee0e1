import Foundation

/// Port of the SentencePiece Unigram tokenizer as T5 / Flan-T5 checkpoints use it (transformers 5
/// `T5Tokenizer`, i.e. the `tokenizers` pipeline), for BLIP-2 Flan-T5.
///
/// Encoding: added tokens (`</s>`, `<pad>`, `<unk>`, `<extra_id_N>`, …) are split out first (non-normalised
/// ones on the raw text, normalised ones after normalisation, honouring `lstrip` / `rstrip` /
/// `single_word`); each remaining piece is normalised (T5: the SentencePiece nmt_nfkc `Precompiled`
/// charsmap), pre-tokenised (T5: WhitespaceSplit, then Metaspace: spaces become "▁", a "▁" is
/// prepended, split before each "▁"), and segmented by Viterbi over the piece scores (an unknown
/// character scores `min score − 10`; unknowns fuse into one `<unk>`); the post-processor appends `</s>`.
/// Decoding maps ids back to pieces, drops special tokens when asked, runs the decoder (Metaspace: "▁"
/// becomes a space, none on the first token) and, when tokenizer_config.json sets
/// `clean_up_tokenization_spaces`, transformers' `clean_up_tokenization`.
///
/// Loading follows transformers 5: a directory whose tokenizer_config.json names `T5Tokenizer` rebuilds the
/// pipeline as `T5Tokenizer.__init__` does, keeping only tokenizer.json's vocabulary and Precompiled
/// charsmap; a directory with spiece.model and no tokenizer.json gets the same pipeline from the
/// SentencePiece model (vocabulary + `<extra_id_99>` … `<extra_id_0>`, `extra_ids` from the config,
/// default 100). Other tokenizer.json directories, and ``init(tokenizerJSON:)``, run the file as
/// `tokenizers.Tokenizer.from_file` does. Added tokens get ids as `tokenizers` assigns them (the
/// vocabulary id, else the next id after the vocabulary).
///
/// Not covered: other models, normalizers (BertNormalizer, Nmt, ByteLevel) and pre-tokenizers (they throw
/// ``UnigramTokenizerError/unsupported(path:feature:)``), SentencePiece BPE models, subword sampling
/// (alpha / n-best), sequence pairs, truncation and padding. NFC/NFKC/… normalizers use Foundation's
/// Unicode tables; regex `Replace` patterns use Foundation's ICU engine instead of Oniguruma.
///
/// ```swift
/// let tokenizer = try UnigramTokenizer(directory: checkpointURL)   // Salesforce/blip2-flan-t5-xl
/// tokenizer.encode("Question: what is in the picture? Answer:")    // […, 1]
/// tokenizer.decode(ids, skipSpecialTokens: true)
/// ```
public struct UnigramTokenizer: Sendable {
    private let model: UnigramModel
    private let normalizer: UnigramNormalizer?
    private let preTokenizer: UnigramPreTokenizer?
    private let decoder: UnigramDecoder?
    private let postProcessor: BPEPostProcessor
    /// Added tokens (special or not), by id.
    public let addedTokens: [BPEAddedToken]
    private let addedById: [Int: BPEAddedToken]
    /// Normalised content of `normalized` added tokens whose content the normalizer changes: what
    /// `tokenizers` gives back for their ids (`AddedVocabulary::simple_id_to_token`).
    private let normalizedForms: [Int: String]
    private let addedIds: [[UInt8]: Int]
    private let rawMatcher: BPEAddedTokens
    private let normalizedMatcher: BPEAddedTokens
    /// Contents of the special added tokens: any token spelled so is dropped by `skipSpecialTokens`.
    private let specialContents: Set<[UInt8]>

    /// Whether ``decode(_:skipSpecialTokens:)`` applies transformers' `clean_up_tokenization`
    /// (tokenizer_config.json's `clean_up_tokenization_spaces`; transformers 5 defaults to false).
    public let cleanUpTokenizationSpaces: Bool
    public let bosTokenId: Int?, eosTokenId: Int?, padTokenId: Int?, unkTokenId: Int?
    /// Size of the vocabulary with the added tokens not in it, like `len(tokenizer)`.
    public let count: Int

    // MARK: - Loading

    /// Loads tokenizer.json (preferred) or spiece.model (+ tokenizer_config.json / special_tokens_map.json /
    /// added_tokens.json) from a model directory.
    public init(directory: URL) throws(UnigramTokenizerError) {
        let fm = FileManager.default
        func file(_ name: String) -> URL? {
            let url = directory.appendingPathComponent(name)
            return fm.fileExists(atPath: url.path) ? url : nil
        }
        let configURL = file("tokenizer_config.json")
        let config: [String: Any]
        do { config = try configURL.map(ByteLevelBPEFiles.readJSONObject) ?? [:] } catch { throw UnigramTokenizerError(error) }
        let specialMap = file("special_tokens_map.json"), addedFile = file("added_tokens.json")
        let extraIds = ByteLevelBPEFiles.int(config["extra_ids"]) ?? 100
        var files = UnigramFiles()
        if let json = file("tokenizer.json") {
            let t5 = (config["tokenizer_class"] as? String).map(UnigramFiles.t5Classes.contains) ?? false
            try files.loadTokenizerJSON(json, t5Rebuild: t5)
            if t5 || configURL != nil || specialMap != nil || addedFile != nil {
                try files.loadConfig(configURL, specialTokensMap: specialMap, addedTokensFile: addedFile, t5: t5,
                                     extraIds: extraIds)
            }
        } else if let model = file("spiece.model") {
            try files.loadSentencePiece(model, extraIds: extraIds)
            try files.loadConfig(configURL, specialTokensMap: specialMap, addedTokensFile: addedFile, t5: true,
                                 extraIds: extraIds)
        } else {
            throw .noVocabulary(directory: directory.path)
        }
        try self.init(files: files)
    }

    /// Loads a `tokenizers` serialisation (Unigram model) exactly as `tokenizers.Tokenizer.from_file` runs
    /// it. bos / eos are the post-processor's special tokens around the sequence (else special `<s>` /
    /// `</s>` added tokens), pad a special `<pad>`, unk the model's `unk_id`.
    public init(tokenizerJSON: URL) throws(UnigramTokenizerError) {
        var files = UnigramFiles()
        try files.loadTokenizerJSON(tokenizerJSON)
        try self.init(files: files)
    }

    /// Loads a SentencePiece model alone, as `T5Tokenizer.from_pretrained` does for a directory holding
    /// only spiece.model (`extraIds` sentinels after the pieces, eos `</s>`, unk `<unk>`, pad `<pad>`).
    public init(sentencePieceModel: URL, extraIds: Int = 100) throws(UnigramTokenizerError) {
        var files = UnigramFiles()
        try files.loadSentencePiece(sentencePieceModel, extraIds: extraIds)
        try files.loadConfig(nil, specialTokensMap: nil, addedTokensFile: nil, t5: true, extraIds: extraIds)
        try self.init(files: files)
    }

    init(files f: UnigramFiles) throws(UnigramTokenizerError) {
        do {
            model = try UnigramModel(vocab: f.vocab, unkId: f.unkId, byteFallback: f.byteFallback)
        } catch {
            throw f.modelPath.hasSuffix(".model") ? .invalidModel(path: f.modelPath, reason: error.description)
                : .invalidJSON(path: f.modelPath, reason: error.description)
        }
        normalizer = f.normalizer
        preTokenizer = f.preTokenizer
        decoder = f.decoder

        let vocabIds = model.ids, vocabCount = model.count
        var vocabulary = AddedVocabulary(vocabIds: vocabIds, vocabCount: vocabCount)
        vocabulary.add(f.added)
        // transformers then adds the configs' added tokens, the named special tokens and the extra ones in one call.
        var namedIds: [String: Int] = [:]
        if let cfg = f.config {
            namedIds = vocabulary.addConfigTokens(
                named: cfg.named, namedContents: ByteLevelBPEFiles.namedKeys.compactMap { cfg.named[$0] } + cfg.modelSpecific.map(\.content),
                configAdded: cfg.configAdded, extraSpecial: cfg.extraSpecial, extras: f.t5Extras)
        }
        let addedMap = vocabulary.ids, addedR = vocabulary.byId, specialSet = vocabulary.special
        let added = vocabulary.sorted
        var post = f.postProcessor
        if f.t5Template { post = namedIds["eos_token"].map { .template([nil, [$0]]) } ?? .none }
        postProcessor = post

        addedTokens = added
        addedById = addedR
        addedIds = addedMap
        specialContents = specialSet
        rawMatcher = BPEAddedTokens(added.filter { !$0.normalized })
        var forms: [Int: String] = [:]
        if let normalizer = f.normalizer {
            for token in added where token.normalized {
                var view = String.UnicodeScalarView()
                view.append(contentsOf: normalizer.normalize(Array(token.content.unicodeScalars)))
                let form = String(view)
                if !form.unicodeScalars.elementsEqual(token.content.unicodeScalars) { forms[token.id] = form }
            }
        }
        normalizedForms = forms
        normalizedMatcher = BPEAddedTokens(added.filter(\.normalized).map { token in
            var t = token
            if let form = forms[token.id] { t.content = form }
            return t
        })
        cleanUpTokenizationSpaces = f.cleanUp
        count = vocabCount + addedMap.keys.filter { vocabIds[$0] == nil }.count

        if f.config != nil {
            bosTokenId = namedIds["bos_token"]; eosTokenId = namedIds["eos_token"]
            padTokenId = namedIds["pad_token"]; unkTokenId = namedIds["unk_token"]
        } else {
            func special(_ name: String) -> Int? { added.first { $0.special && $0.content == name }?.id }
            let around = post.surroundingIds
            bosTokenId = around.leading ?? special("<s>")
            eosTokenId = around.trailing ?? special("</s>")
            padTokenId = special("<pad>")
            unkTokenId = model.unkId
        }
    }

    // MARK: - Vocabulary

    /// The id of `token` (an added token or a vocabulary piece, compared byte for byte).
    public func id(of token: String) -> Int? {
        let key = Array(token.utf8)
        return addedIds[key] ?? model.ids[key]
    }

    /// The token of `id` (the piece spelling for vocabulary entries, e.g. `▁hello`; the normalised
    /// content for `normalized` added tokens, as `tokenizers` gives it).
    public func token(for id: Int) -> String? {
        if let t = addedById[id] { return normalizedForms[id] ?? t.content }
        return id >= 0 && id < model.count ? model.pieces[id] : nil
    }

    /// Whether `id`'s token is special (dropped when decoding with `skipSpecialTokens`).
    public func isSpecial(_ id: Int) -> Bool {
        token(for: id).map { specialContents.contains(Array($0.utf8)) } ?? false
    }

    // MARK: - Encoding

    /// Ids as `tokenizer(text)["input_ids"]` gives them (with the post-processor's `</s>` when addSpecialTokens).
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
                var normalized = NormalizedText(segment)
                normalizer?.apply(&normalized)
                for inner in normalizedMatcher.split(normalized.scalars[...]) {
                    switch inner {
                    case .token(let id): ids.append(id)
                    case .text(let rest): encodePiece(normalized.slice(rest.startIndex..<rest.endIndex), into: &ids)
                    }
                }
            }
        }
        return ids
    }

    private func encodePiece(_ piece: NormalizedText, into ids: inout [Int]) {
        let pieces = preTokenizer?.apply([piece]) ?? [piece]
        var bytes: [UInt8] = []
        for p in pieces {
            bytes.removeAll(keepingCapacity: true)
            for s in p.scalars { UTF8.encode(s) { bytes.append($0) } }
            model.encode(bytes, into: &ids)
        }
    }

    // MARK: - Decoding

    /// `tokenizer.decode(ids, skip_special_tokens:)`, with transformers' clean_up_tokenization_spaces as
    /// the tokenizer_config says. Ids with no token are skipped.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        var tokens: [String] = []
        tokens.reserveCapacity(ids.count)
        for id in ids {
            guard let t = token(for: id) else { continue }
            if skipSpecialTokens && specialContents.contains(Array(t.utf8)) { continue }
            tokens.append(t)
        }
        let text = decoder.map { $0.decodeChain(tokens).joined() } ?? tokens.joined(separator: " ")
        return cleanUpTokenizationSpaces ? ByteLevelBPETokenizer.cleanUpTokenization(text) : text
    }
}

extension UnigramTokenizer: Blip2TextTokenizer {}
