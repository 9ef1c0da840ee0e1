import Foundation

/// A reference-counted block of fp32 values.
///
/// The memory is either owned (allocated here, freed on deinit) or borrowed from another
/// object (for example a memory-mapped safetensors file) that `keepAlive` retains.
/// Storage is shared between tensor views; ops never write into a storage they did not
/// create, so sharing a tensor across threads is safe.
public final class TensorStorage: @unchecked Sendable {
    /// First element.
    public let pointer: UnsafeMutablePointer<Float>
    /// Number of fp32 elements.
    public let count: Int
    private let owned: Bool
    private let keepAlive: AnyObject?

    /// Allocates `count` uninitialised floats (64-byte aligned for SIMD loads).
    public init(uninitializedCount count: Int) {
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        self.pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        self.count = count
        self.owned = true
        self.keepAlive = nil
    }

    /// Allocates `count` floats set to zero.
    public convenience init(zeroedCount count: Int) {
        self.init(uninitializedCount: count)
        pointer.initialize(repeating: 0, count: count)
    }

    /// Wraps memory owned by `owner` (kept alive as long as this storage lives).
    public init(borrowing pointer: UnsafeMutablePointer<Float>, count: Int, owner: AnyObject) {
        self.pointer = pointer
        self.count = count
        self.owned = false
        self.keepAlive = owner
    }

    deinit {
        if owned { UnsafeMutableRawPointer(pointer).deallocate() }
    }

    /// Whether the memory is borrowed (e.g. a read-only file mapping) rather than allocated here.
    public var isBorrowed: Bool { !owned }

    /// Tells the kernel that elements [start, start + count) of borrowed, read-only mapped memory
    /// are not needed now, so the whole pages inside that range stop counting as resident (they
    /// are read back from the file if touched again). Used once a weight has been converted to
    /// another precision. No-op for owned memory.
    public func adviseNotNeeded(start: Int, count: Int) {
        #if os(Linux)
        guard !owned, count > 0 else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let begin = UInt(bitPattern: pointer + start), end = UInt(bitPattern: pointer + start + count)
        let first = (begin + UInt(page) - 1) / UInt(page) * UInt(page), last = end / UInt(page) * UInt(page)
        guard last > first else { return }
        _ = madvise(UnsafeMutableRawPointer(bitPattern: first), Int(last - first), MADV_DONTNEED)
        #endif
    }
}

/// A strided fp32 tensor (row-major shapes, PyTorch conventions).
///
/// Tensors are values: views (`reshaped`, `transposed`, `slice`) share storage, and every op
/// returns a new tensor. Most kernels need contiguous input and call `contiguous()` first.
public struct Tensor: Sendable {
    public let storage: TensorStorage
    /// Offset of element [0, 0, ...] in `storage`, in elements.
    public let offset: Int
    public let shape: [Int]
    public let strides: [Int]

    /// Creates a view over `storage`.
    public init(storage: TensorStorage, offset: Int = 0, shape: [Int], strides: [Int]? = nil) {
        self.storage = storage
        self.offset = offset
        self.shape = shape
        self.strides = strides ?? Tensor.contiguousStrides(for: shape)
        precondition(self.strides.count == shape.count, "strides/shape rank mismatch")
    }

    /// A new uninitialised contiguous tensor.
    public init(uninitializedShape shape: [Int]) {
        self.init(storage: TensorStorage(uninitializedCount: shape.reduce(1, *)), shape: shape)
    }

    /// A new contiguous tensor of zeros.
    public static func zeros(_ shape: [Int]) -> Tensor {
        Tensor(storage: TensorStorage(zeroedCount: shape.reduce(1, *)), shape: shape)
    }

