import Foundation

/// The keys of `preprocessor_config.json` that `ImageProcessor` understands, decoded with
/// `Decodable` (so JSON `0`, `1` and `1.0` are numbers, never booleans, on every platform).
/// Missing or null keys are nil. Each value problem throws `PreprocessorConfigFile.FieldError`
/// naming the key.
struct PreprocessorConfigFile: Decodable {
    var doResize: Bool?
    var size: ImageProcessor.SizeRule?
    var resample: ResamplingFilter?
    var doRescale: Bool?
    var rescaleFactor: Double?
    var doNormalize: Bool?
    var imageMean: [Double]?
    var imageStd: [Double]?
    var doConvertRGB: Bool?
    var doCenterCrop: Bool?

    /// A bad value, with the key in the message.
    struct FieldError: Error { let message: String }

    /// Largest output side (height, width or shortest edge) accepted.
    static let maxSide = BlipConfigLimits.maxImageSize

    enum CodingKeys: String, CodingKey {
        case doResize = "do_resize", size, resample, doRescale = "do_rescale", rescaleFactor = "rescale_factor"
        case doNormalize = "do_normalize", imageMean = "image_mean", imageStd = "image_std"
        case doConvertRGB = "do_convert_rgb", doCenterCrop = "do_center_crop"
    }

    enum SizeKeys: String, CodingKey {
        case height, width, shortestEdge = "shortest_edge", longestEdge = "longest_edge"
    }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func bool(_ key: CodingKeys) throws -> Bool? {
            do { return try c.decodeIfPresent(Bool.self, forKey: key) } catch {
                throw FieldError(message: "\(key.rawValue) must be true or false")
            }
        }
        doResize = try bool(.doResize)
        doRescale = try bool(.doRescale)
        doNormalize = try bool(.doNormalize)
        doConvertRGB = try bool(.doConvertRGB)
        doCenterCrop = try bool(.doCenterCrop)
        size = try Self.decodeSize(c)
        if let code = try Self.number(c, .resample, "resample must be an integer") {
            guard code == code.rounded(), code >= 0, code < 100 else { throw FieldError(message: "resample must be an integer") }
            guard let filter = ResamplingFilter(rawValue: Int(code)) else {
                throw FieldError(message: "resample \(Int(code)) is not supported (1 Lanczos, 2 bilinear, 3 bicubic, 4 box, 5 Hamming)")
            }
            resample = filter
        }
        if let f = try Self.number(c, .rescaleFactor, "rescale_factor must be a number") {
            guard f.isFinite else { throw FieldError(message: "rescale_factor must be a finite number") }
            rescaleFactor = f
        }
        imageMean = try Self.triple(c, .imageMean)
        imageStd = try Self.triple(c, .imageStd)
        if let std = imageStd, !std.allSatisfy({ $0 != 0 }) { throw FieldError(message: "image_std must not contain 0") }
    }

    private static func number(_ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys, _ message: String) throws -> Double? {
        do { return try c.decodeIfPresent(Double.self, forKey: key) } catch { throw FieldError(message: message) }
    }

    /// A number (used for all three channels) or a list of 3 numbers (or 1), all finite.
    private static func triple(_ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> [Double]? {
        let message = "\(key.rawValue) must be a number or a list of 3 numbers"
        guard c.contains(key), try !c.decodeNil(forKey: key) else { return nil }
        var values: [Double]
        if let n = try? c.decode(Double.self, forKey: key) {
            values = [n, n, n]
        } else if let list = try? c.decode([Double].self, forKey: key), list.count == 3 || list.count == 1 {
            values = list.count == 1 ? [list[0], list[0], list[0]] : list
        } else {
            throw FieldError(message: message)
        }
        guard values.allSatisfy(\.isFinite) else { throw FieldError(message: message) }
        return values
    }

    /// `size`: an integer (square), {height, width}, or {shortest_edge}.
    private static func decodeSize(_ c: KeyedDecodingContainer<CodingKeys>) throws -> ImageProcessor.SizeRule? {
        guard c.contains(.size), try !c.decodeNil(forKey: .size) else { return nil }
        if let n = try? c.decode(Double.self, forKey: .size) {
            let side = try side(n, "size")
            return .fixed(height: side, width: side)
        }
        guard let d = try? c.nestedContainer(keyedBy: SizeKeys.self, forKey: .size) else {
            throw FieldError(message: "size must be an integer or an object")
        }
        func value(_ key: SizeKeys) throws -> Double? {
            do { return try d.decodeIfPresent(Double.self, forKey: key) } catch {
                throw FieldError(message: "size.\(key.rawValue) must be a positive integer")
            }
        }
        let height = try value(.height), width = try value(.width), shortest = try value(.shortestEdge)
        if d.contains(.height) || d.contains(.width) {
            return .fixed(height: try side(height, "size.height"), width: try side(width, "size.width"))
        }
        if d.contains(.shortestEdge) {
            if try value(.longestEdge) != nil { throw FieldError(message: "size.longest_edge is not supported") }
            return .shortestEdge(try side(shortest, "size.shortest_edge"))
        }
        throw FieldError(message: "size must have height and width, or shortest_edge")
    }

    private static func side(_ value: Double?, _ what: String) throws -> Int {
        guard let value, value == value.rounded(), value >= 1 else {
            throw FieldError(message: "\(what) must be a positive integer")
        }
        guard value <= Double(maxSide) else {
            let shown = value < 1e15 ? String(Int(value)) : String(value)
            throw FieldError(message: "\(what) must be at most \(maxSide), got \(shown)")
        }
        return Int(value)
    }
}
