import ArgumentParser
import BLIP
import BLIPHub
import Foundation

/// Writes one line to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Runs `body`, turning any thrown error into one clear line on stderr and exit status 1.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ExitCode {
        throw error
    } catch {
        printError("error: \(describe(error))")
        throw ExitCode(1)
    }
}

/// A one-line description of an error (our errors describe themselves).
func describe(_ error: Error) -> String {
    if let e = error as? LocalizedError, let d = e.errorDescription { return d }
    return String(describing: error)
}

/// Prints a JSON object on one line with stable key order.
func printJSONLine(_ object: [String: Any]) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    print(String(decoding: data, as: UTF8.self))
}

/// The hub id a command uses when `--model` is not given, and the task an official `.pth`
/// checkpoint is read as.
protocol DefaultModel {
    static var id: String { get }
    static var task: OfficialBlipCheckpoint.Task { get }
}

/// caption, tokenize, preprocess, dump: the captioning base model.
enum CaptionModel: DefaultModel {
    static var id: String { ModelResolver.defaultModel }
    static var task: OfficialBlipCheckpoint.Task { .caption }
}
/// vqa: the VQA base model.
enum VQAModel: DefaultModel {
    static var id: String { ModelResolver.defaultVQAModel }
    static var task: OfficialBlipCheckpoint.Task { .vqa }
}
/// match, embed, index: the retrieval (ITM) base model.
enum RetrievalModel: DefaultModel {
    static var id: String { ModelResolver.defaultRetrievalModel }
    static var task: OfficialBlipCheckpoint.Task { .itm }
}

/// The model option shared by every command: a local directory or a hub id, with the command's
/// own default (`Default`), which its `--help` names.
struct ModelOption<Default: DefaultModel>: ParsableArguments {
    @OptionGroup var threadsOption: ThreadsOption

    @Option(help: ArgumentHelp(
        "Precision of the model's Linear weights: fp32, bf16 or int8.",
        discussion: "fp32 (default) equals transformers; bf16 and int8 are faster and smaller, with the errors the "
            + "README's Precision section lists."))
    var precision: Precision = .fp32

    @Option(name: .long, help: ArgumentHelp(
        "Model directory, or hub id OWNER/NAME[@REVISION] (an existing directory wins).",
        discussion: "Default: \(Default.id). "
            + "Hub ids resolve through the Hugging Face cache (HF_HUB_CACHE, HF_HOME); missing files are "
            + "downloaded from HF_ENDPOINT with HF_TOKEN; HF_HUB_OFFLINE=1 uses the cache only."))
    var model: String?

    @Option(name: .customLong("tokenizer"), help: ArgumentHelp(
        "With an official .pth checkpoint as --model: the directory or hub id whose tokenizer files to use.",
        discussion: "Default: the tokenizer files of \(Default.id) (fetched without its weights)."))
    var tokenizer: String?

    @Option(name: .customLong("config"), help: ArgumentHelp(
        "With an official .pth checkpoint as --model: its transformers config.json (or a directory holding one).",
        discussion: "Default: a config chosen from the checkpoint's shapes (64-wide attention heads, as released BLIP models)."))
    var checkpointConfig: String?

    /// The model directory: `model` when it is a local path, else the hub snapshot (downloaded if
    /// needed); the command's default model when `--model` is not given. An official `.pth`
    /// checkpoint is converted once (see `blip convert`) and its converted directory returned.
    var url: URL { get throws { try url(default: Default.id) } }

    /// As `url`, with another default hub id (a command whose task picks the model kind).
    func url(default id: String) throws -> URL {
        let resolved = try ModelResolver.resolve(model ?? id)
        guard OfficialBlipCheckpoint.isCheckpointFile(resolved) else { return resolved }
        return try OfficialBlipCheckpoint.convertedDirectory(
            for: resolved, task: Default.task, config: checkpointConfig.map(loadConfigArgument),
            tokenizerDirectory: ModelResolver.resolveTokenizer(tokenizer ?? Default.id))
    }
}

/// `--config`: a config.json file, or a directory holding one.
func loadConfigArgument(_ path: String) throws -> BlipConfig {
    let url = URL(fileURLWithPath: (path as NSString).expandingTildeInPath)
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
        return try BlipConfig.load(directory: url)
    }
    return try BlipConfig.load(file: url)
}

/// Loads `paths` in batches of `batchSize` (handing each unreadable image to `onFailure`, by
/// default a line on stderr, and going on) and hands each batch of decoded images to `body`
/// (the next batch is decoded meanwhile); returns how many images failed to load.
func forEachImageBatch(_ paths: [String], batchSize: Int, options: ImageInputOptions,
                       onFailure: (String, Error) throws -> Void = { _, error in printError("error: \(describe(error))") },
                       _ body: ([(path: String, image: RGBImage)]) throws -> Void) throws -> Int {
    var failures = 0
    let size = max(1, batchSize)
    let batches = stride(from: 0, to: paths.count, by: size).map { Array(paths[$0..<min($0 + size, paths.count)]) }
    let load = options.loader
    // The next batch is decoded on a background thread while `body` works on this one.
    try forEachPrepared(batches.count, prepare: { b in batches[b].map { path in (path, Result { try load(path) }) } }) { _, batch in
        var loaded = [(path: String, image: RGBImage)]()
        for (path, result) in batch {
            switch result {
            case let .success(image): loaded.append((path, image))
            case let .failure(error):
                try onFailure(path, error)
                failures += 1
            }
        }
        if !loaded.isEmpty { try body(loaded) }
    }
    return failures
}

/// Bounds of the CLI's numeric options, checked before any model loads (the library checks the
/// same generation limits again, with the checkpoint's defaults applied).
enum OptionLimits {
    /// `--batch-size` at most (images or texts encoded together).
    static let maxBatchSize = 1_024
}

/// Throws a `ValidationError` ("--beams must be at least 1, got -1") unless `value` is in `range`.
func checkOption(_ flag: String, _ value: Int?, _ range: ClosedRange<Int>) throws {
    guard let value else { return }
    if value < range.lowerBound { throw ValidationError("\(flag) must be at least \(range.lowerBound), got \(value)") }
    if value > range.upperBound { throw ValidationError("\(flag) must be at most \(range.upperBound), got \(value)") }
}

/// Throws a `ValidationError` unless `value` is finite and satisfies `rule` (described by `what`,
/// e.g. "a number > 0").
func checkOption(_ flag: String, _ value: Double?, _ what: String, _ rule: (Double) -> Bool = { _ in true }) throws {
    guard let value else { return }
    guard value.isFinite, rule(value) else { throw ValidationError("\(flag) must be \(what), got \(value)") }
}

/// The generation flags shared by `caption` and `vqa`, checked one by one (and min ≤ max when
/// both are given).
func checkGenerationFlags(beams: Int?, maxNewTokens: Int?, minNewTokens: Int?, numReturnSequences: Int? = nil) throws {
    try checkOption("--beams", beams, 1...GenerationOptions.maxBeams)
    try checkOption("--num-return-sequences", numReturnSequences, 1...GenerationOptions.maxBeams)
    try checkOption("--max-new-tokens", maxNewTokens, 1...GenerationOptions.maxTokens)
    try checkOption("--min-new-tokens", minNewTokens, 0...GenerationOptions.maxTokens)
    if let minNewTokens, let maxNewTokens, minNewTokens > maxNewTokens {
        throw ValidationError("--min-new-tokens (\(minNewTokens)) must not exceed --max-new-tokens (\(maxNewTokens))")
    }
}
