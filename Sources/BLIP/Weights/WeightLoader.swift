import Foundation

/// Something that holds named tensors (a safetensors checkpoint, or tensors in memory for tests).
public protocol WeightStore {
    /// Every tensor name in the store.
    var tensorNames: [String] { get }
    /// The tensor called `name` as fp32, or nil when absent.
    func loadTensor(_ name: String) throws -> Tensor?
    /// The matrix `name` as its stored half-precision bits when the store holds it so and
    /// `precision` can use them as they are: BF16 for `.bf16`, F16 for `.fp32` and `.bf16`
    /// (nil: use `loadTensor`).
    func loadStoredMatrix(_ name: String, for precision: Precision) -> WeightMatrix?
}

extension WeightStore {
    public func loadStoredMatrix(_ name: String, for precision: Precision) -> WeightMatrix? { nil }
}

/// In-memory weights (tests, converted checkpoints).
public struct DictionaryWeightStore: WeightStore {
    public var tensors: [String: Tensor]
    public init(_ tensors: [String: Tensor]) { self.tensors = tensors }
    public var tensorNames: [String] { Array(tensors.keys) }
    public func loadTensor(_ name: String) throws -> Tensor? { tensors[name] }
}

/// Strict loading: every tensor the model asks for must exist with the expected shape, and after
/// loading every tensor in the store must have been used, except names on the ignore list.
public final class WeightLoader {
    let store: WeightStore
    private(set) var used = Set<String>()
    /// Suffixes of names that may stay unused (buffers older checkpoints saved).
    public static let ignoredSuffixes = ["position_ids"]

    /// The precision Linear weights are converted to as they load (`fp32`: kept as stored).
    public let precision: Precision

    public init(store: WeightStore, precision: Precision = .fp32) {
        self.store = store
        self.precision = precision
    }

    /// A view of the weights under `prefix` (joined with ".").
    public func scope(_ prefix: String) -> WeightScope { WeightScope(loader: self, prefix: prefix) }

    func load(_ name: String, shape: [Int]?) throws -> Tensor? {
        guard let t = try store.loadTensor(name) else { return nil }
        try accept(name, shape: t.shape, expected: shape)
        return t
    }

    /// Checks a loaded tensor's shape against the expected one and marks it used.
    private func accept(_ name: String, shape: [Int], expected: [Int]?) throws {
        if let expected, shape != expected {
            throw BlipModelError.shapeMismatch(name: name, expected: expected, actual: shape)
        }
        used.insert(name)
    }

    /// The Linear weight `name` in the loader's precision: a BF16-stored matrix is taken as is for
    /// `bf16`, an F16-stored one for `fp32` and `bf16` (no fp32 copy); everything else loads as
    /// fp32 and converts.
    func loadMatrix(_ name: String, shape: [Int]) throws -> WeightMatrix? {
        if let m = store.loadStoredMatrix(name, for: precision) {
            try accept(name, shape: [m.rows, m.cols], expected: shape)
            return m
        }
        guard let t = try load(name, shape: shape) else { return nil }
        return .from(t, precision: precision)
    }

    /// Marks `name` as used without loading it (a duplicate the model does not need).
    func markUsed(_ name: String) { used.insert(name) }

    /// Throws when the store holds tensors nobody used (other than ignored buffers).
    public func finish() throws {
        let unused = store.tensorNames.filter { name in
            !used.contains(name) && !WeightLoader.ignoredSuffixes.contains { name.hasSuffix($0) }
        }.sorted()
        if !unused.isEmpty { throw BlipModelError.unusedWeights(unused) }
    }
}

/// The weights under one key prefix, mirroring transformers' module tree
/// (`scope("encoder").scope("layers").scope(0)` → `encoder.layers.0.`).
public struct WeightScope {
    let loader: WeightLoader
    public let prefix: String

    /// The precision this model's Linear weights load in.
    public var precision: Precision { loader.precision }

    func key(_ name: String) -> String { prefix.isEmpty ? name : "\(prefix).\(name)" }

    public func scope(_ name: String) -> WeightScope { WeightScope(loader: loader, prefix: key(name)) }
    public func scope(_ index: Int) -> WeightScope { scope(String(index)) }

    /// The tensor `name`, checked against `shape` when given.
    public func tensor(_ name: String, shape: [Int]? = nil) throws -> Tensor {
        guard let t = try loader.load(key(name), shape: shape) else {
            throw BlipModelError.missingWeight(key(name))
        }
        return t
    }

    /// The tensor `name` if present (tied or optional weights).
    public func optionalTensor(_ name: String, shape: [Int]? = nil) throws -> Tensor? {
        try loader.load(key(name), shape: shape)
    }

    /// `weight` [out, in] and `bias` [out] of a `nn.Linear`.
    public func linear(_ name: String, in inFeatures: Int, out outFeatures: Int, bias: Bool = true) throws -> Linear {
        let s = scope(name)
        guard let matrix = try loader.loadMatrix(s.key("weight"), shape: [outFeatures, inFeatures]) else {
            throw BlipModelError.missingWeight(s.key("weight"))
        }
        return Linear(matrix: matrix, bias: bias ? try s.tensor("bias", shape: [outFeatures]) : nil)
    }

    /// `weight` and `bias` of a `nn.LayerNorm` over `size` features.
    public func layerNorm(_ name: String, size: Int, eps: Double) throws -> LayerNorm {
        let s = scope(name)
        return LayerNorm(weight: try s.tensor("weight", shape: [size]), bias: try s.tensor("bias", shape: [size]),
                         eps: Float(eps))
    }
}
