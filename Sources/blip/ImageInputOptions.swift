import ArgumentParser
import BLIP
import Foundation

/// How every command reads image files: `--max-pixels` and `--ignore-exif`.
struct ImageInputOptions: ParsableArguments {
    @Option(name: .customLong("max-pixels"), parsing: .unconditional,
            help: "Refuse images whose header declares more pixels than this (before decoding).")
    var maxPixels = RGBImage.defaultMaxPixels

    @Flag(name: .customLong("ignore-exif"),
          help: "Keep the stored pixel layout (by default photos are turned upright for their EXIF orientation, as transformers' load_image does).")
    var ignoreExif = false

    func validate() throws {
        try checkOption("--max-pixels", maxPixels, 1...Int.max)
    }

    /// The image at `path`, within the pixel budget, upright unless `--ignore-exif`.
    func load(_ path: String) throws -> RGBImage {
        try RGBImage(contentsOf: URL(fileURLWithPath: path), maxPixels: maxPixels, applyingExifOrientation: !ignoreExif)
    }
}
