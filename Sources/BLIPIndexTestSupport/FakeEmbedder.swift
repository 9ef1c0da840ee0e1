import BLIP
import BLIPIndex
import Foundation

/// A deterministic stand-in for BLIP's ITC/ITM heads, for tests of the index.
///
/// Image embedding: the mean colour (r, g, b) followed by `dimension - 3` pseudo-random values seeded by a hash
/// of the pixels (scaled by 0.3), L2-normalised. Text embedding: the colour words "red", "green", "blue",
/// "white", "black" map to that colour's direction; other texts to a hash-seeded unit vector.
/// ITM score: a hash of (pixels, text) mapped to [0, 1).
public final class FakeEmbedder: ImageTextRetrievalModel, @unchecked Sendable {
    public let modelIdentifier: String
    public let legacyIdentifiers: [String]
    public let dimension: Int
    /// Sleep per `embed(images:)` call (crash tests run slowly on purpose).
    public let delayPerBatch: Double
    private let lock = NSLock()
    private var _embeddedImages = 0
    private var _imageCalls = 0

    public init(modelIdentifier: String = "fake-itc", dimension: Int = 12, delayPerBatch: Double = 0,
                legacyIdentifiers: [String] = []) {
        precondition(dimension >= 4)
        self.modelIdentifier = modelIdentifier
        self.legacyIdentifiers = legacyIdentifiers
        self.dimension = dimension
        self.delayPerBatch = delayPerBatch
    }

    /// Images embedded so far (all calls).
    public var embeddedImages: Int { lock.lock(); defer { lock.unlock() }; return _embeddedImages }
    public var imageCalls: Int { lock.lock(); defer { lock.unlock() }; return _imageCalls }

    public func embed(images: [RGBImage]) throws -> [[Float]] {
        if delayPerBatch > 0 { Thread.sleep(forTimeInterval: delayPerBatch) }
        lock.lock()
        _embeddedImages += images.count
        _imageCalls += 1
        lock.unlock()
        return images.map(imageVector)
    }

    public func embed(texts: [String]) throws -> [[Float]] { texts.map(textVector) }

    public func itmScores(images: [RGBImage], text: String) throws -> [Float] {
        images.map { itm($0, text) }
    }

    public func itmScores(image: RGBImage, texts: [String]) throws -> [Float] {
        texts.map { itm(image, $0) }
    }

    public func imageVector(_ image: RGBImage) -> [Float] {
        var sum = (0.0, 0.0, 0.0)
        for i in stride(from: 0, to: image.pixels.count, by: 3) {
            sum.0 += Double(image.pixels[i]); sum.1 += Double(image.pixels[i + 1]); sum.2 += Double(image.pixels[i + 2])
        }
        let n = Double(image.width * image.height) * 255
        var v: [Float] = [Float(sum.0 / n), Float(sum.1 / n), Float(sum.2 / n)]
        var rng = SplitMix(seed: fnv1a(image.pixels))
        for _ in 3..<dimension { v.append(0.3 * rng.nextSigned()) }
        return Ranking.normalized(v)
    }

    public func textVector(_ text: String) -> [Float] {
        let colours: [String: (Float, Float, Float)] = [
            "red": (1, 0, 0), "green": (0, 1, 0), "blue": (0, 0, 1), "white": (1, 1, 1), "black": (0, 0, 0.01),
        ]
        var v = [Float](repeating: 0, count: dimension)
        if let c = colours[text.lowercased()] {
            (v[0], v[1], v[2]) = c
        } else {
            var rng = SplitMix(seed: fnv1a(Array(text.utf8)))
            for i in 0..<dimension { v[i] = rng.nextSigned() }
        }
        return Ranking.normalized(v)
    }

    public func itm(_ image: RGBImage, _ text: String) -> Float {
        var rng = SplitMix(seed: fnv1a(image.pixels) ^ fnv1a(Array(text.utf8)) &* 31)
        return (rng.nextSigned() + 1) / 2
    }
}

public func fnv1a(_ bytes: [UInt8]) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
    return h
}

public struct SplitMix {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
    /// Uniform in [-1, 1).
    public mutating func nextSigned() -> Float { Float(next() >> 40) / Float(1 << 23) - 1 }
}
