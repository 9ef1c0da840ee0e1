import Foundation

/// Why a request was not queued.
public struct QueueFullError: Error, Sendable {
    public var limit: Int
}

/// Dynamic batching for one model: concurrent requests are gathered into batches of at most
/// `maxBatchSize` (waiting at most `maxWait` for the first one to get company) and run on the
/// model's dedicated thread, one batch at a time.
///
/// Only requests with equal keys (e.g. the same generation options) share a batch; the oldest
/// request decides which key runs next, so no request starves. At most `queueLimit` requests wait;
/// `submit` throws `QueueFullError` beyond that. If a batch of several fails, each request is
/// retried alone so one bad input cannot fail the others.
public actor DynamicBatcher<Input: Sendable, Output: Sendable, Key: Equatable & Sendable> {
    public typealias Process = @Sendable ([Input], Key) throws -> [Output]

    private struct Pending {
        let input: Input
        let key: Key
        let continuation: CheckedContinuation<Output, Error>
        let enqueued: ContinuousClock.Instant
    }

    /// The model's name (for logs and metrics).
    public nonisolated let name: String
    public nonisolated let maxBatchSize: Int
    public nonisolated let maxWait: Duration
    public nonisolated let queueLimit: Int
    private let thread: ModelThread
    private let process: Process
    private let observer: (@Sendable (BatcherEvent) -> Void)?
    private var pending: [Pending] = []
    private var running = false
    private var sleeper: Task<Void, Never>?

    /// - Parameters:
    ///   - process: runs one batch (on `thread`); must return one output per input, in order.
    ///   - observer: told about queue depth and batch sizes (for metrics).
    public init(name: String, maxBatchSize: Int, maxWait: Duration, queueLimit: Int, thread: ModelThread,
                observer: (@Sendable (BatcherEvent) -> Void)? = nil, process: @escaping Process) {
        self.maxBatchSize = max(1, maxBatchSize)
        self.maxWait = maxWait
        self.queueLimit = max(1, queueLimit)
        self.thread = thread
        self.process = process
        self.observer = observer
        self.name = name
    }

    /// Requests waiting (not yet in a running batch).
    public var queueDepth: Int { pending.count }

    /// Queues `input` and returns its output once its batch has run.
    public func submit(_ input: Input, key: Key) async throws -> Output {
        guard pending.count < queueLimit else { throw QueueFullError(limit: queueLimit) }
        return try await withCheckedThrowingContinuation { continuation in
            pending.append(Pending(input: input, key: key, continuation: continuation, enqueued: .now))
            observer?(.queueDepth(pending.count))
            if !running {
                running = true
                Task { await self.drain() }
            } else if readyCount() >= maxBatchSize {
                sleeper?.cancel()
            }
        }
    }

    /// Requests that could join the oldest request's batch (the oldest itself always counts, even
    /// when its key is not equal to itself, e.g. one holding NaN).
    private func readyCount() -> Int {
        guard let first = pending.first else { return 0 }
        return 1 + pending.dropFirst().lazy.filter { $0.key == first.key }.count
    }

    private func drain() async {
        while let first = pending.first {
            let deadline = first.enqueued + maxWait
            if readyCount() < maxBatchSize && ContinuousClock.now < deadline {
                let sleeper = Task { _ = try? await Task.sleep(until: deadline, clock: .continuous) }
                self.sleeper = sleeper
                await sleeper.value
                self.sleeper = nil
            }
            // Take the oldest request (by position, so a key that is not equal to itself still
            // runs) and up to maxBatchSize - 1 later ones with an equal key, in arrival order.
            var batch: [Pending] = [pending[0]]
            var rest: [Pending] = []
            for p in pending.dropFirst() {
                if batch.count < maxBatchSize && p.key == first.key { batch.append(p) } else { rest.append(p) }
            }
            pending = rest
            observer?(.queueDepth(pending.count))
            observer?(.batch(size: batch.count))
            await run(batch, key: first.key)
        }
        running = false
    }

    private func run(_ batch: [Pending], key: Key) async {
        let process = self.process
        let inputs = batch.map(\.input)
        do {
            let outputs = try await thread.run { try process(inputs, key) }
            guard outputs.count == batch.count else {
                throw BatchCountError(expected: batch.count, actual: outputs.count)
            }
            for (p, output) in zip(batch, outputs) { p.continuation.resume(returning: output) }
        } catch {
            if batch.count == 1 {
                batch[0].continuation.resume(throwing: error)
                return
            }
            // Isolate the failure: run each request alone.
            for p in batch {
                let input = p.input
                do {
                    let outputs = try await thread.run { try process([input], key) }
                    guard outputs.count == 1 else { throw BatchCountError(expected: 1, actual: outputs.count) }
                    p.continuation.resume(returning: outputs[0])
                } catch {
                    p.continuation.resume(throwing: error)
                }
            }
        }
    }
}

/// What a batcher reports to its observer.
public enum BatcherEvent: Sendable {
    case queueDepth(Int)
    case batch(size: Int)
}

/// A service returned the wrong number of outputs for a batch.
struct BatchCountError: Error, CustomStringConvertible {
    var expected: Int
    var actual: Int
    var description: String { "model returned \(actual) results for a batch of \(expected)" }
}
