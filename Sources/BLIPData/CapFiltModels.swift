import BLIP
import Foundation

/// The two models of CapFilt: a captioning model that writes synthetic captions (nucleus
/// sampling) and an image-text retrieval model whose ITM head filters every text.
public struct CapFiltModels: Sendable {
    public let captioner: BlipCaptioner
    public let filter: BlipImageTextMatcher

    public init(captioner: BlipCaptioner, filter: BlipImageTextMatcher) {
        self.captioner = captioner
        self.filter = filter
    }

    /// Both models' pixel values for a batch of images (computed ahead, off the model thread).
    struct Pixels: Sendable {
        var captioner: Tensor
        var filter: Tensor
    }

    func pixelValues(_ images: [RGBImage]) throws -> Pixels {
        let captionPixels = try captioner.pixelValues(images)
        let sameProcessing = captioner.imageProcessor == filter.imageProcessor
        return Pixels(captioner: captionPixels, filter: sameProcessing ? captionPixels : try filter.pixelValues(images))
    }

    /// For each image: its `numCaptions` synthetic captions (the prompt removed), then every text
    /// (the web caption first when there is one) with its ITM probability and ITC cosine. The
    /// vision encoder of each model runs once per image.
    func score(_ pixels: Pixels, keys: [String], webTexts: [String?], options: CapFiltOptions) throws -> [[ScoredText]] {
        let count = keys.count
        var synthetic = Array(repeating: [String](), count: count)
        if options.numCaptions > 0 {
            let seeds = keys.flatMap { key in (0..<options.numCaptions).map { options.rowSeed(key: key, caption: $0) } }
            let captionOptions = CaptionOptions(prompt: options.prompt, stripPrompt: true,
                                                generation: options.generation(rowSeeds: seeds))
            let captions = try captioner.captions(pixelValues: pixels.captioner, options: captionOptions)
            synthetic = captions.map { $0.map { clean($0.text, options) } }
        }
        let encodings = filter.model.encodeImages(pixels.filter)
        return try (0..<count).map { i in
            var texts: [(String, ScoredText.Source)] = []
            if let web = webTexts[i] { texts.append((web, .web)) }
            texts += synthetic[i].map { ($0, .synthetic) }
            guard !texts.isEmpty else { return [] }
            let matches = try filter.match(encodings[i], texts: texts.map(\.0))
            return zip(texts, matches).map { text, m in
                ScoredText(text: text.0, source: text.1, itm: Double(shortest: m.itmProbability), itc: Double(shortest: m.itcCosine))
            }
        }
    }

    func clean(_ text: String, _ options: CapFiltOptions) -> String {
        options.cleanText ? preCaption(text, maxWords: options.maxWords) : text
    }
}
