import Foundation

/// BERT WordPiece tokenizer with the semantics of Hugging Face transformers 5 `BertTokenizer`
/// (the `tokenizers`-backed one that `BlipProcessor` uses), including BLIP's extra tokens
/// `[DEC]` (beginning of sequence for the text decoder, id 30522) and `[ENC]` (id 30523).
///
/// Encoding: added/special tokens (`[CLS]`, `[SEP]`, `[PAD]`, `[MASK]`, `[UNK]`, `[DEC]`, `[ENC]`, …)
/// are matched verbatim in the raw text first; the text between them goes through the
/// ``BasicTokenizer`` (cleaning, CJK splitting, accent stripping, lower-casing, whitespace and
/// punctuation splitting) and then greedy longest-match-first WordPiece with `##` continuations.
///
/// ```swift
/// let tokenizer = try BertTokenizer(directory: checkpointURL)
/// tokenizer.encode("a picture of")   // [101, 1037, 3861, 1997, 102]
/// tokenizer.decode([30522, 1037, 3899, 102], skipSpecialTokens: true)   // "a dog"
/// ```
public struct BertTokenizer: Sendable {
    /// The normaliser and pre-tokeniser.
    public let basicTokenizer: BasicTokenizer
    private let wordPiece: WordPiece
    /// id → token of the base vocabulary.
    private let vocabTokens: [String]
    /// token bytes → id of the base vocabulary.
    private let vocabIds: [ArraySlice<UInt8>: Int]
    /// Added tokens (special or not), as loaded or appended.
    public let addedTokens: [AddedToken]
    private let addedById: [Int: AddedToken]
    private let addedIds: [ArraySlice<UInt8>: Int]
    private let rawMatcher: AddedTokenMatcher
    private let normalizedMatcher: AddedTokenMatcher
    private let specialIds: Set<Int>
    private let continuationPrefix: String
    private let decoderCleanup: Bool

    /// The unknown token (`[UNK]`) and its id.
    public let unkToken: String, unkTokenId: Int
    /// The separator token (`[SEP]`), which also ends every encoded sequence.
    public let sepToken: String, sepTokenId: Int
    /// The padding token (`[PAD]`).
    public let padToken: String, padTokenId: Int
    /// The classifier token (`[CLS]`) that starts every encoded sequence.
    public let clsToken: String, clsTokenId: Int
    /// The mask token (`[MASK]`), if the vocabulary has one.
    public let maskToken: String?, maskTokenId: Int?
    /// The beginning-of-sequence token: BLIP's `[DEC]` (30522), which starts text-decoder input.
    public let bosToken: String?, bosTokenId: Int?
    /// The end-of-sequence token id. BLIP has no eos token of its own and stops at `[SEP]`, so
    /// this is `sepTokenId` unless the files name an `eos_token`.
    public let eosTokenId: Int
    /// BLIP's `[ENC]` token id (30523), placed first in the text encoder's input for image-text
    /// matching; `nil` when the tokenizer was built without BLIP tokens and the files lack it.
    public let encTokenId: Int?
    /// Additional special tokens (`additional_special_tokens` / `extra_special_tokens`).
    public let additionalSpecialTokens: [String]
    /// `model_max_length` from tokenizer_config.json (nil when absent or "unlimited").
    public let modelMaxLength: Int?
    /// Whether ``decode(_:skipSpecialTokens:cleanUpTokenizationSpaces:)`` applies transformers'
    /// `clean_up_tokenization` by default (`clean_up_tokenization_spaces` in tokenizer_config.json;
    /// transformers 5 defaults to false).
    public let cleanUpTokenizationSpaces: Bool

    /// Number of base vocabulary entries (30522 for bert-base-uncased).
    public var baseVocabularySize: Int { vocabTokens.count }
    /// Base vocabulary plus added tokens (30524 for BLIP), like `len(tokenizer)` in transformers.
    public var count: Int { max(vocabTokens.count, (addedById.keys.max() ?? -1) + 1) }

    // MARK: - Loading

