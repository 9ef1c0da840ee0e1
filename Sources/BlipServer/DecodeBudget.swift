import BLIP
import Foundation

/// The decoded-pixel reservation of the request being handled (set by `BlipServer.guarded`).
enum PixelBudgetContext {
    @TaskLocal static var reservation: BudgetReservation?
}

/// The port a server listens on, set once it does.
final class BoundPort: @unchecked Sendable {
    private let lock = NSLock()
    private var port: Int?
    func set(_ p: Int) { lock.withLock { port = p } }
    var value: Int? { lock.withLock { port } }
}

extension BlipServer {
    /// Decodes an image after reserving its width × height (read from the header) from the global
    /// decoded-pixel budget, on the current request's reservation (given back when the request ends).
    /// One image larger than the whole budget: 413; budget full: 503 with Retry-After.
    func decodeWithinBudget(_ data: Data, source: String) async throws -> RGBImage {
        let size = try RGBImage.headerSize(of: data, maxPixels: limits.maxImagePixels, source: source)
        let pixels = size.width * size.height
        if pixels > pixelBudget.limit {
            throw APIError(.contentTooLarge, "image_over_decode_budget",
                           "\(source): a \(size.width)x\(size.height) image (\(pixels) pixels) is larger than the server's whole decoded-image budget (\(pixelBudget.limit) pixels, --max-decoded-megapixels)")
        }
        let reservation = PixelBudgetContext.reservation ?? BudgetReservation(pixelBudget)
        guard reservation.add(pixels) else {
            throw APIError(.serviceUnavailable, "decode_budget_full",
                           "the server is holding too many decoded images (\(pixelBudget.limit) pixels at most); retry later",
                           headers: [.retryAfter: String(limits.retryAfterSeconds)])
        }
        return try await decoder.decode(data, source: source)
    }

    /// The remote-image fetcher for this server's limits.
    func remoteImageFetcher() -> RemoteImageFetcher {
        RemoteImageFetcher(maxBytes: limits.maxBodyBytes, timeout: limits.remoteImageTimeoutSeconds,
                           allowPrivateAddresses: limits.allowPrivateRemoteImages, ownPort: boundPort.value)
    }
}
