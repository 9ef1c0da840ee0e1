import ArgumentParser
import BLIP
import BLIPHub
import Foundation

/// `blip bench`: times our engine on a model directory (used by scripts/benchmark.py).
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time the vision encoder, captioning, VQA or ITM/ITC on a model directory (prints JSON).")

    enum Task: String, ExpressibleByArgument, CaseIterable { case caption, vqa, itm, blip2 }

    @Option(name: .long, help: "Model directory or hub id (OWNER/NAME[@REVISION]).")
    var model: String

    @Option(name: .long, help: ArgumentHelp(
        "Model kind: caption (BlipForConditionalGeneration), vqa, itm, blip2 (Blip2ForConditionalGeneration).",
        discussion: "Default: from config.json's architectures."))
    var task: Task?

    @Option(name: .long, help: "Repetitions of each measurement (the median is reported).")
    var repeats = 3

    @OptionGroup var threadsOption: ThreadsOption

    @Option(help: "Precision of the Linear weights: fp32, bf16 or int8.")
    var precision: Precision = .fp32

    @Option(name: .long, help: """
        Comma-separated measurements. caption: vision, greedy, beam3, parts, throughput; vqa: vqa; \
        itm: itm, itc, itm16, parts; blip2: vision, greedy, bandwidth (memory read GB/s).
        """)
    var only = "vision,greedy,beam3"

    @Option(name: .long, help: "throughput: a folder of photos to caption (greedy, exactly 20 new tokens).")
    var images: String?

    @Option(name: .customLong("batch-sizes"), help: "throughput: comma-separated batch sizes.")
    var batchSizes = "1,8,16,32"

    /// The question and texts both engines use (scripts/benchmark.py sends the same ones).
    static let question = "what is the man holding in his hand?"
    static let text = "a man in a space suit holding a flag"

    /// The task a model directory's config.json names in `architectures`.
    static func task(of directory: URL) throws -> Task {
        if Blip2Config.isBlip2(directory: directory) { return .blip2 }
        let architectures = try BlipConfig.load(directory: directory).architectures ?? []
        if architectures.contains("BlipForConditionalGeneration") { return .caption }
        if architectures.contains("BlipForQuestionAnswering") { return .vqa }
        if architectures.contains("BlipForImageTextRetrieval") { return .itm }
        throw ValidationError("\(directory.path)/config.json names no BLIP task in \"architectures\" "
            + "(\(architectures)); give --task caption, vqa or itm")
    }

    func validate() throws {
        if !(1...1000).contains(repeats) { throw ValidationError("--repeats must be between 1 and 1000, got \(repeats)") }
        if only.split(separator: ",").contains("throughput") && images == nil {
            throw ValidationError("--only throughput needs --images FOLDER")
        }
        _ = try parsedBatchSizes()
    }

    func run() throws {
        try reportingErrors {
            let directory = try ModelResolver.resolve(model)
            try measure(directory: directory, task: task ?? Self.task(of: directory))
        }
    }

    private func measure(directory: URL, task: Task) throws {
        let wanted = Set(only.split(separator: ",").map(String.init))
        var timer = BenchTimer(repeats: repeats)
        timer.result["task"] = task.rawValue
        timer.result["threads"] = threadsOption.compute.threads
        timer.result["cpu"] = cpuDescription()
        timer.result["kernels"] = Parallel.kernelPath
        timer.result["precision"] = precision.rawValue
        timer.result["lowp_kernels"] = WeightMatrix.kernelPath
        let t0 = Date()
        switch task {
        case .caption:
            let captioner = try BlipCaptioner(modelDirectory: directory, precision: precision, compute: threadsOption.compute)
            timer.result["load_s"] = Date().timeIntervalSince(t0)
            try benchCaption(captioner.model, wanted: wanted, timer: &timer)
            if wanted.contains("throughput") { try benchThroughput(captioner, timer: &timer) }
        case .vqa:
            let vqa = try BlipQuestionAnswerer(modelDirectory: directory, precision: precision)
            timer.result["load_s"] = Date().timeIntervalSince(t0)
            let pixels = randomPixels(size: vqa.model.config.visionConfig.imageSize)
            var options = GenerationOptions()
            options.maxNewTokens = 10
            options.minNewTokens = 10
            if wanted.contains("vqa") {
                // Vision included: one image, one question, exactly 10 new tokens, greedy.
                try timer.measure("vqa10_s") {
                    _ = try vqa.answer(Self.question, image: vqa.encode(pixelValues: pixels), options: options)
                }
            }
        case .itm:
            try benchRetrieval(directory: directory, wanted: wanted, timer: &timer, loadStart: t0)
        case .blip2:
            try benchBlip2(directory: directory, wanted: wanted, timer: &timer, loadStart: t0)
        }
        timer.result["peak_rss_bytes"] = peakResidentBytes()
        let data = try JSONSerialization.data(withJSONObject: timer.result, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }

    private func benchCaption(_ model: BlipForConditionalGeneration, wanted: Set<String>,
                              timer: inout BenchTimer) throws {
        let pixels = randomPixels(size: model.config.visionConfig.imageSize)
        if wanted.contains("vision") {
            timer.measure("vision_s") { _ = model.imageEmbeddings(pixels) }
        }
        if wanted.contains("parts") {
            // Breakdown: cross-attention keys/values once per image, then one decode step.
            let embeds = model.imageEmbeddings(pixels)
            let decoder = model.textDecoder
            timer.measure("cross_kv_s") { _ = decoder.bert.crossAttentionKeysValues(embeds) }
            let cross = decoder.bert.crossAttentionKeysValues(embeds)
            timer.measure("decode_21_tokens_s") {
                var cache = decoder.makeCache(batch: 1, capacity: 32)
                _ = decoder.nextTokenLogits([[30522]], cache: &cache, cross: cross)
                for _ in 0..<20 { _ = decoder.nextTokenLogits([[1037]], cache: &cache, cross: cross) }
            }
        }
        var options = GenerationOptions()
        options.maxNewTokens = 20
        options.minNewTokens = 20
        if wanted.contains("greedy") {
            try timer.measure("greedy20_s") { _ = try model.generate(pixelValues: pixels, options: options) }
        }
        if wanted.contains("beam3") {
            options.numBeams = 3
            try timer.measure("beam3_20_s") { _ = try model.generate(pixelValues: pixels, options: options) }
        }
    }
}

