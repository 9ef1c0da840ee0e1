import CVideoCodecs
import Foundation

/// A video that cannot be read, and why.
public struct VideoError: Error, LocalizedError, CustomStringConvertible, Sendable, Equatable {
    public let path: String
    public let reason: String
    public var description: String { "\(path): \(reason)" }
    public var errorDescription: String? { description }
}

/// Frames of a video file, sampled as official BLIP's zero-shot video evaluation does
/// (`video_dataset.py`: `np.arange(0, vlen, vlen / n, dtype=int)`), decoded with FFmpeg's
/// libraries (any container and codec they read) as RGB at the video's size.
public enum VideoFrames {
    /// Official BLIP's frame positions for a video of `frameCount` frames: numpy's integer
    /// `arange` takes the step from its first two values, so position i is i·⌊vlen / n⌋ (all 0 for
    /// fewer than n frames), and there are ⌈vlen / (vlen / n)⌉ of them in double arithmetic
    /// (n, or n + 1 when that division rounds up).
    public static func officialIndices(frameCount vlen: Int, frames n: Int) -> [Int] {
        guard vlen > 0, n > 0 else { return [] }
        let step = Double(vlen) / Double(n)
        let count = Int((Double(vlen) / step).rounded(.up))
        let delta = Int(step)  // (int)(start + step) - (int)start
        return (0..<count).map { $0 * delta }
    }

    /// The official sample of `frames` frames of the video at `url`.
    public static func load(_ url: URL, frames: Int = 8, maxPixels: Int = RGBImage.defaultMaxPixels) throws -> [RGBImage] {
        guard frames >= 1, frames <= 256 else { throw VideoError(path: url.path, reason: "frames must be 1…256, got \(frames)") }
        let total = try decode(url, indices: [], maxPixels: maxPixels).frameCount
        return try decode(url, indices: officialIndices(frameCount: total, frames: frames), maxPixels: maxPixels).images
    }

    /// Decodes the video once, keeping the frames at `indices`; also returns how many frames it has.
    public static func decode(_ url: URL, indices: [Int], maxPixels: Int = RGBImage.defaultMaxPixels) throws
        -> (images: [RGBImage], frameCount: Int) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw VideoError(path: url.path, reason: "no such file")
        }
        var out: UnsafeMutablePointer<UInt8>?
        var width: Int32 = 0, height: Int32 = 0, total: Int64 = 0
        let wanted = indices.map(Int64.init)
        let status = wanted.withUnsafeBufferPointer { p in
            cvc_decode(url.path, p.baseAddress, Int32(p.count), Int64(maxPixels), &out, &width, &height, &total)
        }
        defer { cvc_free(out) }
        switch status {
        case CVC_OK: break
        case CVC_ERR_OPEN: throw VideoError(path: url.path, reason: "not a video FFmpeg can open")
        case CVC_ERR_NO_VIDEO: throw VideoError(path: url.path, reason: "no video stream FFmpeg can decode")
        case CVC_ERR_TOO_LARGE: throw VideoError(path: url.path, reason: "frames larger than \(maxPixels) pixels")
        case CVC_ERR_NO_FRAMES: throw VideoError(path: url.path, reason: "no frame could be decoded")
        case CVC_ERR_ARGUMENT: throw VideoError(path: url.path, reason: "asked for frames past its \(total)")
        case CVC_ERR_OUT_OF_MEMORY: throw VideoError(path: url.path, reason: "out of memory")
        default: throw VideoError(path: url.path, reason: "the decoder failed")
        }
        let w = Int(width), h = Int(height), size = w * h * 3
        let images = (0..<indices.count).map { i in
            RGBImage(width: w, height: h, pixels: Array(UnsafeBufferPointer(start: out! + i * size, count: size)))
        }
        return (images, Int(total))
    }

    /// File extensions taken as videos (by `blip index add` and `blip match`).
    public static let extensions: Set<String> = ["mp4", "m4v", "mov", "avi", "mkv", "webm", "mpg", "mpeg", "gif"]

    public static func isVideo(_ url: URL) -> Bool { extensions.contains(url.pathExtension.lowercased()) }
}
