import Foundation

/// Errors from reading PyTorch checkpoints. Every message names the file and, where relevant,
/// the pickle record and opcode offset, the storage or the tensor.
public enum TorchCheckpointError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file could not be opened, inspected or mapped.
    case io(file: String, reason: String)
    /// Neither a zip archive nor a legacy pickle checkpoint (or a bad magic number).
    case notACheckpoint(file: String, reason: String)
    /// The zip structure is malformed: truncated, bad offsets, missing `data.pkl`...
    case invalidArchive(file: String, reason: String)
    /// A valid but unsupported container: compressed or encrypted entries, split archives,
    /// big-endian data, an unknown legacy protocol version.
    case unsupportedArchive(file: String, reason: String)
    /// The pickle is malformed: truncated, stack underflow, undefined memo key, bad arguments...
    case invalidPickle(file: String, record: String, offset: Int, reason: String)
    /// An opcode the restricted unpickler does not accept (extension registry, sets, out-of-band buffers...).
    case unsupportedOpcode(file: String, record: String, offset: Int, opcode: UInt8, name: String?)
    /// A global outside the allow-list (`os.system`, `builtins.eval`...). Nothing was imported or run.
    case forbiddenGlobal(file: String, record: String, offset: Int, global: String)
    /// The pickle exceeds a safety limit (nesting depth...).
    case limitExceeded(file: String, record: String, offset: Int, reason: String)
    /// A storage is missing, too short or inconsistently referenced.
    case invalidStorage(file: String, storage: String, reason: String)
    /// A tensor's view does not fit its storage (or its shape/strides are malformed).
    case invalidTensor(file: String, tensor: String, reason: String)
    /// No tensor with this name in the chosen state dict.
    case tensorNotFound(file: String, tensor: String)
    /// The tensor exists but its dtype cannot be read this way.
    case unsupportedDType(file: String, tensor: String, dtype: String)
    /// The requested state dict (`stateDictPath`) is not a dict in the file.
    case noStateDict(file: String, reason: String)

    public var description: String {
        switch self {
        case let .io(file, reason):
            return "pytorch checkpoint: \(file): \(reason)"
        case let .notACheckpoint(file, reason):
            return "pytorch checkpoint: \(file): not a PyTorch checkpoint: \(reason)"
        case let .invalidArchive(file, reason):
            return "pytorch checkpoint: \(file): invalid zip archive: \(reason)"
        case let .unsupportedArchive(file, reason):
            return "pytorch checkpoint: \(file): unsupported: \(reason)"
        case let .invalidPickle(file, record, offset, reason):
            return "pytorch checkpoint: \(file): \(record) at byte \(offset): invalid pickle: \(reason)"
        case let .unsupportedOpcode(file, record, offset, opcode, name):
            let hex = "0x" + String(opcode, radix: 16, uppercase: true)
            return "pytorch checkpoint: \(file): \(record) at byte \(offset): unsupported pickle opcode \(name.map { "\($0) (\(hex))" } ?? hex)"
        case let .forbiddenGlobal(file, record, offset, global):
            return "pytorch checkpoint: \(file): \(record) at byte \(offset): refusing to load global \(global) (not on the allow-list of tensor-rebuilding functions; nothing was executed)"
        case let .limitExceeded(file, record, offset, reason):
            return "pytorch checkpoint: \(file): \(record)\(offset >= 0 ? " at byte \(offset)" : ""): limit exceeded: \(reason)"
        case let .invalidStorage(file, storage, reason):
            return "pytorch checkpoint: \(file): storage \"\(storage)\": \(reason)"
        case let .invalidTensor(file, tensor, reason):
            return "pytorch checkpoint: \(file): tensor \"\(tensor)\": \(reason)"
        case let .tensorNotFound(file, tensor):
            return "pytorch checkpoint: \(file): no tensor named \"\(tensor)\""
        case let .unsupportedDType(file, tensor, dtype):
            return "pytorch checkpoint: \(file): tensor \"\(tensor)\" has dtype \(dtype), which cannot be read this way"
        case let .noStateDict(file, reason):
            return "pytorch checkpoint: \(file): no state dict: \(reason)"
        }
    }
}

extension TorchCheckpointError: LocalizedError {
    public var errorDescription: String? { description }
}
