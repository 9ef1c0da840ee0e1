import Foundation

extension TorchCheckpointFile: WeightStore {
    public var tensorNames: [String] { names }

    public func loadTensor(_ name: String) throws -> Tensor? {
        guard let info = info(name) else { return nil }
        // Integer buffers (position_ids) are not weights: the loader ignores them by name.
        if ![.f32, .f16, .bf16, .f64].contains(info.dtype) { return nil }
        return try tensor(info)
    }

    public func loadStoredMatrix(_ name: String, for precision: Precision) -> WeightMatrix? {
        switch (info(name)?.dtype, precision) {
        case (.bf16, .bf16): return bf16Matrix(name)
        case (.f16, .fp32), (.f16, .bf16): return f16Matrix(name)
        default: return nil
        }
    }
}

/// Weights spread over several stores (the shards of a `pytorch_model.bin.index.json`), each
/// name in exactly one of them.
public struct ShardedWeightStore: WeightStore {
    let shardFor: [String: Int]
    let shards: [any WeightStore]
    public let tensorNames: [String]

    /// Throws when a name is in two shards.
    public init(_ shards: [any WeightStore], source: String) throws {
        var map = [String: Int](), names = [String]()
        for (i, shard) in shards.enumerated() {
            for name in shard.tensorNames {
                guard map[name] == nil else {
                    throw BlipModelError.invalidJSON(file: source, reason: "weight \(name) is in two shards")
                }
                map[name] = i
                names.append(name)
            }
        }
        self.shards = shards
        shardFor = map
        tensorNames = names
    }

    public func loadTensor(_ name: String) throws -> Tensor? {
        guard let i = shardFor[name] else { return nil }
        return try shards[i].loadTensor(name)
    }

    public func loadStoredMatrix(_ name: String, for precision: Precision) -> WeightMatrix? {
        shardFor[name].flatMap { shards[$0].loadStoredMatrix(name, for: precision) }
    }
}

/// The PyTorch weights of a model directory that has no safetensors: `pytorch_model.bin`, or
/// `pytorch_model.bin.index.json` and its shards (read without executing anything; see
/// `TorchCheckpointFile`). Nil when the directory has neither.
func openTorchWeights(directory: URL) throws -> (any WeightStore)? {
    let fm = FileManager.default
    let single = directory.appendingPathComponent("pytorch_model.bin")
    if fm.fileExists(atPath: single.path) { return try TorchCheckpointFile(url: single) }
    let index = directory.appendingPathComponent("pytorch_model.bin.index.json")
    guard fm.fileExists(atPath: index.path) else { return nil }
    guard let data = fm.contents(atPath: index.path),
          let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
          let map = root["weight_map"] as? [String: String] else {
        throw BlipModelError.invalidJSON(file: index.path, reason: "no \"weight_map\" object of name → shard file")
    }
    var shards = [any WeightStore]()
    for file in Set(map.values).sorted() {
        guard !file.contains("/"), !file.hasPrefix(".") else {
            throw BlipModelError.invalidJSON(file: index.path, reason: "shard \"\(file)\" is not a file name in the directory")
        }
        shards.append(try TorchCheckpointFile(url: directory.appendingPathComponent(file)))
    }
    return try ShardedWeightStore(shards, source: index.path)
}
