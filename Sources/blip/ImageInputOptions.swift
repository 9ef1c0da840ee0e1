import ArgumentParser
import BLIP
import BLIPIndex
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

    /// The image at `path` (`-`: standard input), within the pixel budget, upright unless
    /// `--ignore-exif`. URLs are refused with a message saying so.
    func load(_ path: String) throws -> RGBImage { try loader(path) }

    /// `load` as a value another thread can call (batches are decoded ahead of the model).
    var loader: @Sendable (String) throws -> RGBImage {
        let maxPixels = maxPixels, applyExif = !ignoreExif
        return { path in
            if path == "-" {
                return try RGBImage(data: FileHandle.standardInput.readDataToEndOfFile(), maxPixels: maxPixels,
                                    source: "standard input", applyingExifOrientation: applyExif)
            }
            if Self.isURL(path) {
                throw ImageDecodingError(kind: .unreadable, source: path,
                                         detail: "URLs are not supported: download the image first (e.g. curl -sLO URL)")
            }
            return try RGBImage(contentsOf: URL(fileURLWithPath: path), maxPixels: maxPixels, applyingExifOrientation: applyExif)
        }
    }

    static func isURL(_ path: String) -> Bool {
        let lower = path.lowercased()
        return lower.hasPrefix("http://") || lower.hasPrefix("https://")
    }

    /// Image arguments as the files to read: a folder becomes its image files (recursively:
    /// .jpg .jpeg .png .webp, hidden entries skipped, sorted by name); files, `-` and anything
    /// else stay as given (so a missing file is reported when it is read).
    static func expand(_ inputs: [String]) -> [String] {
        inputs.flatMap { input -> [String] in
            var isFolder: ObjCBool = false
            guard input != "-", !isURL(input), FileManager.default.fileExists(atPath: input, isDirectory: &isFolder),
                  isFolder.boolValue else { return [input] }
            return FileScanner.expand([input]).files
        }
    }

    /// Throws when `-` (standard input) is given more than once.
    static func checkStandardInput(_ inputs: [String]) throws {
        if inputs.filter({ $0 == "-" }).count > 1 {
            throw ValidationError("- (standard input) can be given once")
        }
    }
}