/// Medians of repeated measurements, collected as JSON fields.
struct BenchTimer {
    let repeats: Int
    var result: [String: Any] = [:]

    /// Runs `body` once to warm up (pages in the mapped weights), then `repeats` times; records the
    /// median in seconds under `key`.
    mutating func measure(_ key: String, _ body: () throws -> Void) rethrows {
        try body()
        var times = [Double]()
        for _ in 0..<max(1, repeats) {
            let start = Date()
            try body()
            times.append(Date().timeIntervalSince(start))
        }
        result[key] = times.sorted()[times.count / 2]
    }
}

/// Random pixel values [1, 3, size, size] in the normalised range.
func randomPixels(size: Int) -> Tensor {
    var rng = SystemRandomNumberGenerator()
    return Tensor((0..<(3 * size * size)).map { _ in Float.random(in: -1.5...1.5, using: &rng) },
                  shape: [1, 3, size, size])
}

/// The CPU model and the kernel path the SIMD kernels take (as `blip bench` prints it).
func cpuDescription() -> String {
    var model = "unknown CPU"
    if let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
       let line = info.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
       let colon = line.firstIndex(of: ":") {
        model = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    return model
}

/// Peak resident set size of this process (VmHWM on Linux), in bytes.
func peakResidentBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        // "VmHWM:\t  123456 kB": the padding shrinks as the number grows (none at 8 digits).
        let kb = line.dropFirst("VmHWM:".count).split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { Int($0) }.first ?? 0
        return kb * 1024
    }
    return 0
}
