import Foundation

// Public errors of the module are `LocalizedError`s whose `errorDescription` is their description.

extension APIError: LocalizedError {
    public var errorDescription: String? { description }
}

extension QueueFullError: LocalizedError {
    public var errorDescription: String? { "the queue is full (\(limit) requests waiting)" }
}
