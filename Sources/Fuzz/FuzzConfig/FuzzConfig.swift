import BLIP
import Foundation
import FuzzSupport

// Fuzzes the model configuration files. The first byte picks what the rest of the input is:
//   0 (mod 3): a `config.json` (`BlipConfig.load(directory:)`: decoding, defaults, the model_type check);
//   1: a `preprocessor_config.json` (`ImageProcessor(configData:)`), then the output size of three input
//      sizes and, when that output is small, `pixelValues` of a small image;
//   2: a `generation_config.json` (`GenerationConfigFile.load(directory:)`, `.options`, `validate()`).

let scratch = ScratchFolder("FuzzConfig")
let model = scratch.folder("model")
let sample = RGBImage(width: 5, height: 3, pixels: (0..<45).map { UInt8(truncatingIfNeeded: $0 * 37) })

// libFuzzer's entry point in fuzzing builds; a plain function otherwise, so that test bundles linking several
// harnesses (FuzzHarnessTests) do not see the symbol twice.
#if FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
#endif
public func fuzzConfig(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = fuzzData(bytes, count)
    guard let mode = data.first else { return 0 }
    let rest = Data(data.dropFirst())
    switch mode % 3 {
    case 0:
        scratch.write(rest, to: "config.json", in: model)
        guard let config = try? BlipConfig.load(directory: model) else { return 0 }
        if config.modelType != "blip" { fatalError("load accepted model_type \(config.modelType)") }
    case 1:
        guard let processor = try? ImageProcessor(configData: rest) else { return 0 }
        if processor.imageMean.count != 3 || processor.imageStd.count != 3 {
            fatalError("accepted mean \(processor.imageMean) / std \(processor.imageStd)")
        }
        for (w, h) in [(5, 3), (1, 1), (640, 480)] {
            let (ow, oh) = processor.outputSize(forWidth: w, height: h)
            if ow < 0 || oh < 0 { fatalError("negative output size \(ow)x\(oh) for \(w)x\(h)") }
        }
        let (ow, oh) = processor.outputSize(forWidth: sample.width, height: sample.height)
        if ow > 0, oh > 0, ow <= 256, oh <= 256 {
            let values = processor.pixelValues(for: sample)
            if values.count != 3 * ow * oh { fatalError("\(values.count) values for \(ow)x\(oh)") }
        }
    default:
        scratch.write(rest, to: "generation_config.json", in: model)
        guard let file = try? GenerationConfigFile.load(directory: model) else { return 0 }
        try? file.options.validate()
    }
    return 0
}

@main enum FuzzConfig {
    static func main() { FuzzDriver.run(fuzzConfig) }
}