    /// Loads a tokenizer directory as saved by transformers: `tokenizer.json` when present,
    /// otherwise `vocab.txt`, together with `tokenizer_config.json` and `special_tokens_map.json`
    /// when present.
    ///
    /// - Parameter addBLIPTokens: when true (the default), make sure `[DEC]` is the bos token and
    ///   `[ENC]` an additional special token, appending them after the vocabulary (ids 30522 and
    ///   30523 for bert-base-uncased) if the files do not already define them, as BLIP does.
    /// - Throws: ``TokenizerError`` naming the offending file.
    public init(directory: URL, addBLIPTokens: Bool = true) throws {
        var files = TokenizerFiles()
        let fm = FileManager.default
        let json = directory.appendingPathComponent("tokenizer.json")
        let vocab = directory.appendingPathComponent("vocab.txt")
        let fromJSON = fm.fileExists(atPath: json.path)
        if fromJSON {
            try files.loadTokenizerJSON(json)
        } else if fm.fileExists(atPath: vocab.path) {
            try files.loadVocabText(vocab)
        } else {
            throw TokenizerError.noVocabulary(directory: directory.path)
        }
        let specialMap = directory.appendingPathComponent("special_tokens_map.json")
        if fm.fileExists(atPath: specialMap.path) { try files.loadSpecialTokensMap(specialMap) }
        let config = directory.appendingPathComponent("tokenizer_config.json")
        if fm.fileExists(atPath: config.path) {
            try files.loadTokenizerConfig(config, applyNormalizerFlags: !fromJSON)
        }
        try self.init(files: files, addBLIPTokens: addBLIPTokens)
    }

    /// Loads a BERT `vocab.txt` (one token a line; the line number is the id).
    ///
    /// - Parameters:
    ///   - lowercase: lower-case (and strip accents from) the input, as uncased BERT does.
    ///   - addBLIPTokens: append `[DEC]` (bos) and `[ENC]` after the vocabulary; see
    ///     ``init(directory:addBLIPTokens:)``.
    public init(vocabFile: URL, lowercase: Bool = true, addBLIPTokens: Bool = true) throws {
        var files = TokenizerFiles()
        try files.loadVocabText(vocabFile)
        files.basic.lowercase = lowercase
        try self.init(files: files, addBLIPTokens: addBLIPTokens)
    }

    /// Loads a Hugging Face fast-tokenizer file (`tokenizer.json`) with a WordPiece model: the
    /// vocabulary (`model.vocab`), `added_tokens`, and the `BertNormalizer` flags. Its `truncation`
    /// and `padding` sections are ignored; pass `maxLength` to ``encode(_:addSpecialTokens:maxLength:)``.
    public init(tokenizerJSON: URL, addBLIPTokens: Bool = true) throws {
        var files = TokenizerFiles()
        try files.loadTokenizerJSON(tokenizerJSON)
        try self.init(files: files, addBLIPTokens: addBLIPTokens)
    }

    init(files input: TokenizerFiles, addBLIPTokens: Bool) throws {
        var files = input
        if addBLIPTokens {
            if files.bosToken == nil { files.bosToken = "[DEC]" }
            if !files.additionalSpecial.contains("[ENC]") { files.additionalSpecial.append("[ENC]") }
        }
        var added = files.added
        // Special tokens: registered as special added tokens (so they are matched in text);
        // the required ones must exist, bos/eos/additional ones are appended when missing.
        func register(_ token: String, required: Bool, appendIfMissing: Bool) throws -> Int? {
            if let i = added.firstIndex(where: { $0.content.utf8.elementsEqual(token.utf8) }) {
                added[i].special = true
                return added[i].id
            }
            if let id = files.tokenToId[ArraySlice(Array(token.utf8))] {
                added.append(AddedToken(content: token, id: id, special: true))
                return id
            }
            if appendIfMissing {
                let next = max(files.idToToken.count, (added.map(\.id).max() ?? -1) + 1)
                added.append(AddedToken(content: token, id: next, special: true))
                return next
            }
            if required { throw TokenizerError.missingToken(token: token, path: files.vocabPath) }
            return nil
        }
        let unkId = try register(files.unkToken, required: true, appendIfMissing: false)!
        let sepId = try register(files.sepToken, required: true, appendIfMissing: false)!
        let padId = try register(files.padToken, required: true, appendIfMissing: false)!
        let clsId = try register(files.clsToken, required: true, appendIfMissing: false)!
        let maskId = try register(files.maskToken, required: false, appendIfMissing: false)
        let bosId = try files.bosToken.flatMap { try register($0, required: false, appendIfMissing: true) }
        let eosId = try files.eosToken.flatMap { try register($0, required: false, appendIfMissing: true) }
        for token in files.additionalSpecial {
            _ = try register(token, required: false, appendIfMissing: true)
        }

        basicTokenizer = files.basic
        vocabTokens = files.idToToken
        vocabIds = files.tokenToId
        addedTokens = added.sorted { $0.id < $1.id }
        var byId: [Int: AddedToken] = [:]
        var ids: [ArraySlice<UInt8>: Int] = [:]
        for t in addedTokens {
            byId[t.id] = t
            ids[ArraySlice(Array(t.content.utf8))] = t.id
        }
        addedById = byId
        addedIds = ids
        specialIds = Set(addedTokens.filter(\.special).map(\.id))
        let basic = files.basic
        rawMatcher = AddedTokenMatcher(addedTokens.filter { !$0.normalized })
        normalizedMatcher = AddedTokenMatcher(addedTokens.filter(\.normalized)) { basic.normalize($0) }
        continuationPrefix = files.continuingSubwordPrefix
        decoderCleanup = files.decoderCleanup
        wordPiece = WordPiece(vocab: files.tokenToId, prefix: files.continuingSubwordPrefix,
                              unkId: unkId, maxInputCharsPerWord: files.maxInputCharsPerWord)

        unkToken = files.unkToken; unkTokenId = unkId
        sepToken = files.sepToken; sepTokenId = sepId
        padToken = files.padToken; padTokenId = padId
        clsToken = files.clsToken; clsTokenId = clsId
        maskToken = maskId == nil ? nil : files.maskToken; maskTokenId = maskId
        bosToken = bosId == nil ? nil : files.bosToken; bosTokenId = bosId
        eosTokenId = eosId ?? sepId
        encTokenId = ids[ArraySlice(Array("[ENC]".utf8))]
        additionalSpecialTokens = files.additionalSpecial
        modelMaxLength = files.modelMaxLength
        cleanUpTokenizationSpaces = files.cleanUpTokenizationSpaces
    }