    /// A new contiguous tensor filled with `value`.
    public static func full(_ shape: [Int], _ value: Float) -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        t.mutablePointer.initialize(repeating: value, count: t.count)
        return t
    }

    /// A contiguous tensor holding `values` (count must equal the shape's product).
    public init(_ values: [Float], shape: [Int]) {
        precondition(values.count == shape.reduce(1, *), "\(values.count) values for shape \(shape)")
        self.init(uninitializedShape: shape)
        values.withUnsafeBufferPointer { mutablePointer.update(from: $0.baseAddress!, count: values.count) }
    }

    public static func contiguousStrides(for shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[i] = acc
            acc *= shape[i]
        }
        return strides
    }

    public var rank: Int { shape.count }
    public var count: Int { shape.reduce(1, *) }
    public var isContiguous: Bool { strides == Tensor.contiguousStrides(for: shape) || count <= 1 }

    /// Size of dimension `d` (negative counts from the end).
    public func size(_ d: Int) -> Int { shape[d < 0 ? shape.count + d : d] }

    /// Pointer to element [0, ...]. Only write through it into tensors you just created.
    public var mutablePointer: UnsafeMutablePointer<Float> { storage.pointer + offset }
    public var pointer: UnsafePointer<Float> { UnsafePointer(storage.pointer + offset) }

    /// The elements in row-major order.
    public var scalars: [Float] {
        let c = contiguous()
        return Array(UnsafeBufferPointer(start: c.pointer, count: c.count))
    }

    /// A contiguous copy, or `self` when already contiguous.
    public func contiguous() -> Tensor {
        if isContiguous { return self }
        let out = Tensor(uninitializedShape: shape)
        copyStrided(into: out.mutablePointer)
        return out
    }

    private func copyStrided(into dst: UnsafeMutablePointer<Float>) {
        let n = count
        if n == 0 { return }
        let r = rank
        // Copy row by row along the last dimension.
        let inner = shape[r - 1]
        let innerStride = strides[r - 1]
        var index = [Int](repeating: 0, count: r)
        var o = 0
        let src = pointer
        while o < n {
            var s = 0
            for d in 0..<(r - 1) { s += index[d] * strides[d] }
            if innerStride == 1 {
                (dst + o).update(from: src + s, count: inner)
            } else {
                for j in 0..<inner { dst[o + j] = src[s + j * innerStride] }
            }
            o += inner
            var d = r - 2
            while d >= 0 {
                index[d] += 1
                if index[d] < shape[d] { break }
                index[d] = 0
                d -= 1
            }
        }
    }

    /// A view with a new shape (one dimension may be -1). Copies when not contiguous.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var dims = newShape
        if let i = dims.firstIndex(of: -1) {
            let known = dims.enumerated().filter { $0.offset != i }.map(\.element).reduce(1, *)
            dims[i] = known == 0 ? 0 : count / known
        }
        precondition(dims.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        let c = contiguous()
        return Tensor(storage: c.storage, offset: c.offset, shape: dims)
    }

    /// A view with dimensions `a` and `b` swapped.
    public func transposed(_ a: Int, _ b: Int) -> Tensor {
        let a = a < 0 ? rank + a : a, b = b < 0 ? rank + b : b
        var s = shape, st = strides
        s.swapAt(a, b)
        st.swapAt(a, b)
        return Tensor(storage: storage, offset: offset, shape: s, strides: st)
    }

    /// A view with dimensions reordered (`permuted([0, 2, 1, 3])`).
    public func permuted(_ order: [Int]) -> Tensor {
        Tensor(storage: storage, offset: offset, shape: order.map { shape[$0] }, strides: order.map { strides[$0] })
    }

    /// A view of `range` along dimension `dim`.
    public func slice(_ dim: Int, _ range: Range<Int>) -> Tensor {
        let d = dim < 0 ? rank + dim : dim
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[d], "slice \(range) out of \(shape[d])")
        var s = shape
        s[d] = range.count
        return Tensor(storage: storage, offset: offset + range.lowerBound * strides[d], shape: s, strides: strides)
    }

    /// The sub-tensor at `index` along dimension 0 (rank drops by one).
    public subscript(index: Int) -> Tensor {
        precondition(index >= 0 && index < shape[0], "index \(index) out of \(shape[0])")
        return Tensor(storage: storage, offset: offset + index * strides[0],
                      shape: Array(shape.dropFirst()), strides: Array(strides.dropFirst()))
    }

    /// Element at a full index (slow; for tests and small lookups).
    public func item(_ index: [Int]) -> Float {
        var o = offset
        for (i, s) in zip(index, strides) { o += i * s }
        return storage.pointer[o]
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String { "Tensor\(shape)" }
}
