import ArgumentParser
import BLIP
import Foundation

/// `blip ground`: the box a phrase refers to in an image (mmpretrain's BLIP grounding model).
struct GroundCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ground",
        abstract: "Visual grounding: the box a phrase refers to (mmpretrain BlipGrounding, RefCOCO).",
        discussion: """
            Takes mmpretrain's BLIP grounding checkpoint (blip-base_8xb16_refcoco_*.pth), read without \
            executing it. Prints the box as "x1 y1 x2 y2" in the image's pixels, or with --json \
            {"image", "phrase", "box", "box_normalized", "tokens"}; --draw writes the image with the box.
            """)

    @OptionGroup var checkpoint: CheckpointFileOptions

    @Option(help: "Write the image with the box drawn to this PNG file.")
    var draw: String?

    @OptionGroup var imageOptions: ImageInputOptions

    @Flag(help: "One JSON object.")
    var json = false

    @Argument(help: "The image.")
    var image: String

    @Argument(help: "The phrase, e.g. \"the man on the left\".")
    var phrase: String

    func run() throws {
        try reportingErrors {
            let grounder = try BlipGrounder(
                checkpoint: checkpoint.checkpointURL, tokenizerDirectory: checkpoint.tokenizerDirectory,
                config: checkpoint.blipConfig, precision: checkpoint.precision, compute: checkpoint.compute)
            let picture = try imageOptions.load(image)
            let (box, pixels) = try grounder.ground(picture, phrase: phrase)
            if let draw {
                let url = URL(fileURLWithPath: (draw as NSString).expandingTildeInPath)
                let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).partial")
                try picture.drawingRectangle(pixels).pngData().write(to: temporary)
                guard rename(temporary.path, url.path) == 0 else {  // atomic: no half-written PNG
                    try? FileManager.default.removeItem(at: temporary)
                    throw ValidationError("--draw: cannot write \(url.path) (errno \(errno))")
                }
            }
            if json {
                try printJSONLine(["image": image, "phrase": phrase, "box": pixels.map(jsonNumber),
                                   "box_normalized": box.normalized.map(jsonNumber), "tokens": box.tokens])
            } else {
                print(pixels.map { String(format: "%.1f", $0) }.joined(separator: " "))
            }
        }
    }
}
