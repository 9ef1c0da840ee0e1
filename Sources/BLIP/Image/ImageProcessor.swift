import Foundation

/// Errors reading `preprocessor_config.json`.
public struct ImageProcessorConfigError: Error, Sendable, CustomStringConvertible, LocalizedError {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
    public var errorDescription: String? { message }
}

/// BLIP's image preprocessing (transformers `BlipImageProcessor` / `BlipImageProcessorPil`):
/// resize with PIL bicubic to `size` (aspect ratio not kept), multiply by `rescale_factor`, normalise with
/// `image_mean` / `image_std`, output channels-first float32.
///
/// The arithmetic follows transformers exactly: rescaling is `Float(Double(v) * rescale_factor)` (numpy
/// float64 then cast to float32) and normalisation `(x - Float(mean)) / Float(std)` in float32, so values
/// are bit-identical to the Python reference for the same resized uint8 pixels. Every uint8 value maps
/// to one float per channel, so the whole pipeline after resizing is a 256-entry table lookup.
public struct ImageProcessor: Sendable, Equatable {
    /// How to choose the output size.
    public enum SizeRule: Sendable, Equatable {
        /// Resize to exactly this size (BLIP: 384×384).
        case fixed(height: Int, width: Int)
        /// Shorter side becomes `shortestEdge`, the other keeps the aspect ratio (`int(edge * long / short)`).
        case shortestEdge(Int)
    }

    public var doResize: Bool
    public var size: SizeRule
    public var resample: ResamplingFilter
    public var doRescale: Bool
    public var rescaleFactor: Double
    public var doNormalize: Bool
    public var imageMean: [Double]
    public var imageStd: [Double]

    /// BLIP's defaults (`Salesforce/blip-*` checkpoints).
    public static let blipMean: [Double] = [0.48145466, 0.4578275, 0.40821073]
    public static let blipStd: [Double] = [0.26862954, 0.26130258, 0.27577711]

    public init(doResize: Bool = true, size: SizeRule = .fixed(height: 384, width: 384),
                resample: ResamplingFilter = .bicubic, doRescale: Bool = true,
                rescaleFactor: Double = 1.0 / 255.0, doNormalize: Bool = true,
                imageMean: [Double] = ImageProcessor.blipMean, imageStd: [Double] = ImageProcessor.blipStd) {
        precondition(imageMean.count == 3 && imageStd.count == 3, "ImageProcessor: mean and std need 3 values")
        self.doResize = doResize
        self.size = size
        self.resample = resample
        self.doRescale = doRescale
        self.rescaleFactor = rescaleFactor
        self.doNormalize = doNormalize
        self.imageMean = imageMean
        self.imageStd = imageStd
    }

    /// Reads `preprocessor_config.json`; `nil`, or any missing key, gives BLIP's defaults.
    /// Output sides (height, width, shortest_edge) are at most `BlipConfigLimits.maxImageSize`.
    /// Understood keys: do_resize, size ({height, width}, {shortest_edge} or a bare integer = square),
    /// resample (1 Lanczos, 2 bilinear, 3 bicubic, 4 box, 5 Hamming), do_rescale, rescale_factor,
    /// do_normalize, image_mean, image_std (lists of 3 or one number), do_convert_rgb (images are always
    /// converted to RGB; false is accepted and ignored). `do_center_crop: true` is refused.
    public init(configFile: URL?) throws {
        self.init()
        guard let configFile else { return }
        let data: Data
        do {
            data = try Data(contentsOf: configFile)
        } catch {
            throw ImageProcessorConfigError("\(configFile.path): cannot read: \(error.localizedDescription)")
        }
        try self.init(configData: data, source: configFile.path)
    }

    /// Parses the JSON text of a `preprocessor_config.json` (decoded with `Decodable`, so `0`, `1`
    /// and `1.0` are numbers on every platform).
    public init(configData data: Data, source: String = "preprocessor_config.json") throws {
        self.init()
        let file: PreprocessorConfigFile
        do {
            file = try JSONDecoder().decode(PreprocessorConfigFile.self, from: data)
        } catch let error as PreprocessorConfigFile.FieldError {
            throw ImageProcessorConfigError("\(source): \(error.message)")
        } catch DecodingError.typeMismatch(_, let context) where context.codingPath.isEmpty {
            throw ImageProcessorConfigError("\(source): expected a JSON object")
        } catch {
            throw ImageProcessorConfigError("\(source): invalid JSON (truncated, malformed, or a number out of range)")
        }
        if file.doCenterCrop == true { throw ImageProcessorConfigError("\(source): do_center_crop is not supported") }
        if let v = file.doResize { doResize = v }
        if let v = file.size { size = v }
        if let v = file.resample { resample = v }
        if let v = file.doRescale { doRescale = v }
        if let v = file.rescaleFactor { rescaleFactor = v }
        if let v = file.doNormalize { doNormalize = v }
        if let v = file.imageMean { imageMean = v }
        if let v = file.imageStd { imageStd = v }
    }

