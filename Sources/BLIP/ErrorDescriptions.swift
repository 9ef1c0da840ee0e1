import Foundation

// Every public error of the module is a `LocalizedError` whose `errorDescription` is the message
// the CLI prints, so apps showing `error.localizedDescription` get that message too (not
// "The operation could not be completed. (BLIP.BlipModelError error 3.)").

extension BlipModelError: LocalizedError {
    public var errorDescription: String? { description }
}

extension TokenizerError: LocalizedError {
    public var errorDescription: String? { description }
}
