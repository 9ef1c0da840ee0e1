import ArgumentParser
import BLIP
import Foundation

/// `blip caption`: one caption per image.
struct CaptionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "caption", abstract: "Caption images (BlipForConditionalGeneration).")

    @OptionGroup var modelOption: ModelOption<CaptionModel>

    @Option(help: "Conditional captioning prompt, e.g. \"a picture of\".")
    var prompt: String?

    @Option(parsing: .unconditional, help: "Beam search width (1: greedy or sampling).")
    var beams: Int?

    @Option(name: .customLong("max-new-tokens"), parsing: .unconditional, help: "New tokens at most (default 20, or generation_config.json).")
    var maxNewTokens: Int?

    @Option(name: .customLong("min-new-tokens"), parsing: .unconditional, help: "New tokens before the caption may end.")
    var minNewTokens: Int?

    @Flag(help: "Sample (multinomial) instead of greedy decoding.")
    var sample = false

    @Option(name: .customLong("top-k"), parsing: .unconditional, help: "Sampling: keep the K most likely tokens (default 50, 0: off).")
    var topK: Int?

    @Option(name: .customLong("top-p"), parsing: .unconditional, help: "Sampling: nucleus probability mass (default 1: off).")
    var topP: Double?

    @Option(parsing: .unconditional, help: "Sampling temperature (default 1).")
    var temperature: Double?

    @Option(parsing: .unconditional, help: "Seed for sampling (reproducible output).")
    var seed: UInt64?

    @Option(name: .customLong("repetition-penalty"), parsing: .unconditional, help: "Penalty for repeated tokens (1: off).")
    var repetitionPenalty: Double?

    @Option(name: .customLong("length-penalty"), parsing: .unconditional, help: "Beam search length penalty (default 1).")
    var lengthPenalty: Double?

    @Option(name: .customLong("num-return-sequences"), parsing: .unconditional, help: "Captions per image (beam search or sampling).")
    var numReturnSequences: Int?

    @Flag(name: .customLong("strip-prompt"), help: "Remove the prompt from the caption text, as the official BLIP code does.")
    var stripPrompt = false

    @Flag(help: "One JSON object per line: {\"image\", \"caption\", \"token_ids\"}.")
    var json = false

    @Option(name: .customLong("batch-size"), parsing: .unconditional, help: "Images encoded together.")
    var batchSize = 4

    @OptionGroup var imageOptions: ImageInputOptions

    @Argument(help: "Image files (JPEG, PNG, WebP), folders (their image files, recursively) or - (standard input).")
    var images: [String]

    func validate() throws {
        if images.isEmpty { throw ValidationError("give at least one image") }
        try ImageInputOptions.checkStandardInput(images)
        try checkOption("--batch-size", batchSize, 1...OptionLimits.maxBatchSize)
        try checkGenerationFlags(beams: beams, maxNewTokens: maxNewTokens, minNewTokens: minNewTokens,
                                 numReturnSequences: numReturnSequences)
        try checkOption("--top-k", topK, 0...Int.max)
        try checkOption("--top-p", topP, "a number in (0, 1]") { $0 > 0 && $0 <= 1 }
        try checkOption("--temperature", temperature, "a finite number > 0") { $0 > 0 }
        try checkOption("--repetition-penalty", repetitionPenalty, "a finite number > 0") { $0 > 0 }
        try checkOption("--length-penalty", lengthPenalty, "a finite number")
    }

    func options(defaults: GenerationOptions) -> CaptionOptions {
        var g = defaults
        if let beams { g.numBeams = beams }
        if let maxNewTokens { g.maxNewTokens = maxNewTokens }
        if let minNewTokens { g.minNewTokens = minNewTokens }
        if sample { g.doSample = true }
        if let topK { g.topK = topK }
        if let topP { g.topP = topP }
        if let temperature { g.temperature = temperature }
        if let seed { g.seed = seed }
        if let repetitionPenalty { g.repetitionPenalty = repetitionPenalty }
        if let lengthPenalty { g.lengthPenalty = lengthPenalty }
        if let numReturnSequences { g.numReturnSequences = numReturnSequences }
        return CaptionOptions(prompt: prompt, stripPrompt: stripPrompt, generation: g)
    }

    func run() throws {
        try reportingErrors {
            let directory = try modelOption.url
            if Blip2Config.isBlip2(directory: directory) { return try runBlip2(directory) }
            let captioner = try BlipCaptioner(modelDirectory: directory, precision: modelOption.precision, compute: modelOption.compute)
            let options = options(defaults: captioner.defaultGeneration)
            if !options.generation.doSample {
                let ignored = [("--top-k", topK != nil), ("--top-p", topP != nil), ("--temperature", temperature != nil),
                               ("--seed", seed != nil)].filter(\.1).map(\.0)
                if !ignored.isEmpty {
                    printError("warning: \(ignored.joined(separator: ", ")) only apply when sampling (--sample); ignored")
                }
            }
            try options.generation.validate()
            let images = ImageInputOptions.expand(self.images)
            if images.isEmpty { throw ValidationError("no image files in \(self.images.joined(separator: ", "))") }
            let output = ResultPrinter(json: json,
                                       prefixWithImage: images.count > 1 || options.generation.numReturnSequences > 1)
            // Progress when the captions go to a file or pipe (on a terminal they would interleave).
            let progress = images.count > batchSize && isatty(STDOUT_FILENO) == 0 ? ProgressReporter(unit: "images") : nil
            var done = 0
            defer { progress?.finish() }
            // Decoding and preprocessing of the next batch overlap the model's work on this one.
            var failures = 0
            try captioner.captionBatches(images, batchSize: batchSize, options: options,
                                         load: imageOptions.loader) { results in
                done += results.count
                progress?.update(done: done, total: images.count)
                for result in results {
                    switch result.captions {
                    case let .success(captions):
                        for caption in captions {
                            try output.result(image: result.source, text: caption.text,
                                              fields: ["caption": caption.text, "token_ids": caption.tokenIds])
                        }
                    case let .failure(error):
                        failures += 1
                        try output.failure(image: result.source, error)
                    }
                }
            }
            if failures > 0 { throw ExitCode(1) }
        }
    }

    /// BLIP-2 models (OPT): one image at a time through `Blip2Captioner`; `--prompt` is a prefix
    /// the output repeats (e.g. "Question: what is this? Answer:"), as transformers returns it.
    func runBlip2(_ directory: URL) throws {
        let captioner = try Blip2Captioner(modelDirectory: directory, precision: modelOption.precision, compute: modelOption.compute)
        let options = options(defaults: captioner.defaultGeneration).generation
        try options.validate()
        let images = ImageInputOptions.expand(self.images)
        if images.isEmpty { throw ValidationError("no image files in \(self.images.joined(separator: ", "))") }
        let output = ResultPrinter(json: json, prefixWithImage: images.count > 1 || options.numReturnSequences > 1)
        var failures = 0
        for path in images {
            do {
                for text in try captioner.generate(try imageOptions.load(path), prompt: prompt, options: options) {
                    try output.result(image: path, text: text, fields: ["caption": text])
                }
            } catch {
                failures += 1
                try output.failure(image: path, error)
            }
        }
        if failures > 0 { throw ExitCode(1) }
    }
}
