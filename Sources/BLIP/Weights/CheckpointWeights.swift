import Foundation

extension SafeTensorsCheckpoint: WeightStore {
    public var tensorNames: [String] { names }
    public func loadTensor(_ name: String) throws -> Tensor? {
        contains(name) ? try tensor(name) : nil
    }
    public func loadStoredMatrix(_ name: String, for precision: Precision) -> WeightMatrix? {
        switch (info(name)?.dtype, precision) {
        case (.bf16, .bf16): return bf16Matrix(name)
        case (.f16, .fp32), (.f16, .bf16): return f16Matrix(name)
        default: return nil
        }
    }
}

/// Opens the weights of a model directory: `model.safetensors` or a sharded safetensors index,
/// else `pytorch_model.bin` (or its sharded index), read by the restricted unpickler; an error
/// that says what was expected when none exists.
func openCheckpoint(directory: URL) throws -> any WeightStore {
    try requireModelDirectory(directory)
    let fm = FileManager.default
    if !fm.fileExists(atPath: directory.appendingPathComponent("model.safetensors").path),
       !fm.fileExists(atPath: directory.appendingPathComponent("model.safetensors.index.json").path) {
        if let torch = try openTorchWeights(directory: directory) { return torch }
        throw BlipModelError.missingFile(directory.appendingPathComponent("model.safetensors").path)
    }
    return try SafeTensorsCheckpoint(directory: directory)
}
