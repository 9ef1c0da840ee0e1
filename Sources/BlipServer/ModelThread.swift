import Foundation

/// A dedicated OS thread that runs blocking jobs one at a time, in order.
///
/// Model work (matrix multiplications for seconds at a time) runs here so it never blocks NIO's
/// event loops or Swift's cooperative thread pool. Jobs are awaited from async code.
public final class ModelThread: Sendable {
    /// The job list, shared with the thread (which outlives nothing: it stops when asked).
    private final class State: @unchecked Sendable {
        let condition = NSCondition()
        var jobs: [() -> Void] = []  // guarded by `condition`
        var stopping = false  // guarded by `condition`

        func loop() {
            while true {
                condition.lock()
                while jobs.isEmpty && !stopping { condition.wait() }
                if jobs.isEmpty {
                    condition.unlock()
                    return
                }
                let job = jobs.removeFirst()
                condition.unlock()
                job()
            }
        }

        func stop() {
            condition.lock()
            stopping = true
            condition.signal()
            condition.unlock()
        }
    }

    private let state = State()

    /// Starts the thread; `name` shows in debuggers and `top -H`.
    public init(name: String) {
        let state = self.state
        let thread = Thread { state.loop() }
        thread.name = name
        thread.stackSize = 8 << 20
        thread.start()
    }

    deinit { state.stop() }

    /// Stops the thread once the jobs already queued have run.
    public func shutdown() { state.stop() }

    /// Runs `body` on the thread and returns its result (or rethrows its error).
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        let state = self.state
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            state.condition.lock()
            defer { state.condition.unlock() }
            if state.stopping {
                continuation.resume(throwing: CancellationError())
                return
            }
            state.jobs.append { continuation.resume(with: Result { try body() }) }
            state.condition.signal()
        }
    }
}
