import Foundation

/// Self-attention keys and values of every text layer for a batch of sequences.
///
/// A value type: copies share buffers until one of them is mutated (copy-on-write), so a beam
/// search can keep snapshots cheaply. Rows are padded to `capacity` positions: per layer the
/// keys are laid out [batch, capacity, C].
public struct TextKVCache {
    final class Buffers {
        var keys: [TensorStorage]
        var values: [TensorStorage]
        var capacity: Int

        init(layers: Int, batch: Int, capacity: Int, width: Int) {
            keys = (0..<layers).map { _ in TensorStorage(uninitializedCount: batch * capacity * width) }
            values = (0..<layers).map { _ in TensorStorage(uninitializedCount: batch * capacity * width) }
            self.capacity = capacity
        }

        init(keys: [TensorStorage], values: [TensorStorage], capacity: Int) {
            self.keys = keys
            self.values = values
            self.capacity = capacity
        }
    }

    private var buffers: Buffers
    public let batch: Int
    public let layers: Int
    public let width: Int
    /// Positions already cached.
    public internal(set) var length = 0
    /// Per row: 1 for a real token, 0 for padding, for every cached position (nil: all real).
    public private(set) var attentionMask: [[Int]]?

    /// An empty cache for `batch` rows of `layers` layers of width `width`, with room for
    /// `capacity` positions before it has to grow.
    public init(batch: Int, layers: Int, width: Int, capacity: Int) {
        self.batch = batch
        self.layers = layers
        self.width = width
        buffers = Buffers(layers: layers, batch: batch, capacity: max(capacity, 1), width: width)
    }

    public var capacity: Int { buffers.capacity }

    private mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&buffers) {
            buffers = copyBuffers(rows: Array(0..<batch), capacity: buffers.capacity)
        }
    }

    private func copyBuffers(rows: [Int], capacity: Int) -> Buffers {
        let old = buffers.capacity, w = width, n = length
        func copy(_ src: TensorStorage) -> TensorStorage {
            let dst = TensorStorage(uninitializedCount: rows.count * capacity * w)
            for (i, r) in rows.enumerated() {
                (dst.pointer + i * capacity * w).update(from: src.pointer + r * old * w, count: n * w)
            }
            return dst
        }
        return Buffers(keys: buffers.keys.map(copy), values: buffers.values.map(copy), capacity: capacity)
    }

    /// Makes room for `positions` positions.
    mutating func reserve(_ positions: Int) {
        if positions <= buffers.capacity {
            makeUnique()
            return
        }
        buffers = copyBuffers(rows: Array(0..<batch), capacity: max(positions, buffers.capacity * 2))
    }

    /// Writes keys/values [batch, T, C] of layer `layer` at positions `at..<at+T`.
    mutating func append(layer: Int, keys: Tensor, values: Tensor, at: Int) {
        let t = keys.shape[1], w = width, cap = buffers.capacity
        precondition(at + t <= cap && keys.shape[0] == batch, "cache overflow")
        let k = keys.contiguous(), v = values.contiguous()
        for b in 0..<batch {
            (buffers.keys[layer].pointer + (b * cap + at) * w).update(from: k.pointer + b * t * w, count: t * w)
            (buffers.values[layer].pointer + (b * cap + at) * w).update(from: v.pointer + b * t * w, count: t * w)
        }
    }

    /// Calls `body` with the key and value buffers of `layer` and the row capacity.
    func withLayer<R>(_ layer: Int, _ body: (UnsafePointer<Float>, UnsafePointer<Float>, Int) -> R) -> R {
        body(buffers.keys[layer].pointer, buffers.values[layer].pointer, buffers.capacity)
    }

    /// Records the padding mask of the next tokens (1 real, 0 padding), [batch][T].
    public mutating func appendMask(_ mask: [[Int]]) {
        precondition(mask.count == batch)
        if attentionMask == nil {
            if mask.allSatisfy({ $0.allSatisfy { $0 == 1 } }) { return }
            attentionMask = Array(repeating: Array(repeating: 1, count: length), count: batch)
        }
        for b in 0..<batch { attentionMask![b] += mask[b] }
    }

    /// Marks positions up to `length` that have no mask entry yet as real tokens.
    mutating func extendMask(to length: Int) {
        guard attentionMask != nil else { return }
        for b in 0..<batch where attentionMask![b].count < length {
            attentionMask![b] += Array(repeating: 1, count: length - attentionMask![b].count)
        }
    }

    /// Additive mask [batch * length] (0 or the most negative float), empty when nothing is masked.
    func additiveMask(length: Int) -> [Float] {
        guard let attentionMask else { return [] }
        var out = [Float](repeating: 0, count: batch * length)
        for b in 0..<batch {
            for j in 0..<min(length, attentionMask[b].count) where attentionMask[b][j] == 0 {
                out[b * length + j] = -Float.greatestFiniteMagnitude
            }
        }
        return out
    }

    /// A cache whose row `i` is this cache's row `rows[i]` (beam reordering, expansion).
    public func selectingRows(_ rows: [Int]) -> TextKVCache {
        var out = TextKVCache(batch: rows.count, layers: layers, width: width, buffers: copyBuffers(rows: rows, capacity: buffers.capacity))
        out.length = length
        out.attentionMask = attentionMask.map { m in rows.map { m[$0] } }
        return out
    }

    private init(batch: Int, layers: Int, width: Int, buffers: Buffers) {
        self.batch = batch
        self.layers = layers
        self.width = width
        self.buffers = buffers
    }
}