    // MARK: - Vocabulary

    /// The id of `token` (an added token or a vocabulary entry, compared byte for byte).
    public func id(of token: String) -> Int? {
        let key = ArraySlice(Array(token.utf8))
        return addedIds[key] ?? vocabIds[key]
    }

    /// The token of `id`, or nil for an id outside the vocabulary and added tokens.
    public func token(for id: Int) -> String? {
        if let t = addedById[id] { return t.content }
        return id >= 0 && id < vocabTokens.count ? vocabTokens[id] : nil
    }

    /// Whether `id` is a special token (dropped when decoding with `skipSpecialTokens`).
    public func isSpecial(_ id: Int) -> Bool { specialIds.contains(id) }

    // MARK: - Encoding

    /// Splits `text` into WordPiece tokens, without `[CLS]`/`[SEP]` (like transformers' `tokenize`).
    public func tokenize(_ text: String) -> [String] {
        encodeBody(text).map { token(for: $0) ?? unkToken }
    }

    /// Encodes `text` into token ids.
    ///
    /// - Parameters:
    ///   - addSpecialTokens: wrap the ids in `[CLS] … [SEP]` (the default, as transformers does).
    ///   - maxLength: truncate so the result (special tokens included) has at most this many ids,
    ///     dropping ids from the end of the text. As in transformers, a `maxLength` smaller than the
    ///     number of special tokens (or zero) does not truncate.
    public func encode(_ text: String, addSpecialTokens: Bool = true, maxLength: Int? = nil) -> [Int] {
        var body = encodeBody(text)
        let specials = addSpecialTokens ? 2 : 0
        if let maxLength, maxLength > 0, maxLength >= specials, body.count > maxLength - specials {
            body.removeSubrange((maxLength - specials)...)
        }
        guard addSpecialTokens else { return body }
        var ids = [clsTokenId]
        ids.reserveCapacity(body.count + 2)
        ids.append(contentsOf: body)
        ids.append(sepTokenId)
        return ids
    }

    /// Encodes several texts and pads them on the right with `[PAD]` to a common length.
    ///
    /// - Parameters:
    ///   - padToLength: pad to at least this length (like `padding="max_length"`); by default the
    ///     longest sequence's length (`padding=True`).
    /// - Returns: ids and attention masks (1 for real tokens, 0 for padding), one row per text.
    public func encodeBatch(_ texts: [String], addSpecialTokens: Bool = true, maxLength: Int? = nil,
                            padToLength: Int? = nil) -> BatchEncoding {
        let rows = texts.map { encode($0, addSpecialTokens: addSpecialTokens, maxLength: maxLength) }
        let width = max(rows.map(\.count).max() ?? 0, padToLength ?? 0)
        var ids: [[Int]] = []
        var mask: [[Int]] = []
        ids.reserveCapacity(rows.count)
        mask.reserveCapacity(rows.count)
        for row in rows {
            let pad = width - row.count
            ids.append(row + Array(repeating: padTokenId, count: pad))
            mask.append(Array(repeating: 1, count: row.count) + Array(repeating: 0, count: pad))
        }
        return BatchEncoding(inputIds: ids, attentionMask: mask)
    }

