import BLIP
import Foundation
import Hummingbird
import NIOCore

/// Holds one admission slot until it is released (a streamed response runs after its handler
/// returned, so the slot must live as long as the response body does).
final class AdmissionTicket: Sendable {
    private let counter: AdmissionCounter

    init(_ counter: AdmissionCounter) { self.counter = counter }

    deinit { counter.leave() }
}

/// What a streamed generation reports to the response body.
private enum StreamEvent: Sendable {
    case text(String)
    case done(String)
    case failed(APIError)
    /// Nothing new for a while: a comment line goes out, so a client that left is noticed.
    case heartbeat
}

/// Seconds between keep-alive comments while a stream has nothing new to send.
let streamHeartbeatSeconds = 0.5

/// One server-sent event: `data: <json>` and a blank line.
func serverSentEvent(_ object: Any) -> ByteBuffer {
    var buffer = ByteBuffer(string: "data: ")
    buffer.writeBytes(jsonBytes(object))
    buffer.writeString("\n\n")
    return buffer
}

extension BlipServer {
    /// A `text/event-stream` response (`"stream": true`) for one generation run by `work` on
    /// `thread`, between the batches of that model. Events, one JSON object each:
    /// `{"text": so far, "delta": new part}` after every token that changes the text (`delta`
    /// is left out when the text was rewritten rather than extended), then
    /// `{"done": true, <final>..., "inference_time_ms"}`, or `{"done": true, "error",
    /// "error_type"}` when the generation failed. A `: keep-alive` comment goes out when nothing
    /// else did for `streamHeartbeatSeconds`, so that a client that went away is noticed (the
    /// write fails) and the generation stops.
    func streamedResponse(
        thread: ModelThread, started: ContinuousClock.Instant, final: @escaping @Sendable (String) -> [String: Any],
        work: @escaping @Sendable (_ isCancelled: @escaping @Sendable () -> Bool,
                                   _ onText: @escaping @Sendable (String) -> Void) throws -> String
    ) throws -> Response {
        // The stream holds its own admission slot (the handler's is given back when it returns).
        guard admission.tryEnter() else { throw busy() }
        let ticket = AdmissionTicket(admission)
        let body = ResponseBody { writer in
            let (events, continuation) = AsyncStream.makeStream(of: StreamEvent.self)
            let flag = CancellationFlag()
            let job = Task {
                do {
                    let text = try await thread.run {
                        try work({ flag.isCancelled }) { continuation.yield(.text($0)) }
                    }
                    continuation.yield(.done(text))
                } catch {
                    continuation.yield(.failed(APIError.from(error)))
                }
                continuation.finish()
            }
            let heartbeat = Task {
                while !Task.isCancelled {
                    try await Task.sleep(for: .seconds(streamHeartbeatSeconds))
                    continuation.yield(.heartbeat)
                }
            }
            defer { heartbeat.cancel() }
            var previous = ""
            do {
                for await event in events {
                    switch event {
                    case .text(let text):
                        var object: [String: Any] = ["text": text]
                        if text.hasPrefix(previous) { object["delta"] = String(text.dropFirst(previous.count)) }
                        previous = text
                        try await writer.write(serverSentEvent(object))
                    case .done(let text):
                        var object = final(text)
                        object["done"] = true
                        object["inference_time_ms"] = milliseconds(since: started)
                        try await writer.write(serverSentEvent(object))
                    case .heartbeat:
                        try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                    case .failed(let error):
                        try await writer.write(serverSentEvent(["done": true, "error": error.message, "error_type": error.type]))
                    }
                }
                try await writer.finish(nil)
                withExtendedLifetime(ticket) {}
            } catch {
                flag.cancel()  // the client went away: stop generating
                job.cancel()
                throw error
            }
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-cache"],
                        body: body)
    }

    /// A streamed caption of `image` (one sequence; `num_return_sequences` is refused).
    func streamedCaption(_ image: RGBImage, prompt: String?, parameters: GenerationParameters,
                         started: ContinuousClock.Instant) throws -> Response {
        guard let thread = captionThread, let service = services.caption else {
            throw APIError.modelNotLoaded("captioning", option: "--caption-model")
        }
        let options = try parameters.resolve(defaults: service.defaultGeneration, limits: limits)
        return try streamedResponse(thread: thread, started: started, final: { ["caption": $0] }) { isCancelled, onText in
            try service.captionStreaming(image, prompt: prompt, options: options, isCancelled: isCancelled, onText: onText)
        }
    }

    /// A streamed answer to `question` about `image`.
    func streamedAnswer(_ image: RGBImage, question: String, parameters: GenerationParameters,
                        started: ContinuousClock.Instant) throws -> Response {
        guard let thread = answerThread, let service = services.questionAnswering else {
            throw APIError.modelNotLoaded("question answering", option: "--vqa-model")
        }
        let options = try parameters.resolve(defaults: service.defaultGeneration, limits: limits)
        return try streamedResponse(thread: thread, started: started, final: { ["answer": $0, "question": question] }) { isCancelled, onText in
            try service.answerStreaming(image, question: question, options: options, isCancelled: isCancelled, onText: onText)
        }
    }

    /// The official rank mode over `candidates` on the VQA model's thread: the best answer and
    /// the ranked list.
    func rankedAnswers(_ image: RGBImage, question: String, candidates: [String], k: Int?,
                       started: ContinuousClock.Instant) async throws -> Response {
        guard let thread = answerThread, let service = services.questionAnswering else {
            throw APIError.modelNotLoaded("question answering", option: "--vqa-model")
        }
        if candidates.isEmpty { throw APIError.unprocessable("candidates is empty: give the answers to rank", type: "missing_field") }
        if candidates.count > limits.maxTextsPerRequest {
            throw APIError.unprocessable("at most \(limits.maxTextsPerRequest) candidates per request", type: "too_many_texts")
        }
        let cleaned = try candidates.enumerated().map { try checkText($1, field: "candidates[\($0)]", limits: limits) }
        let keep = k ?? min(cleaned.count, 128)
        guard keep >= 1 else { throw APIError.unprocessable("k must be at least 1, got \(keep)", type: "invalid_parameter") }
        let ranked = try await thread.run {
            try service.rankAnswers(image, question: question, candidates: cleaned, k: min(keep, cleaned.count))
        }
        return jsonResponse([
            "answer": ranked.first?.answer ?? "", "question": question,
            "ranked": ranked.map { ["answer": $0.answer, "probability": $0.probability] },
            "inference_time_ms": milliseconds(since: started),
        ])
    }
}
