import BLIP
import Foundation

extension BenchCommand {
    /// BLIP-2 timings (OPT or Flan-T5 models): vision + Q-Former + projection, and a greedy
    /// caption of exactly 20 new tokens (vision included), on random pixels, no prompt (T5:
    /// the prompt "</s>", id 1).
    func benchBlip2(directory: URL, wanted: Set<String>, timer: inout BenchTimer, loadStart: Date) throws {
        let model = try Blip2ForConditionalGeneration(directory: directory, precision: precision, compute: threadsOption.compute)
        timer.result["load_s"] = Date().timeIntervalSince(loadStart)
        let pixels = randomPixels(size: model.config.visionConfig.imageSize)
        if wanted.contains("vision") {
            try timer.measure("vision_qformer_s") { _ = try model.imageEncoder.encode(pixelValues: pixels) }
        }
        var options = GenerationOptions()
        options.maxNewTokens = 20
        options.minNewTokens = 20
        var prompt: [Int] = []
        if case .t5(let t5) = model.languageModel { prompt = [t5.config.eosTokenId] }
        if wanted.contains("greedy") {
            try timer.measure("greedy20_s") { _ = try model.generate(pixelValues: pixels, prompt: prompt, options: options) }
        }
    }
}
