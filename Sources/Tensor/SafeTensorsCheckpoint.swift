import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Sharded checkpoints

/// A model directory's weights: either a single `model.safetensors`, or the shards listed by
/// `model.safetensors.index.json` (`{"metadata": {...}, "weight_map": {name: shard file}}`).
///
/// Each shard is opened once. The index must agree with the shards: every mapped name must
/// exist in its shard, and every tensor in a shard must be mapped to that shard. Shard names
/// must be plain file names inside the directory.
public final class SafeTensorsCheckpoint: Sendable {
    public static let singleFileName = "model.safetensors"
    public static let indexFileName = "model.safetensors.index.json"

    /// The model directory.
    public let directory: URL
    /// The opened files (one for a single-file checkpoint).
    public let files: [SafeTensorsFile]
    /// All tensor names, sorted.
    public let names: [String]

    private let fileFor: [String: SafeTensorsFile]

    /// Opens the checkpoint in `directory`.
    public init(directory: URL) throws {
        self.directory = directory
        let fm = FileManager.default
        let single = directory.appendingPathComponent(SafeTensorsCheckpoint.singleFileName)
        let index = directory.appendingPathComponent(SafeTensorsCheckpoint.indexFileName)
        if fm.fileExists(atPath: single.path) {
            let f = try SafeTensorsFile(url: single)
            files = [f]
            fileFor = Dictionary(uniqueKeysWithValues: f.names.map { ($0, f) })
        } else if fm.fileExists(atPath: index.path) {
            (files, fileFor) = try SafeTensorsCheckpoint.openSharded(index: index, directory: directory)
        } else {
            throw SafeTensorsError.noCheckpoint(directory: directory.path)
        }
        names = fileFor.keys.sorted()
    }

    private struct Index: Decodable {
        let weightMap: [String: String]
        enum CodingKeys: String, CodingKey { case weightMap = "weight_map" }
    }

    private static func openSharded(index: URL, directory: URL) throws
        -> ([SafeTensorsFile], [String: SafeTensorsFile])
    {
        let indexPath = index.path
        let data: Data
        do {
            data = try Data(contentsOf: index)
        } catch {
            throw SafeTensorsError.io(file: indexPath, reason: "cannot read: \(error.localizedDescription)")
        }
        let weightMap: [String: String]
        do {
            weightMap = try JSONDecoder().decode(Index.self, from: data).weightMap
        } catch {
            throw SafeTensorsError.invalidIndex(
                file: indexPath, reason: "expected {\"weight_map\": {name: shard}} (\(describeDecodingError(error)))")
        }
        var shards: [String: SafeTensorsFile] = [:]
        for shard in Set(weightMap.values).sorted() {
            guard !shard.isEmpty, !shard.contains("/"), !shard.contains("\\"), shard != ".", shard != ".." else {
                throw SafeTensorsError.invalidIndex(file: indexPath, reason: "shard name \"\(shard)\" is not a plain file name")
            }
            let url = directory.appendingPathComponent(shard)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw SafeTensorsError.invalidIndex(file: indexPath, reason: "shard \(url.path) is missing")
            }
            shards[shard] = try SafeTensorsFile(url: url)
        }
        var fileFor: [String: SafeTensorsFile] = [:]
        for (name, shard) in weightMap.sorted(by: { $0.key < $1.key }) {
            let f = shards[shard]!
            guard f.contains(name) else {
                throw SafeTensorsError.invalidIndex(
                    file: indexPath, reason: "tensor \"\(name)\" is mapped to \(f.url.path), which does not contain it")
            }
            fileFor[name] = f
        }
        for (shard, f) in shards.sorted(by: { $0.key < $1.key }) {
            for name in f.names where weightMap[name] != shard {
                throw SafeTensorsError.invalidIndex(
                    file: indexPath,
                    reason: "tensor \"\(name)\" in \(f.url.path) is "
                        + (weightMap[name].map { "mapped to another shard, \($0)" } ?? "not listed in weight_map"))
            }
        }
        return (shards.keys.sorted().map { shards[$0]! }, fileFor)
    }

    /// The file holding tensor `name`, or `nil`.
    public func file(for name: String) -> SafeTensorsFile? { fileFor[name] }

    /// Whether the checkpoint holds a tensor named `name`.
    public func contains(_ name: String) -> Bool { fileFor[name] != nil }

    /// The header entry for `name`, or `nil`.
    public func info(_ name: String) -> SafeTensorInfo? { fileFor[name]?.info(name) }

    /// Tensor `name` as stored bf16 bits, when it is a BF16 matrix (see `SafeTensorsFile.bf16Matrix`).
    public func bf16Matrix(_ name: String) -> WeightMatrix? { fileFor[name]?.bf16Matrix(name) }

    /// Tensor `name` as stored half bits, when it is an F16 matrix (see `SafeTensorsFile.f16Matrix`).
    public func f16Matrix(_ name: String) -> WeightMatrix? { fileFor[name]?.f16Matrix(name) }

    /// Tensor `name` as fp32 (see `SafeTensorsFile.tensor(_:)`).
    public func tensor(_ name: String) throws -> Tensor {
        guard let f = fileFor[name] else {
            throw SafeTensorsError.tensorNotFound(file: directory.path, tensor: name)
        }
        return try f.tensor(name)
    }
}
