import Foundation
import Hummingbird

extension BlipServer {
    /// Receives the whole request body first, then runs `handler` with a request whose body is that
    /// buffer. Model admission is counted inside `handler`, so a slow upload holds no admission slot;
    /// what it holds instead is counted in bytes actually received (`maxBodyBytesInFlight`, 503 beyond)
    /// and in time (`requestTimeoutSeconds`, 408 beyond). The bytes are given back when `handler` ends.
    func withReceivedBody(_ request: Request, _ handler: (Request) async throws -> Response) async throws -> Response {
        let reservation = BudgetReservation(bodyBudget)
        defer { reservation.releaseAll() }
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limits.maxBodyBytes {
            throw APIError.tooLarge(limits.maxBodyBytes)
        }
        let buffer = try await receiveBody(request.body, reservation: reservation)
        var buffered = request
        buffered.body = RequestBody(buffer: buffer)
        return try await handler(buffered)
    }

    /// The body's bytes, within the size limit, the bytes-in-flight budget and the request timeout.
    private func receiveBody(_ body: RequestBody, reservation: BudgetReservation) async throws -> ByteBuffer {
        let maxBytes = limits.maxBodyBytes
        let timeout = limits.requestTimeoutSeconds
        let busy = bodyBudgetBusy()
        // Structured (the reader is cancelled and awaited): nothing else may read the body meanwhile.
        return try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
            group.addTask {
                var collected = ByteBuffer()
                for try await chunk in body {
                    guard collected.readableBytes + chunk.readableBytes <= maxBytes else { throw APIError.tooLarge(maxBytes) }
                    guard reservation.add(chunk.readableBytes) else { throw busy }
                    collected.writeImmutableBuffer(chunk)
                }
                return collected
            }
            group.addTask {
                try await Task.sleep(for: .milliseconds(Int64((timeout * 1000).rounded(.up))))
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let buffer = first else {
                throw APIError.requestTimeout(seconds: timeout)
            }
            return buffer
        }
    }

    func bodyBudgetBusy() -> APIError {
        APIError(.serviceUnavailable, "server_busy",
                 "the server is receiving too many request bodies (\(limits.maxBodyBytesInFlight) bytes buffered at most); retry later",
                 headers: [.retryAfter: String(limits.retryAfterSeconds)])
    }
}

extension APIError {
    /// 408: the body did not arrive in time (the connection is closed after the answer).
    static func requestTimeout(seconds: Double) -> APIError {
        APIError(.requestTimeout, "request_timeout",
                 "the request body did not arrive within \(formatSeconds(seconds)) seconds (--request-timeout)",
                 headers: [.connection: "close"])
    }
}

/// "30" for 30.0, "0.3" for 0.3.
func formatSeconds(_ s: Double) -> String {
    s == s.rounded() && abs(s) < 1e15 ? String(Int(s)) : String(s)
}
