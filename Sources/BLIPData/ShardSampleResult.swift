import Foundation

/// What one input sample becomes: its scored texts, its output rows and its counts.
struct ShardSampleResult {
    let loaded: LoadedSample
    let texts: [ScoredText]
    let options: CapFiltOptions
    let shardName: String

    init(loaded: LoadedSample, texts: [ScoredText], options: CapFiltOptions, shardName: String) {
        self.loaded = loaded
        self.texts = selectTexts(texts, options: options)
        self.options = options
        self.shardName = shardName
    }

    var sample: DatasetSample { loaded.sample }

    /// Why the web caption is not among the texts, if it is not.
    var captionError: String? {
        if let e = sample.captionError { return e }
        if loaded.failure == nil, !texts.contains(where: { $0.source == .web }) { return "empty caption" }
        return nil
    }

    var best: ScoredText? { bestKept(texts, rankBy: options.rankBy) }

    func count(into stats: inout ShardStats) {
        stats.samples += 1
        if let failure = loaded.failure {
            stats.failed += 1
            stats.failures[failure.status, default: 0] += 1
            return
        }
        if captionError != nil { stats.captionErrors += 1 }
        for t in texts {
            switch t.source {
            case .web:
                stats.webTotal += 1
                if t.kept { stats.webKept += 1 }
            case .synthetic:
                stats.syntheticTotal += 1
                if t.kept { stats.syntheticKept += 1 }
            }
        }
    }

    /// The record plus what CapFilt found (`KEY.json` and the meta row).
    func record() -> [String: JSONValue] {
        var r = sample.record
        r["key"] = .string(sample.key)
        r["status"] = .string(loaded.failure?.status ?? "success")
        if let failure = loaded.failure { r["error"] = .string(failure.error) }
        if let e = captionError { r["caption_error"] = .string(e) }
        r["web_caption"] = sample.caption.map(JSONValue.string) ?? .null
        if loaded.failure == nil {
            r["synthetic_captions"] = .array(texts.filter { $0.source == .synthetic }.map { .string($0.text) })
            r["texts"] = .array(texts.map { t in
                .object(["text": .string(t.text), "source": .string(t.source.rawValue), "itm": .double(t.itm),
                         "itc": .double(t.itc), "kept": .bool(t.kept)])
            })
            r["caption"] = best.map { .string($0.text) } ?? .null
        }
        return r
    }

    func metaLine() -> Data { JSONValue.object(record()).jsonLine() + Data("\n".utf8) }

    /// The image member's name in the output shard.
    var imageMember: String { "\(sample.key).\(loaded.ext ?? "jpg")" }

    /// `KEY.ext` (bytes untouched), `KEY.txt` (the best kept text), `KEY.json`; nil for a failed
    /// sample or one with no kept text.
    func tarMembers() -> [(String, Data)]? {
        guard loaded.failure == nil, let bytes = loaded.bytes, let best else { return nil }
        return [(imageMember, bytes), ("\(sample.key).txt", Data(best.text.utf8)),
                ("\(sample.key).json", JSONValue.object(record()).jsonLine())]
    }

    /// One `{"image", "caption", "source"}` line per kept text, the form BLIP's pretraining
    /// dataset reads; `image` is the record's own path when it had one, else the member in the
    /// output shard (`00042.tar/KEY.jpg`).
    func trainingLines() -> Data {
        let image: String
        switch sample.image {
        case .file(let path): image = path
        default: image = "\(shardName).tar/\(imageMember)"
        }
        var out = Data()
        for t in texts where t.kept {
            out += JSONValue.object(["image": .string(image), "caption": .string(t.text), "source": .string(t.source.rawValue),
                                     "key": .string(sample.key)]).jsonLine()
            out += Data("\n".utf8)
        }
        return out
    }
}
