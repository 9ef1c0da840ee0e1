import ArgumentParser
import BLIP
import Foundation

/// `blip bench`: times our engine on a model directory (used by scripts/benchmark.py).
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Time the vision encoder and caption generation (prints JSON).")

    @Option(name: .long, help: "Model directory (config.json + model.safetensors).")
    var model: String

    @Option(name: .long, help: "Repetitions of each measurement (the median is reported).")
    var repeats = 3

    @Option(name: .long, help: "Threads (default: all cores).")
    var threads: Int?

    @Option(name: .long, help: "Comma-separated measurements: vision, greedy, beam3.")
    var only = "vision,greedy,beam3"

    func run() throws {
        if let threads { Parallel.threads = threads }
        let t0 = Date()
        let model = try BlipForConditionalGeneration(directory: URL(fileURLWithPath: self.model))
        let loadSeconds = Date().timeIntervalSince(t0)
        let size = model.config.visionConfig.imageSize
        var rng = SystemRandomNumberGenerator()
        let pixels = Tensor((0..<(3 * size * size)).map { _ in Float.random(in: -1.5...1.5, using: &rng) },
                            shape: [1, 3, size, size])
        var result: [String: Any] = ["load_s": loadSeconds]
        func median(_ body: () throws -> Void) rethrows -> Double {
            try body()  // warm-up (page in the mapped weights)
            var times = [Double]()
            for _ in 0..<repeats {
                let s = Date()
                try body()
                times.append(Date().timeIntervalSince(s))
            }
            return times.sorted()[times.count / 2]
        }
        let wanted = Set(only.split(separator: ",").map(String.init))
        if wanted.contains("vision") {
            result["vision_s"] = median { _ = model.imageEmbeddings(pixels) }
        }
        if wanted.contains("parts") {
            // Breakdown: cross-attention keys/values once per image, then one decode step.
            let embeds = model.imageEmbeddings(pixels)
            let decoder = model.textDecoder
            result["cross_kv_s"] = median { _ = decoder.bert.crossAttentionKeysValues(embeds) }
            let cross = decoder.bert.crossAttentionKeysValues(embeds)
            result["decode_token_ms"] = median {
                var cache = decoder.makeCache(batch: 1, capacity: 32)
                _ = decoder.nextTokenLogits([[30522]], cache: &cache, cross: cross)
                let s = Date()
                for _ in 0..<20 { _ = decoder.nextTokenLogits([[1037]], cache: &cache, cross: cross) }
                _ = s
            } * 1000 / 21
        }
        var options = GenerationOptions()
        options.maxNewTokens = 20
        options.minNewTokens = 20
        if wanted.contains("greedy") {
            result["greedy20_s"] = try median { _ = try model.generate(pixelValues: pixels, options: options) }
        }
        if wanted.contains("beam3") {
            options.numBeams = 3
            result["beam3_20_s"] = try median { _ = try model.generate(pixelValues: pixels, options: options) }
        }
        result["peak_rss_bytes"] = peakResidentBytes()
        let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}

/// Peak resident set size of this process (VmHWM on Linux), in bytes.
func peakResidentBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
        return kb * 1024
    }
    return 0
}
