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

    /// Parses the JSON text of a `preprocessor_config.json`.
    public init(configData data: Data, source: String = "preprocessor_config.json") throws {
        self.init()
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw ImageProcessorConfigError("\(source): invalid JSON: \(error.localizedDescription)")
        }
        guard let json = object as? [String: Any] else {
            throw ImageProcessorConfigError("\(source): expected a JSON object")
        }
        func fail(_ message: String) -> ImageProcessorConfigError { ImageProcessorConfigError("\(source): \(message)") }
        func bool(_ key: String) throws -> Bool? {
            guard let value = json[key], !(value is NSNull) else { return nil }
            if let b = value as? Bool { return b }
            throw fail("\(key) must be true or false")
        }
        func number(_ value: Any) -> Double? {
            if value is Bool { return nil }
            return (value as? NSNumber)?.doubleValue
        }
        func triple(_ key: String) throws -> [Double]? {
            guard let value = json[key], !(value is NSNull) else { return nil }
            if let n = number(value) { return [n, n, n] }
            if let list = value as? [Any] {
                let values = list.compactMap(number)
                if values.count == 3 && list.count == 3 { return values }
                if values.count == 1 && list.count == 1 { return [values[0], values[0], values[0]] }
            }
            throw fail("\(key) must be a number or a list of 3 numbers")
        }
        func positiveInt(_ value: Any?, _ what: String) throws -> Int {
            guard let value, let n = number(value), n == n.rounded(), n >= 1, n <= 1_000_000 else {
                throw fail("\(what) must be a positive integer")
            }
            return Int(n)
        }

        if let v = try bool("do_resize") { doResize = v }
        if let value = json["size"], !(value is NSNull) {
            if number(value) != nil {
                let n = try positiveInt(value, "size")
                size = .fixed(height: n, width: n)
            } else if let dict = value as? [String: Any] {
                if dict["height"] != nil || dict["width"] != nil {
                    size = .fixed(height: try positiveInt(dict["height"], "size.height"),
                                  width: try positiveInt(dict["width"], "size.width"))
                } else if dict["shortest_edge"] != nil {
                    if let longest = dict["longest_edge"], !(longest is NSNull) {
                        throw fail("size.longest_edge is not supported")
                    }
                    size = .shortestEdge(try positiveInt(dict["shortest_edge"], "size.shortest_edge"))
                } else {
                    throw fail("size must have height and width, or shortest_edge")
                }
            } else {
                throw fail("size must be an integer or an object")
            }
        }
        if let value = json["resample"], !(value is NSNull) {
            let code = try positiveIntOrZero(value)
            guard let filter = ResamplingFilter(rawValue: code) else {
                throw fail("resample \(code) is not supported (1 Lanczos, 2 bilinear, 3 bicubic, 4 box, 5 Hamming)")
            }
            resample = filter
        }
        if let v = try bool("do_rescale") { doRescale = v }
        if let value = json["rescale_factor"], !(value is NSNull) {
            guard let n = number(value), n.isFinite else { throw fail("rescale_factor must be a number") }
            rescaleFactor = n
        }
        if let v = try bool("do_normalize") { doNormalize = v }
        if let v = try triple("image_mean") { imageMean = v }
        if let v = try triple("image_std") {
            guard v.allSatisfy({ $0 != 0 }) else { throw fail("image_std must not contain 0") }
            imageStd = v
        }
        _ = try bool("do_convert_rgb")
        if try bool("do_center_crop") == true {
            throw fail("do_center_crop is not supported")
        }

        func positiveIntOrZero(_ value: Any) throws -> Int {
            guard let n = number(value), n == n.rounded(), n >= 0, n < 100 else {
                throw fail("resample must be an integer")
            }
            return Int(n)
        }
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

    /// Decodes a file and returns its `pixel_values` with the output size.
    public func pixelValues(contentsOf url: URL, maxPixels: Int = RGBImage.defaultMaxPixels) throws
        -> (values: [Float], width: Int, height: Int)
    {
        let image = try RGBImage(contentsOf: url, maxPixels: maxPixels)
        let (w, h) = outputSize(forWidth: image.width, height: image.height)
        return (pixelValues(for: image), w, h)
    }
}