    /// Throws unless this processor produces exactly the `image_size`×`image_size` input the
    /// vision model's position embeddings were trained for (any other size would need
    /// transformers' `interpolate_pos_encoding`, which this port does not implement).
    /// `source` names the preprocessor file in the message.
    public func checkCompatible(with vision: BlipVisionConfig, source: String = "preprocessor_config.json") throws {
        let n = vision.imageSize
        let size: String
        switch (doResize, self.size) {
        case (true, .fixed(let h, let w)) where h == n && w == n: return
        case (false, _): size = "do_resize false (images keep their own size)"
        case (true, .fixed(let h, let w)): size = "size \(h)x\(w)"
        case (true, .shortestEdge(let e)): size = "size {shortest_edge: \(e)}"
        }
        throw BlipModelError.unsupportedModel(
            "\(source) gives \(size), but config.json vision_config.image_size is \(n): the vision model needs \(n)x\(n) images (set size to {\"height\": \(n), \"width\": \(n)})")
    }

    /// Output (width, height) for an input of the given size.
    public func outputSize(forWidth width: Int, height: Int) -> (width: Int, height: Int) {
        guard doResize else { return (width, height) }
        switch size {
        case let .fixed(h, w):
            return (w, h)
        case let .shortestEdge(edge):
            // transformers get_resize_output_image_size(default_to_square=False): int() truncation.
            if width <= height {
                return (edge, Int(Double(edge) * Double(height) / Double(width)))
            } else {
                return (Int(Double(edge) * Double(width) / Double(height)), edge)
            }
        }
    }

    /// Most output pixels `checkedOutputSize` allows (a `shortest_edge` rule on a very long, thin
    /// image would otherwise ask for an enormous buffer).
    public static let maxOutputPixels = 64 << 20

    /// `outputSize(forWidth:height:)`, throwing when the result exceeds `maxOutputPixels`.
    public func checkedOutputSize(forWidth width: Int, height: Int) throws -> (width: Int, height: Int) {
        let (w, h) = outputSize(forWidth: width, height: height)
        guard w.multipliedReportingOverflow(by: h).partialValue <= Self.maxOutputPixels, w <= Self.maxOutputPixels,
              h <= Self.maxOutputPixels else {
            throw ImageProcessorConfigError(
                "resizing a \(width)x\(height) image would give \(w)x\(h), more than \(Self.maxOutputPixels) pixels")
        }
        return (w, h)
    }

    /// Output height for a fixed-size configuration (BLIP: 384).
    public var outputHeight: Int {
        if case let .fixed(h, _) = size { return h }
        if case let .shortestEdge(e) = size { return e }
        return 0
    }

    /// Output width for a fixed-size configuration (BLIP: 384).
    public var outputWidth: Int {
        if case let .fixed(_, w) = size { return w }
        if case let .shortestEdge(e) = size { return e }
        return 0
    }

    /// The float each uint8 value becomes in channel `c`, computed like transformers (see type docs).
    func lookupTable(channel c: Int) -> [Float] {
        let mean = Float(imageMean[c]), std = Float(imageStd[c])
        return (0..<256).map { v -> Float in
            var x: Float = doRescale ? Float(Double(v) * rescaleFactor) : Float(v)
            if doNormalize { x = (x - mean) / std }
            return x
        }
    }

    /// Resized image (or the image itself when `do_resize` is false).
    public func resizedImage(_ image: RGBImage) -> RGBImage {
        let (w, h) = outputSize(forWidth: image.width, height: image.height)
        return image.resized(width: w, height: h, filter: resample)
    }

    /// `pixel_values` for one image: `[3 * H * W]` float32, channels first (CHW), where (W, H) is
    /// `outputSize(forWidth:height:)` (384×384 for BLIP).
    public func pixelValues(for image: RGBImage) -> [Float] {
        let resized = resizedImage(image)
        let plane = resized.width * resized.height
        let tables = (0..<3).map { lookupTable(channel: $0) }
        var out = [Float](repeating: 0, count: 3 * plane)
        resized.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for c in 0..<3 {
                    tables[c].withUnsafeBufferPointer { table in
                        let base = c * plane
                        for i in 0..<plane {
                            dst[base + i] = table[Int(src[3 * i + c])]
                        }
                    }
                }
            }
        }
        return out
    }

    /// `pixel_values` [N, 3, H, W] of `images`, each resized to the configured size; throws when a
    /// processor that keeps sizes gets images that preprocess to different sizes.
    public func batch(_ images: [RGBImage]) throws -> Tensor {
        let (w, h) = outputSize(forWidth: images.first?.width ?? 1, height: images.first?.height ?? 1)
        var values = [Float]()
        values.reserveCapacity(images.count * 3 * w * h)
        for image in images {
            let v = pixelValues(for: image)
            guard v.count == 3 * w * h else {
                throw BlipModelError.invalidInput(
                    "images of one batch must preprocess to one size (\(w)x\(h), got \(image.width)x\(image.height) unresized): pass them in separate batches")
            }
            values += v
        }
        return Tensor(values, shape: [images.count, 3, h, w])
    }

    /// Decodes a file and returns its `pixel_values` with the output size.
    public func pixelValues(contentsOf url: URL, maxPixels: Int = RGBImage.defaultMaxPixels) throws
        -> (values: [Float], width: Int, height: Int)
    {
        let image = try RGBImage(contentsOf: url, maxPixels: maxPixels)
        let (w, h) = try checkedOutputSize(forWidth: image.width, height: image.height)
        return (pixelValues(for: image), w, h)
    }
}
