import BLIP
import Foundation
import Hummingbird

/// An error answered as JSON `{"error": message, "error_type": type}` with an HTTP status.
public struct APIError: Error, HTTPResponseError, CustomStringConvertible {
    public var status: HTTPResponse.Status
    /// Machine-readable kind, e.g. "invalid_image", "queue_full".
    public var type: String
    public var message: String
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ type: String, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.type = type
        self.message = message
        self.headers = headers
    }

    public var description: String { "\(status.code) \(type): \(message)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        jsonResponse()
    }

    /// The JSON response for this error.
    public func jsonResponse() -> Response {
        var headers = self.headers
        headers[.contentType] = "application/json; charset=utf-8"
        let body = jsonBytes(["error": message, "error_type": type])
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    static func badRequest(_ message: String, type: String = "bad_request") -> APIError {
        APIError(.badRequest, type, message)
    }

    static func unprocessable(_ message: String, type: String = "invalid_input") -> APIError {
        APIError(.unprocessableContent, type, message)
    }

    static func modelNotLoaded(_ task: String, option: String) -> APIError {
        APIError(.notFound, "model_not_loaded", "no \(task) model is loaded (start the server with \(option))")
    }

    static func tooLarge(_ limit: Int) -> APIError {
        APIError(.contentTooLarge, "body_too_large", "request body larger than \(limit) bytes")
    }

    /// Maps any error thrown while handling a request to an API error (never a crash, never a 500
    /// for a client's mistake).
    static func from(_ error: Error) -> APIError {
        switch error {
        case let e as APIError:
            return e
        case let e as ImageDecodingError:
            let type = e.kind == .tooManyPixels ? "image_too_large" : "invalid_image"
            return APIError(.unprocessableContent, type, e.description)
        case BlipModelError.invalidInput(let message):
            return APIError(.unprocessableContent, "invalid_input", message)
        case let e as HTTPResponseError where e.status == .contentTooLarge:
            return APIError(.contentTooLarge, "body_too_large", "request body too large")
        case let e as HTTPError:
            return APIError(e.status, "http_error", e.body ?? e.status.reasonPhrase)
        case let e as HTTPResponseError:
            return APIError(e.status, "http_error", e.status.reasonPhrase)
        default:
            return APIError(.internalServerError, "internal_error", String(describing: error))
        }
    }
}

/// Sorted-key JSON bytes of a JSONSerialization-compatible object.
func jsonBytes(_ object: Any) -> [UInt8] {
    let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
    return [UInt8](data)
}

/// A 200 (or `status`) JSON response.
func jsonResponse(_ object: Any, status: HTTPResponse.Status = .ok) -> Response {
    Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
             body: .init(byteBuffer: ByteBuffer(bytes: jsonBytes(object))))
}
