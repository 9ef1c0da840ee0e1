import ArgumentParser
import BLIP
import Foundation

/// `blip preprocess`: the model input of an image as a NumPy file.
struct PreprocessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preprocess", abstract: "Write an image's pixel_values as float32 [1, 3, H, W] .npy.")

    @OptionGroup var modelOption: ModelOption<CaptionModel>

    @Option(help: "Output .npy file (written atomically).")
    var output: String

    @OptionGroup var imageOptions: ImageInputOptions

    @Argument(help: "Image file.")
    var image: String

    func run() throws {
        try reportingErrors {
            let processor = try ImageProcessor(modelDirectory: modelOption.url)
            let rgb = try imageOptions.load(image)
            let (w, h) = try processor.checkedOutputSize(forWidth: rgb.width, height: rgb.height)
            let values = processor.pixelValues(for: rgb)
            try NumpyWriter.writeFloat32(values, shape: [1, 3, h, w], to: URL(fileURLWithPath: output))
        }
    }
}
