import BLIP
import Foundation

/// Limits and batching settings of a `BlipServer`.
public struct ServerLimits: Sendable, Codable, Equatable {
    /// Requests for one model answered together at most.
    public var maxBatchSize = 8
    /// How long the first request of a batch waits for others to join it.
    public var maxWaitMilliseconds = 10
    /// Requests waiting for one model at most; more are refused with 503 and Retry-After.
    public var queueLimit = 32
    /// Request bodies larger than this are refused with 413.
    public var maxBodyBytes = 16 * 1024 * 1024
    /// Images whose header declares more pixels than this are refused with 422 (before decoding):
    /// the CLI's budget, 64 megapixels.
    public var maxImagePixels = RGBImage.defaultMaxPixels
    /// Turn photos upright for their EXIF orientation, as transformers' `load_image` does.
    public var applyExifOrientation = true
    /// Images in one request at most (hosted-handler payload).
    public var maxImagesPerRequest = 8
    /// Texts (questions or match candidates) in one request at most.
    public var maxTextsPerRequest = 32
    /// Characters in one question or text at most.
    public var maxTextLength = 1000
    /// Cap on `max_new_tokens` a request may ask for.
    public var maxNewTokensLimit = 64
    /// Cap on `num_beams` a request may ask for.
    public var maxBeamsLimit = 8
    /// Fetch `{"url": ...}` images (http/https only). Off by default.
    public var allowRemoteImages = false
    /// Remote image download: bytes at most (also bounded by `maxBodyBytes`) and seconds at most.
    public var remoteImageTimeoutSeconds = 10.0
    /// Seconds a client is told to wait (Retry-After) when a queue is full.
    public var retryAfterSeconds = 1
    /// Remote images resolving to loopback, private, link-local or other non-public addresses are
    /// fetched too (off by default: such URLs are refused with 422 `remote_image_forbidden`).
    public var allowPrivateRemoteImages = false
    /// Seconds a request's body may take to arrive in full (then 408); a new connection whose first
    /// request head does not arrive within it is closed.
    public var requestTimeoutSeconds = 30.0
    /// Seconds a keep-alive connection may stay idle between requests before it is closed.
    public var idleTimeoutSeconds = 60.0
    /// Open connections at most; connections beyond it are closed as soon as they are accepted.
    public var maxConnections = 512
    /// Request-body bytes buffered across all requests at most (counted as bytes arrive); more → 503.
    public var maxBodyBytesInFlight = 256 * 1024 * 1024
    /// Decoded image pixels held by requests at once, in megapixels (10⁶ pixels); an image reserves
    /// width × height from its header before decoding. Over budget → 503 (413 for one image larger than
    /// the whole budget).
    public var maxDecodedMegapixels = 256.0

    public init() {}

    enum CodingKeys: String, CodingKey {
        case maxBatchSize = "max_batch_size", maxWaitMilliseconds = "max_wait_ms", queueLimit = "queue_limit"
        case maxBodyBytes = "max_body_bytes", maxImagePixels = "max_image_pixels"
        case applyExifOrientation = "apply_exif_orientation"
        case maxImagesPerRequest = "max_images_per_request", maxTextsPerRequest = "max_texts_per_request"
        case maxTextLength = "max_text_length", maxNewTokensLimit = "max_new_tokens_limit"
        case maxBeamsLimit = "max_beams_limit", allowRemoteImages = "allow_remote_images"
        case remoteImageTimeoutSeconds = "remote_image_timeout_seconds", retryAfterSeconds = "retry_after_seconds"
        case allowPrivateRemoteImages = "allow_private_remote_images", requestTimeoutSeconds = "request_timeout_seconds"
        case idleTimeoutSeconds = "idle_timeout_seconds", maxConnections = "max_connections"
        case maxBodyBytesInFlight = "max_body_bytes_in_flight", maxDecodedMegapixels = "max_decoded_megapixels"
    }

    /// Checks the values; throws a message naming the bad one.
    public func validate() throws {
        func bad(_ m: String) -> ServerConfigurationError { ServerConfigurationError(message: m) }
        if !(1...1024).contains(maxBatchSize) { throw bad("max batch size (--max-batch-size) must be in 1...1024, got \(maxBatchSize)") }
        if !(0...60_000).contains(maxWaitMilliseconds) { throw bad("max wait (--max-wait-ms) must be in 0...60000, got \(maxWaitMilliseconds)") }
        if !(1...100_000).contains(queueLimit) { throw bad("queue limit (--queue-limit) must be in 1...100000, got \(queueLimit)") }
        if maxBodyBytes < 1024 { throw bad("max body bytes (--max-body-bytes) must be at least 1024, got \(maxBodyBytes)") }
        if maxImagePixels < 1 { throw bad("max image pixels (--max-image-pixels) must be positive, got \(maxImagePixels)") }
        func seconds(_ value: Double, _ name: String) throws {
            guard value.isFinite, (0.01...86_400).contains(value) else {
                throw bad("\(name) must be a number of seconds in 0.01...86400, got \(value)")
            }
        }
        try seconds(requestTimeoutSeconds, "request timeout (--request-timeout)")
        try seconds(idleTimeoutSeconds, "idle timeout (--idle-timeout)")
        try seconds(remoteImageTimeoutSeconds, "remote image timeout (--remote-image-timeout)")
        if !(1...1_000_000).contains(maxConnections) { throw bad("max connections (--max-connections) must be in 1...1000000, got \(maxConnections)") }
        if maxBodyBytesInFlight < maxBodyBytes {
            throw bad("max body bytes in flight (--max-body-bytes-in-flight, \(maxBodyBytesInFlight)) must be at least max body bytes (--max-body-bytes, \(maxBodyBytes))")
        }
        guard maxDecodedMegapixels.isFinite, (0.001...1_000_000).contains(maxDecodedMegapixels) else {
            throw bad("max decoded megapixels (--max-decoded-megapixels) must be in 0.001...1000000, got \(maxDecodedMegapixels)")
        }
    }
}

/// A bad server setting.
public struct ServerConfigurationError: Error, CustomStringConvertible, LocalizedError {
    public var message: String
    public var description: String { message }
    public var errorDescription: String? { message }
}

/// The version `GET /info` reports.
public let blipServerVersion = swiftBLIPVersion
