import BLIP
import Foundation
import Hummingbird

/// What the request handlers do with a body before any image is decoded or any model runs, for the fuzz
/// harnesses in Sources/Fuzz (package access: not public API). Each entry point throws what the handler
/// would throw; the harnesses check it is an `APIError` with a client-error status.
package enum ServerFuzzEntryPoints {
    /// The multipart endpoints (`/caption`, `/vqa`): boundary from `contentType`, parts, form fields,
    /// generation options from the form, resolved against default options and limits, and the text fields
    /// checked. Returns the number of parts.
    package static func multipart(contentType: String, body: [UInt8]) throws -> Int {
        guard let boundary = MultipartParser.boundary(contentType: contentType) else {
            throw APIError.badRequest("expected Content-Type multipart/form-data with a boundary", type: "invalid_multipart")
        }
        let parts = try MultipartParser.parse(body, boundary: boundary)
        precondition(parts.count <= MultipartParser.maxParts, "parser returned \(parts.count) parts")
        let bytes = parts.reduce(0) { $0 + $1.body.count }
        precondition(bytes <= body.count, "parts hold \(bytes) bytes of a \(body.count)-byte body")
        let form = MultipartForm(parts: parts)
        let limits = ServerLimits()
        _ = try GenerationParameters.fromForm(form.fields).resolve(defaults: GenerationOptions(), limits: limits)
        for field in ["prompt", "question"] {
            if let text = form.fields[field], !text.isEmpty { _ = try checkText(text, field: field, limits: limits) }
        }
        for texts in form.repeated.values { precondition(!texts.isEmpty) }
        return parts.count
    }

    /// The JSON endpoints: `kind` 0 `/api/v1/inference/blip`, 1 `/match`, 2 the hosted `POST /`. Decodes
    /// the body, resolves generation options, checks texts and base64-decodes the images (at most
    /// `maxImageBytes` of base64 each, to keep one execution cheap).
    package static func jsonBody(kind: Int, body: [UInt8], maxImageBytes: Int = 4096) throws {
        let buffer = ByteBuffer(bytes: body)
        let limits = ServerLimits()
        func image(_ base64: String, field: String) throws {
            if base64.utf8.count <= maxImageBytes { _ = try decodeBase64Image(base64, field: field) }
        }
        switch kind {
        case 0:
            let request = try decodeJSONBody(InferenceRequest.self, from: buffer)
            _ = try request.parameters.resolve(defaults: GenerationOptions(), limits: limits)
            if let question = request.question { _ = try checkText(question, field: "question", limits: limits) }
            if let prompt = request.prompt { _ = try checkText(prompt, field: "prompt", limits: limits) }
            try image(request.image, field: "image")
        case 1:
            let request = try decodeJSONBody(MatchRequest.self, from: buffer)
            for (i, text) in request.texts.enumerated() { _ = try checkText(text, field: "texts[\(i)]", limits: limits) }
            try image(request.image, field: "image")
        default:
            let request = try decodeJSONBody(HostedRequest.self, from: buffer)
            _ = try request.parameters?.resolve(defaults: GenerationOptions(), limits: limits)
            for (i, texts) in (request.inputs.texts ?? []).enumerated() {
                for (j, text) in texts.enumerated() { _ = try checkText(text, field: "inputs.texts[\(i)][\(j)]", limits: limits) }
            }
            for (i, hosted) in request.inputs.images.enumerated() {
                if let b64 = hosted.b64 { try image(b64, field: "inputs.images[\(i)].b64") }
            }
        }
    }

    /// The HTTP status of an error thrown by an entry point, or nil when it is not an `APIError`
    /// (which the server would answer with 500).
    package static func status(of error: Error) -> Int? {
        (error as? APIError).map { Int($0.status.code) }
    }
}
