import BLIP
import Foundation

extension BenchCommand {
    /// ITM / ITC timings on a `BlipForImageTextRetrieval` directory, vision included in each.
    func benchRetrieval(directory: URL, wanted: Set<String>, timer: inout BenchTimer, loadStart: Date) throws {
        let matcher = try BlipImageTextMatcher(modelDirectory: directory, precision: precision)
        timer.result["load_s"] = Date().timeIntervalSince(loadStart)
        let pixels = randomPixels(size: matcher.model.config.visionConfig.imageSize)
        let encode = { () throws -> BlipImageEncoding in
            guard let encoding = matcher.model.encodeImages(pixels).first else {
                throw BlipModelError.invalidInput("no image encoded")
            }
            return encoding
        }
        if wanted.contains("itm") {
            // One image, one text: the ITM probability (our match also gives the ITC cosine).
            try timer.measure("itm_s") { _ = try matcher.match(encode(), texts: [Self.text]) }
        }
        if wanted.contains("itc") {
            try timer.measure("itc_s") {
                let image = try encode().embedding
                let text = try matcher.textEmbeddings([Self.text])[0]
                _ = zip(image, text).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            }
        }
        if wanted.contains("parts") {
            // Breakdown: vision + projection, the text-only ITC pass, the ITM pass on an encoded image.
            timer.measure("image_encode_s") { _ = matcher.model.encodeImages(pixels) }
            try timer.measure("itc_text_s") { _ = try matcher.textEmbeddings([Self.text]) }
            let encoding = try encode()
            try timer.measure("match_encoded_s") { _ = try matcher.match(encoding, texts: [Self.text]) }
        }
        if wanted.contains("itm16") {
            let texts = (0..<16).map { "\(Self.text) number \($0)" }
            try timer.measure("itm16_s") { _ = try matcher.match(encode(), texts: texts) }
        }
    }
}
