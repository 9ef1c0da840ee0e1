import BLIP
import Foundation
import FuzzSupport

// Fuzzes image decoding (`RGBImage(data:maxPixels:source:)`: format detection and the JPEG, PNG and WebP
// paths of Sources/BLIP/Image and Sources/CImageCodecs) and then the resize + normalise of the decoded
// image (`ImageProcessor.pixelValues`, every resampling filter, down- and upscaling).
//
// The pixel budget is 1 MP so one execution stays cheap; resizes whose output would exceed 64 Ki pixels
// are skipped (unbounded `shortest_edge` outputs belong to the config checks, not to the decoder).

let maxPixels = 1 << 20

// libFuzzer's entry point in fuzzing builds; a plain function otherwise, so that test bundles linking several
// harnesses (FuzzHarnessTests) do not see the symbol twice.
#if FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
#endif
public func fuzzImage(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = fuzzData(bytes, count)
    _ = ImageFormat.detect(data)
    guard let image = try? RGBImage(data: data, maxPixels: maxPixels, source: "fuzz input") else { return 0 }
    guard image.width > 0, image.height > 0, image.width * image.height <= maxPixels,
          image.pixels.count == image.width * image.height * 3
    else {
        fatalError("decoded \(image.width)x\(image.height) with \(image.pixels.count) bytes (budget \(maxPixels))")
    }
    let filter = ResamplingFilter.allCases[count % ResamplingFilter.allCases.count]
    let sizes: [ImageProcessor.SizeRule] = [.fixed(height: 17, width: 24), .shortestEdge(16), .fixed(height: 48, width: 40)]
    let processor = ImageProcessor(size: sizes[(count / 5) % sizes.count], resample: filter)
    let (w, h) = processor.outputSize(forWidth: image.width, height: image.height)
    guard w > 0, h > 0, w <= 1 << 16, h <= 1 << 16, w * h <= 1 << 16 else { return 0 }
    let values = processor.pixelValues(for: image)
    if values.count != 3 * w * h { fatalError("\(values.count) pixel values for \(w)x\(h)") }
    if let bad = values.first(where: { !$0.isFinite }) { fatalError("non-finite pixel value \(bad)") }
    return 0
}

@main enum FuzzImage {
    static func main() { FuzzDriver.run(fuzzImage) }
}
