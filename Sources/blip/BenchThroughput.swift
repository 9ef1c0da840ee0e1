import ArgumentParser
import BLIP
import Foundation

extension BenchCommand {
    /// `--batch-sizes` as numbers (each in 1...1024).
    func parsedBatchSizes() throws -> [Int] {
        let sizes = batchSizes.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !sizes.isEmpty, sizes.allSatisfy({ $0.map { (1...OptionLimits.maxBatchSize).contains($0) } ?? false }) else {
            throw ValidationError("--batch-sizes must be comma-separated numbers in 1...\(OptionLimits.maxBatchSize), got \(batchSizes)")
        }
        return sizes.compactMap { $0 }
    }

    /// Caption throughput over the photos of `--images` (what `blip caption --batch-size N` runs:
    /// decoding and preprocessing of the next batch overlapping the model, greedy, exactly 20
    /// new tokens): images per second for each batch size, model load excluded.
    func benchThroughput(_ captioner: BlipCaptioner, timer: inout BenchTimer) throws {
        let files = ImageInputOptions.expand([images ?? "."]).map { URL(fileURLWithPath: $0) }
        guard !files.isEmpty else { throw ValidationError("no image files in \(images ?? ".")") }
        var options = captioner.defaultOptions
        options.generation = GenerationOptions()
        options.generation.maxNewTokens = 20
        options.generation.minNewTokens = 20
        // Warm-up: page in the weights and the code paths.
        try captioner.captionFiles(Array(files.prefix(1)), batchSize: 1, options: options) { _ in }
        var rates: [String: Double] = [:]
        for size in try parsedBatchSizes() {
            let start = Date()
            var failed = 0
            try captioner.captionFiles(files, batchSize: size, options: options) { results in
                failed += results.filter { (try? $0.captions.get()) == nil }.count
            }
            if failed > 0 { throw ValidationError("\(failed) of the photos in \(images ?? ".") could not be read") }
            rates[String(size)] = Double(files.count) / Date().timeIntervalSince(start)
        }
        timer.result["throughput_images"] = files.count
        timer.result["throughput_images_per_s"] = rates
    }
}
