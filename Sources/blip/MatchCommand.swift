import ArgumentParser
import BLIP
import BLIPHub
import Foundation

/// `blip match`: how well each text matches one image (ITM probability and ITC cosine).
struct MatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "match",
        abstract: "Image-text matching (BlipForImageTextRetrieval, Blip2ForImageTextRetrieval): ITM probability and ITC cosine per text.",
        discussion: """
            Prints one line per text: image, text, ITM probability, ITC cosine (tab-separated), or with \
            --json {"image", "text", "itm_probability", "itc_cosine"}. A BLIP-2 model's ITC cosine is the \
            best of its 32 query vectors'. A video (.mp4, .mov, .avi, .mkv, .webm, …; BLIP models) is \
            scored as official BLIP's zero-shot video retrieval: --frames frames sampled as its \
            video_dataset.py does, ITC on the mean of their projected [CLS], ITM ([ENC] first) over all \
            their states; --json adds "itm_logits" and "score" (ITM logit + ITC).
            """)

    @OptionGroup var modelOption: ModelOption<RetrievalModel>

    @Flag(help: "Put [ENC] first for ITM, as the official BLIP retrieval evaluation does (default: [CLS], as transformers).")
    var official = false

    @Flag(help: "One JSON object per line.")
    var json = false

    @Flag(help: "With --json, also print the two ITM logits [no match, match] as \"itm_logits\".")
    var logits = false

    @Option(parsing: .unconditional, help: "Time the whole match (image decoding excluded) this many times; the median goes to stderr.")
    var `repeat`: Int?

    @Option(parsing: .unconditional, help: "Frames sampled from a video.")
    var frames = 8

    @OptionGroup var imageOptions: ImageInputOptions

    @Argument(help: "Image file (JPEG, PNG, WebP) or video.")
    var image: String

    @Argument(help: "Texts to match against the image.")
    var texts: [String] = []

    func validate() throws {
        if texts.isEmpty { throw ValidationError("give at least one text after the image") }
        try checkOption("--repeat", `repeat`, 1...100_000)
        try checkOption("--frames", frames, 1...64)
    }

    /// Official zero-shot video scores of every text (BLIP retrieval models).
    func runVideo() throws {
        let matcher = try BlipImageTextMatcher(modelDirectory: modelOption.url, precision: modelOption.precision,
                                               compute: modelOption.compute)
        let clip = try VideoFrames.load(URL(fileURLWithPath: image), frames: frames, maxPixels: imageOptions.maxPixels)
        for (text, m) in zip(texts, try matcher.matchVideo(clip, texts: texts)) {
            let probability = m.itmProbability
            if json {
                try printJSONLine(["video": image, "text": text, "itm_probability": jsonNumber(probability),
                                   "itc_cosine": jsonNumber(m.itc), "itm_logits": m.itmLogits.map(jsonNumber),
                                   "score": jsonNumber(m.score)])
            } else {
                print([image, text, String(format: "%.6f", probability), String(format: "%.6f", m.itc)].joined(separator: "\t"))
            }
        }
    }

    func run() throws {
        try reportingErrors {
            if VideoFrames.isVideo(URL(fileURLWithPath: image)) { return try runVideo() }
            let matcher = try loadImageTextMatcher(modelDirectory: modelOption.url, precision: modelOption.precision,
                                                   compute: modelOption.compute)
            let rgb = try imageOptions.load(image)
            let mode: ITMInputMode = official ? .official : .transformers
            let matches = try matcher.match(rgb, texts: texts, mode: mode)
            for (text, m) in zip(texts, matches) {
                if json {
                    var object: [String: Any] = [
                        "image": image, "text": text,
                        "itm_probability": jsonNumber(m.itmProbability), "itc_cosine": jsonNumber(m.itcCosine),
                    ]
                    if logits { object["itm_logits"] = m.itmLogits.map(jsonNumber) }
                    try printJSONLine(object)
                } else {
                    print([image, text, String(format: "%.6f", m.itmProbability), String(format: "%.6f", m.itcCosine)]
                        .joined(separator: "\t"))
                }
            }
            if let runs = `repeat` {
                var times = [Double]()
                for _ in 0..<runs {
                    let start = DispatchTime.now().uptimeNanoseconds
                    _ = try matcher.match(rgb, texts: texts, mode: mode)
                    times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
                }
                let median = times.sorted()[times.count / 2]
                printError(String(format: "match, 1 image x %d text(s), vision + text encoders: %.3f s (median of %d)",
                                  texts.count, median, runs))
            }
        }
    }
}

/// A Float as the Double with the same shortest decimal form, so JSON shows `0.1`, not
/// `0.10000000149011612`.
func jsonNumber(_ x: Float) -> Double {
    x.isFinite ? Double(x.description) ?? Double(x) : 0
}
