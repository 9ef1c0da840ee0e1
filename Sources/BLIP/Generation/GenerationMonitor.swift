import Foundation

/// Watches a generation step by step: token streaming and cancellation.
///
/// `onStep` gets the sequences so far (one row per generated sequence: images × return
/// sequences, prompt included) after every greedy or sampled token; beam search reports only
/// its final result (its best beam can change at every step). `isCancelled` is checked before
/// every step; when it returns true the generation stops with `CancellationError`.
public struct GenerationMonitor: Sendable {
    public var onStep: (@Sendable ([[Int]]) -> Void)?
    public var isCancelled: @Sendable () -> Bool

    public init(onStep: (@Sendable ([[Int]]) -> Void)? = nil, isCancelled: @escaping @Sendable () -> Bool = { false }) {
        self.onStep = onStep
        self.isCancelled = isCancelled
    }

    /// Throws `CancellationError` when the generation should stop.
    func checkCancelled() throws {
        if isCancelled() { throw CancellationError() }
    }
}

/// A flag set once from any thread (e.g. a task's cancellation handler) and read by a generation.
public final class CancellationFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var set = false

    public init() {}

    public func cancel() { lock.withLock { set = true } }

    public var isCancelled: Bool { lock.withLock { set } }
}
