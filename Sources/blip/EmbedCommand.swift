import ArgumentParser
import BLIP
import BLIPHub
import Foundation

/// `blip embed`: unit-length ITC embeddings of images or texts, for indexing.
struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Normalised image or text embeddings of a retrieval model (BLIP or BLIP-2 ITC space).",
        discussion: """
            The dot product of an image and a text embedding is their ITC cosine. Prints one line per \
            input: the path or text, a tab, the values separated by spaces; or with --json \
            {"image": PATH, "embedding": [...], "vectors": N} / {"text": TEXT, "embedding": [...]}. \
            A BLIP-2 image embedding is its 32 query vectors concatenated ("vectors": 32): the ITC \
            score with a text is the best of their dot products with the text's.
            """)

    @OptionGroup var modelOption: ModelOption<RetrievalModel>

    @Flag(help: "One JSON object per line.")
    var json = false

    @Option(name: .customLong("image"), parsing: .upToNextOption, help: "Image files to embed.")
    var images: [String] = []

    @Option(name: .customLong("text"), parsing: .upToNextOption, help: "Texts to embed.")
    var texts: [String] = []

    @Option(name: .customLong("batch-size"), parsing: .unconditional, help: "Images or texts encoded together.")
    var batchSize = 8

    @OptionGroup var imageOptions: ImageInputOptions

    func validate() throws {
        if images.isEmpty == texts.isEmpty { throw ValidationError("give either --image IMAGE... or --text TEXT...") }
        try checkOption("--batch-size", batchSize, 1...OptionLimits.maxBatchSize)
    }

    func run() throws {
        try reportingErrors {
            var matcher = try loadImageTextMatcher(modelDirectory: modelOption.url, precision: modelOption.precision,
                                                   compute: modelOption.compute)
            matcher.imageBatchSize = batchSize
            matcher.textBatchSize = batchSize
            if !texts.isEmpty {
                for (text, embedding) in zip(texts, try matcher.textEmbeddings(texts)) {
                    try emit(key: "text", value: text, embedding, vectors: nil)
                }
                return
            }
            let failures = try forEachImageBatch(ImageInputOptions.expand(images), batchSize: batchSize,
                                                 options: imageOptions) { loaded in
                for ((path, _), embedding) in zip(loaded, try matcher.imageEmbeddings(loaded.map(\.image))) {
                    try emit(key: "image", value: path, embedding, vectors: matcher.vectorsPerImage)
                }
            }
            if failures > 0 { throw ExitCode(1) }
        }
    }

    private func emit(key: String, value: String, _ embedding: [Float], vectors: Int?) throws {
        if json {
            var object: [String: Any] = [key: value, "embedding": embedding.map(jsonNumber)]
            if let vectors { object["vectors"] = vectors }
            try printJSONLine(object)
        } else {
            print(value + "\t" + embedding.map { "\($0)" }.joined(separator: " "))
        }
    }
}
