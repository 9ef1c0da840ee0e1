import BLIP
import Foundation

extension BenchCommand {
    /// BLIP-2 timings (OPT or Flan-T5 models): vision + Q-Former + projection, and a greedy
    /// caption of exactly 20 new tokens (vision included), on random pixels, no prompt (T5:
    /// the prompt "</s>", id 1).
    func benchBlip2(directory: URL, wanted: Set<String>, timer: inout BenchTimer, loadStart: Date) throws {
        if wanted.contains("bandwidth") {  // before the model: measure it alone for clean RSS rows
            timer.result["read_bandwidth_gb_s"] = threadsOption.compute.run { Self.readBandwidth() }
            if wanted == ["bandwidth"] { return }
        }
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

    /// Memory read bandwidth (GB/s) on the current thread pool: the best of 5 parallel sums over
    /// a 1 GiB buffer, far larger than any cache (the floor of a weight-bound decode step).
    static func readBandwidth() -> Double {
        let count = 1 << 28  // floats: 1 GiB
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { buffer.deallocate() }
        buffer.initialize(repeating: 1, count: count)
        let vectors = count / 16, slots = Parallel.maxThreads
        let sums = UnsafeMutablePointer<Float>.allocate(capacity: slots)
        defer { sums.deallocate() }
        var best = 0.0, checksum: Float = 0
        for _ in 0..<5 {
            sums.initialize(repeating: 0, count: slots)
            let start = DispatchTime.now().uptimeNanoseconds
            Parallel.forEachChunk(vectors, minChunk: 1 << 20) { range in
                var acc = SIMD16<Float>(repeating: 0)
                for i in range { acc += UnsafeRawPointer(buffer + i * 16).load(as: SIMD16<Float>.self) }
                sums[range.lowerBound * slots / vectors] = acc.sum()  // parts ≤ slots: one slot each
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            checksum += (0..<slots).reduce(0) { $0 + sums[$1] }
            best = max(best, Double(count * 4) / seconds / 1e9)
        }
        return checksum > 0 ? best : 0  // the sums are used, so the reads are not optimised away
    }
}
