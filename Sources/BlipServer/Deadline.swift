import Foundation

/// Runs `body` and returns its result, or throws `timeoutError()` once `seconds` of wall-clock time
/// have passed, whichever comes first. On timeout (or when the caller is cancelled) `body`'s task is
/// cancelled; the caller does not wait for it to notice, so a body stuck in a call that ignores
/// cancellation cannot hold the caller past the deadline.
func withDeadline<T: Sendable>(seconds: Double, timeoutError: @escaping @Sendable () -> Error,
                               _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let outcome = FirstOutcome<T>()
    let work = Task {
        do { outcome.resume(with: .success(try await body())) } catch { outcome.resume(with: .failure(error)) }
    }
    let timer = Task {
        try await Task.sleep(for: .milliseconds(Int64((seconds * 1000).rounded(.up))))
        if outcome.resume(with: .failure(timeoutError())) { work.cancel() }
    }
    defer { timer.cancel() }
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { outcome.install($0) }
    } onCancel: {
        work.cancel()
        outcome.resume(with: .failure(CancellationError()))
    }
}

/// Delivers the first of several competing results to one continuation (installed before or after
/// the result arrives).
private final class FirstOutcome<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, Error>?
    private var result: Result<T, Error>?

    func install(_ c: CheckedContinuation<T, Error>) {
        let ready: Result<T, Error>? = lock.withLock {
            if let result { return result }
            continuation = c
            return nil
        }
        if let ready { c.resume(with: ready) }
    }

    /// True if this result was the first.
    @discardableResult
    func resume(with r: Result<T, Error>) -> Bool {
        let (first, c): (Bool, CheckedContinuation<T, Error>?) = lock.withLock {
            guard result == nil else { return (false, nil) }
            result = r
            defer { continuation = nil }
            return (true, continuation)
        }
        c?.resume(with: r)
        return first
    }
}