    private func encodeBody(_ text: String) -> [Int] {
        var ids: [Int] = []
        let scalars = Array(text.unicodeScalars)
        for piece in rawMatcher.split(scalars[...]) {
            switch piece {
            case .token(let id):
                ids.append(id)
            case .text(let raw):
                let normalized = basicTokenizer.normalize(Array(raw))
                for inner in normalizedMatcher.split(normalized[...]) {
                    switch inner {
                    case .token(let id):
                        ids.append(id)
                    case .text(let segment):
                        for word in basicTokenizer.split(Array(segment)) {
                            wordPiece.encode(word, into: &ids)
                        }
                    }
                }
            }
        }
        return ids
    }

    // MARK: - Decoding

    /// Turns ids back into text like transformers' `decode`: tokens are joined with spaces,
    /// `##` continuations are glued to the previous token, a space before `.`, `?`, `!` and `,`
    /// is removed (the WordPiece decoder's cleanup), and ids outside the vocabulary are ignored.
    ///
    /// - Parameters:
    ///   - skipSpecialTokens: drop special tokens (`[CLS]`, `[SEP]`, `[PAD]`, `[DEC]`, `[ENC]`, …).
    ///   - cleanUpTokenizationSpaces: also apply transformers' `clean_up_tokenization` to the whole
    ///     string (`" ' "` → `"'"`, `" 's"` → `"'s"`, `" n't"` → `"n't"`, …); defaults to
    ///     ``cleanUpTokenizationSpaces`` from the tokenizer config.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false,
                       cleanUpTokenizationSpaces: Bool? = nil) -> String {
        var out = ""
        var first = true
        for id in ids {
            if skipSpecialTokens && specialIds.contains(id) { continue }
            guard var piece = token(for: id) else { continue }
            if !first {
                if !continuationPrefix.isEmpty, piece.utf8.starts(with: continuationPrefix.utf8) {
                    piece = String(piece.unicodeScalars.dropFirst(continuationPrefix.unicodeScalars.count))
                } else {
                    piece = " " + piece
                }
            }
            if decoderCleanup { piece = Self.wordPieceCleanup(piece) }
            out += piece
            first = false
        }
        if cleanUpTokenizationSpaces ?? self.cleanUpTokenizationSpaces {
            out = Self.cleanUpTokenization(out)
        }
        return out
    }

    /// The WordPiece decoder's per-token cleanup (applied to each token with its leading space).
    static func wordPieceCleanup(_ s: String) -> String {
        guard s.utf8.first == 32 else { return s }  // every rule starts with a space
        return replacingAll(s, [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"),
                                (" n't", "n't"), (" 'm", "'m"), (" do not", " don't"), (" 's", "'s"),
                                (" 've", "'ve"), (" 're", "'re")])
    }

    /// transformers' `clean_up_tokenization` over the whole decoded string.
    public static func cleanUpTokenization(_ s: String) -> String {
        replacingAll(s, [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"),
                         (" n't", "n't"), (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")])
    }

    /// Sequential, non-overlapping, left-to-right literal replacements on UTF-8 bytes (Python's
    /// `str.replace` semantics; no canonical-equivalence matching).
    static func replacingAll(_ s: String, _ rules: [(String, String)]) -> String {
        var bytes = Array(s.utf8)
        for (from, to) in rules {
            let f = Array(from.utf8), t = Array(to.utf8)
            guard bytes.count >= f.count else { continue }
            var result: [UInt8] = []
            result.reserveCapacity(bytes.count)
            var i = 0
            var changed = false
            while i < bytes.count {
                if bytes[i] == f[0], i + f.count <= bytes.count, bytes[i..<(i + f.count)].elementsEqual(f) {
                    result.append(contentsOf: t)
                    i += f.count
                    changed = true
                } else {
                    result.append(bytes[i])
                    i += 1
                }
            }
            if changed { bytes = result }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Padded token ids and attention masks for a batch of texts.
public struct BatchEncoding: Sendable, Equatable {
    /// One row of ids per text, padded on the right with `[PAD]`.
    public var inputIds: [[Int]]
    /// 1 for real tokens, 0 for padding.
    public var attentionMask: [[Int]]
}
