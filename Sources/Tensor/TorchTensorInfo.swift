import Foundation

/// One tensor of a checkpoint: a strided view of a storage.
public struct TorchTensorInfo: Sendable, Equatable {
    /// Its name in the chosen state dict (from `TorchCheckpointFile.info(_:)`), or its dotted
    /// path from the root object (inside `TorchCheckpointFile.root`).
    public let name: String
    /// Element type (from the storage type: FloatStorage → F32, HalfStorage → F16, ...).
    public let dtype: SafeTensorsDType
    public let shape: [Int]
    /// Strides in elements (PyTorch's `stride()`).
    public let strides: [Int]
    /// First element in the storage (PyTorch's `storage_offset()`).
    public let storageOffset: Int
    /// The storage's key (`data/<key>` in a zip checkpoint); tensors sharing it share memory.
    public let storageKey: String
    /// Elements in the whole storage.
    public let storageNumel: Int
    /// Device the tensor was saved from (`cpu`, `cuda:0`...).
    public let location: String

    /// Number of elements (1 for a 0-d tensor).
    public var elementCount: Int { shape.reduce(1, *) }
    /// Bytes of the tensor when contiguous.
    public var byteCount: Int { elementCount * dtype.byteSize }
    /// Whether the elements are stored row-major without gaps (dimensions of size 1 may have
    /// any stride, as in `torch.Tensor.is_contiguous`).
    public var isContiguous: Bool {
        if elementCount == 0 { return true }
        var expected = 1
        for (d, s) in zip(shape, strides).reversed() where d != 1 {
            if s != expected { return false }
            expected *= d
        }
        return true
    }

    func renamed(_ name: String) -> TorchTensorInfo {
        TorchTensorInfo(name: name, dtype: dtype, shape: shape, strides: strides, storageOffset: storageOffset,
                        storageKey: storageKey, storageNumel: storageNumel, location: location)
    }
}

/// A storage object that appears as a value of its own (not through a tensor).
public struct TorchStorageInfo: Sendable, Equatable {
    /// The storage's key (the `data/<key>` entry of a zip checkpoint).
    public let key: String
    public let dtype: SafeTensorsDType
    /// Elements in the storage.
    public let numel: Int
    /// The device it was saved from (`cpu`, `cuda:0`...); everything loads on the CPU.
    public let location: String
}
