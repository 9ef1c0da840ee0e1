import Foundation

/// Prints results one line each, flushed at once (so `| tee` or a script sees each as it comes):
/// plain text — prefixed by the image path and a tab when a run has several images or several
/// sequences per image — or, with `--json`, one object per line. A failed image is reported on
/// stderr and, with `--json`, also as an `{"image": ..., "error": ...}` record in the stream.
struct ResultPrinter {
    var json: Bool
    var prefixWithImage: Bool

    func result(image: String, text: String, fields: [String: Any]) throws {
        if json {
            try printJSONLine(fields.merging(["image": image]) { $1 })
        } else {
            print(prefixWithImage ? "\(image)\t\(text)" : text)
        }
        fflush(nil)  // all C streams: stdout without touching the global
    }

    func failure(image: String, _ error: Error) throws {
        printError("error: \(describe(error))")
        if json {
            try printJSONLine(["image": image, "error": describe(error)])
            fflush(nil)  // all C streams: stdout without touching the global
        }
    }
}
