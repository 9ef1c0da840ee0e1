import Foundation

/// The added tokens of a `tokenizers` tokenizer with the ids `AddedVocabulary::add_tokens` gives
/// them (the ids written in the files are not authoritative): the vocabulary id when the content
/// is in the vocabulary, else the next id after the vocabulary and the earlier added tokens. Shared
/// by the byte-level BPE and the SentencePiece Unigram tokenizers.
struct AddedVocabulary {
    /// Ids by content.
    private(set) var ids: [[UInt8]: Int] = [:]
    /// Tokens by id.
    private(set) var byId: [Int: BPEAddedToken] = [:]
    /// Contents of the special ones.
    private(set) var special = Set<[UInt8]>()
    let vocabIds: [[UInt8]: Int]
    let vocabCount: Int

    init(vocabIds: [[UInt8]: Int], vocabCount: Int) {
        self.vocabIds = vocabIds
        self.vocabCount = vocabCount
    }

    /// Whether an added token with the same content and flags is there already.
    func contains(_ t: BPEAddedToken) -> Bool {
        ids[Array(t.content.utf8)].flatMap { byId[$0] }.map { $0.hasSameDefinition(as: t) } ?? false
    }

    /// One `add_tokens` call.
    mutating func add(_ list: [BPEAddedToken]) {
        var next = byId.keys.max().map { $0 >= vocabCount || vocabCount == 0 ? $0 + 1 : vocabCount } ?? vocabCount
        for var token in list where !token.content.isEmpty && !contains(token) {
            let key = Array(token.content.utf8)
            if let id = ids[key] ?? vocabIds[key] {
                token.id = id
            } else {
                token.id = next
                next += 1
            }
            ids[key] = token.id
            byId[token.id] = token
            if token.special { special.insert(key) }
        }
    }

    /// transformers' second call, after tokenizer.json's own: the configs' added tokens (special
    /// when a named token spells them), the named special tokens, the extra special ones and
    /// `extras` (T5's `<extra_id_N>`), each content once. Returns the named tokens' ids.
    mutating func addConfigTokens(named: [String: String], namedContents: [String], configAdded: [BPEAddedToken],
                                  extraSpecial: [String], extras: [BPEAddedToken] = []) -> [String: Int] {
        var toAdd: [BPEAddedToken] = []
        for var token in configAdded where !contains(token) {
            if namedContents.contains(token.content) { token.special = true }
            toAdd.append(token)
        }
        var seen = Set(ids.keys).union(toAdd.map { Array($0.content.utf8) })
        for content in namedContents + extraSpecial where seen.insert(Array(content.utf8)).inserted {
            toAdd.append(BPEAddedToken(content: content, id: -1, special: true, normalized: false))
        }
        for token in extras where seen.insert(Array(token.content.utf8)).inserted { toAdd.append(token) }
        add(toAdd)
        var namedIds: [String: Int] = [:]
        for key in ByteLevelBPEFiles.namedKeys {
            if let content = named[key], !content.isEmpty {
                namedIds[key] = ids[Array(content.utf8)] ?? vocabIds[Array(content.utf8)]
            }
        }
        return namedIds
    }

    /// The tokens in id order.
    var sorted: [BPEAddedToken] { byId.values.sorted { $0.id < $1.id } }
}
