import Foundation

// Reading PyTorch checkpoints (`torch.save` output: `.pth`, `.pt`, `pytorch_model.bin`)
// without executing anything. Two container formats:
//
//   zip (torch >= 1.6, the default)     a stored (uncompressed) zip archive whose entries sit
//                                       under one prefix, usually the file's stem or "archive":
//       <prefix>/data.pkl               the pickled object; tensors refer to storages through
//                                       persistent ids ('storage', torch.FloatStorage, "0", "cpu", numel)
//       <prefix>/data/<key>             each storage's raw little-endian bytes (64-byte aligned)
//       <prefix>/byteorder              "little" or "big" (absent in old files: little)
//       <prefix>/version, .format_version, .storage_alignment, .data/serialization_id (ignored)
//
//   legacy (`_use_new_zipfile_serialization=False`)   five pickles back to back, then the data:
//       magic number 0x1950a86a20f9469cfc6c, protocol version 1001, sys info {little_endian...},
//       the object (persistent ids as above plus a 6th view-metadata element), the sorted list
//       of storage keys; then for each key: numel as a little-endian int64 and the raw bytes.
//
// The pickles are read by the restricted unpickler of TorchPickle.swift (allow-listed globals
// only); storages are zero-copy ranges of a read-only mapping of the file. The host is
// assumed little-endian (all supported platforms are); big-endian checkpoints are rejected.
//
// This file holds `TorchCheckpointFile` and its tensor access; the format parsers are in
// TorchCheckpointFormats.swift, the errors in TorchCheckpointError.swift and the tensor and
// storage infos in TorchTensorInfo.swift.

// MARK: - Checkpoint file

/// A memory-mapped PyTorch checkpoint (zip or legacy format), parsed without executing anything.
///
/// On open the container is validated, the pickle is decoded by a restricted unpickler (see
/// TorchPickle.swift), every storage is checked against the bytes present and every tensor's
/// view (offset, size, stride) against its storage. The state dict is then chosen (see
/// `selectStateDict(in:)`) and its tensors named by their dotted key paths.
///
/// `tensor(_:)` returns fp32, contiguous: F32 data that is contiguous and aligned is a
/// zero-copy view of the mapping; other layouts are gathered, and F16, BF16 and F64 converted.
/// The object is immutable after `init` and safe to share between threads.
public final class TorchCheckpointFile: Sendable {
    public enum Format: Sendable, Equatable {
        /// A zip archive with entries under `prefix` (e.g. `"archive/"`, or `""` at top level).
        case zip(prefix: String)
        /// The pre-1.6 format (`_use_new_zipfile_serialization=False`).
        case legacy
    }

    /// Keys tried, in this order, for a state dict nested in a training checkpoint.
    public static let stateDictKeys = ["state_dict", "model", "module"]
    /// Most tensor names collected from one state dict.
    public static let maxNames = 1_000_000

    /// The file.
    public let url: URL
    public let format: Format
    /// The whole unpickled object (tensors appear as `.tensor` with their path from the root).
    public let root: PickleValue
    /// Keys leading from `root` to the chosen state dict (empty: the root itself).
    public let stateDictPath: [String]
    /// Tensor names of the chosen state dict, in file order (nested dicts joined with ".").
    public let names: [String]
    /// Their infos, in `names` order.
    public let infos: [TorchTensorInfo]
    /// The mapping; tensors returned zero-copy keep it alive.
    public let mapping: MappedFile

    private let byName: [String: TorchTensorInfo]
    /// Byte offset in the file of each storage's first element.
    private let storageOffsets: [String: Int]

    /// Maps and parses the checkpoint at `url`. `stateDictPath` picks the state dict explicitly
    /// (e.g. `["model"]`); by default it is chosen by `selectStateDict(in:)`.
    public init(url: URL, stateDictPath: [String]? = nil) throws {
        self.url = url
        let file = url.path
        let mapping: MappedFile
        do {
            mapping = try MappedFile(url: url)
        } catch let SafeTensorsError.io(_, reason) {
            throw TorchCheckpointError.io(file: file, reason: reason)
        }
        self.mapping = mapping
        let bytes = mapping.bytes

        let parsed: Parsed
        if ZipReader.looksLikeZip(bytes) {
            parsed = try TorchCheckpointFile.parseZip(bytes, file: file)
        } else if bytes.count >= 2, bytes[0] == 0x80 {
            parsed = try TorchCheckpointFile.parseLegacy(bytes, file: file)
        } else {
            throw TorchCheckpointError.notACheckpoint(
                file: file, reason: bytes.isEmpty ? "the file is empty" : "neither a zip archive nor a pickle")
        }
        (format, root, storageOffsets) = parsed

        let path = stateDictPath ?? TorchCheckpointFile.selectStateDict(in: root)
        var stateDict = root
        for (i, key) in path.enumerated() {
            guard let next = stateDict[key] else {
                let at = i == 0 ? "the root object" : "\"\(path[..<i].joined(separator: "."))\""
                throw TorchCheckpointError.noStateDict(file: file, reason: "\(at) has no key \"\(key)\"")
            }
            stateDict = next
        }
        if stateDictPath != nil, stateDict.dictEntries == nil {
            throw TorchCheckpointError.noStateDict(
                file: file, reason: "\"\(path.joined(separator: "."))\" is not a dict")
        }
        self.stateDictPath = path

        var infos: [TorchTensorInfo] = []
        var byName: [String: TorchTensorInfo] = [:]
        // Depth-first in file order, with an explicit stack (no recursion). Shared containers are
        // visited once per path, so the number of visits is bounded.
        var pending: [(PickleValue, String)] = [(stateDict, "")]
        var visits = 0
        while let (v, prefix) = pending.popLast() {
            visits += 1
            guard visits <= TorchCheckpointFile.maxNames else {
                throw TorchCheckpointError.limitExceeded(
                    file: file, record: "state dict", offset: -1,
                    reason: "more than \(TorchCheckpointFile.maxNames) values to name")
            }
            func child(_ key: String) -> String { prefix.isEmpty ? key : prefix + "." + key }
            switch v {
            case let .tensor(t):
                guard byName[prefix] == nil else {
                    throw TorchCheckpointError.invalidTensor(file: file, tensor: prefix, reason: "name appears twice in the state dict")
                }
                let info = t.renamed(prefix)
                byName[prefix] = info
                infos.append(info)
            case let .dict(entries):
                for e in entries.reversed() {
                    switch e.key {
                    case let .string(s): pending.append((e.value, child(s)))
                    case let .int(i): pending.append((e.value, child(String(i))))
                    default: continue
                    }
                }
            case let .list(items), let .tuple(items):
                for (i, item) in items.enumerated().reversed() { pending.append((item, child(String(i)))) }
            default:
                break
            }
        }
        self.infos = infos
        self.names = infos.map(\.name)
        self.byName = byName
    }

    /// The keys leading to the state dict in `root`: none when the root is a dict whose values
    /// are all tensors; else the first of `stateDictKeys` (`state_dict`, `model`, `module`)
    /// whose value is a dict, recursively (`{"model": {"module": ...}}`); else none (the root:
    /// every tensor reachable through dicts and lists is named).
    public static func selectStateDict(in root: PickleValue) -> [String] {
        var path: [String] = []
        var v = root
        while path.count < 8, let entries = v.dictEntries {
            if !entries.isEmpty, entries.allSatisfy({ $0.value.tensorInfo != nil }) { break }
            guard let key = stateDictKeys.first(where: { v[$0]?.dictEntries != nil }) else { break }
            path.append(key)
            v = v[key]!
        }
        return path
    }
    // MARK: Access

    /// The info of tensor `name` of the chosen state dict, or nil.
    public func info(_ name: String) -> TorchTensorInfo? { byName[name] }

    /// Whether the chosen state dict holds a tensor named `name`.
    public func contains(_ name: String) -> Bool { byName[name] != nil }

    private func lookup(_ name: String) throws -> TorchTensorInfo {
        guard let info = byName[name] else { throw TorchCheckpointError.tensorNotFound(file: url.path, tensor: name) }
        return info
    }

    /// Throws unless `info`'s storage is one of this file's.
    private func checkOwned(_ info: TorchTensorInfo) throws {
        guard storageOffsets[info.storageKey] != nil else {
            throw TorchCheckpointError.invalidStorage(file: url.path, storage: info.storageKey, reason: "not a storage of this file")
        }
    }

    private func unsupported(_ info: TorchTensorInfo) -> TorchCheckpointError {
        .unsupportedDType(file: url.path, tensor: info.name, dtype: info.dtype.rawValue)
    }

    /// Address of element `storageOffset` of `info`'s storage (valid while this object lives).
    private func start(_ info: TorchTensorInfo) -> UnsafeRawPointer? {
        guard let base = mapping.base, let offset = storageOffsets[info.storageKey] else { return nil }
        return base + offset + info.storageOffset * info.dtype.byteSize
    }

    /// The bytes of a contiguous tensor inside the mapping (zero-copy; valid while this object
    /// lives), or nil when it is not contiguous.
    public func rawBytes(_ name: String) throws -> UnsafeRawBufferPointer? {
        let info = try lookup(name)
        guard info.isContiguous else { return nil }
        return UnsafeRawBufferPointer(start: info.elementCount == 0 ? nil : start(info), count: info.byteCount)
    }

    /// Copies the tensor's elements in row-major order to `dst` (`byteCount` bytes).
    private func gather(_ info: TorchTensorInfo, into dst: UnsafeMutableRawPointer) {
        let n = info.elementCount, size = info.dtype.byteSize
        guard n > 0, let src = start(info) else { return }
        if info.isContiguous {
            dst.copyMemory(from: src, byteCount: n * size)
            return
        }
        let shape = info.shape, strides = info.strides, r = shape.count
        let inner = shape[r - 1], innerStride = strides[r - 1]
        var index = [Int](repeating: 0, count: r)
        var o = 0
        while o < n {
            var s = 0
            for d in 0..<(r - 1) { s += index[d] * strides[d] }
            if innerStride == 1 {
                (dst + o * size).copyMemory(from: src + s * size, byteCount: inner * size)
            } else {
                for j in 0..<inner {
                    (dst + (o + j) * size).copyMemory(from: src + (s + j * innerStride) * size, byteCount: size)
                }
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

    private func contiguousBytes(_ info: TorchTensorInfo) -> ByteStorage {
        let storage = ByteStorage(byteCount: info.byteCount)
        gather(info, into: storage.raw)
        return storage
    }

    /// Tensor `name` of the chosen state dict as fp32, contiguous.
    ///
    /// Contiguous, 4-byte aligned F32 data is returned zero-copy (the storage borrows the
    /// read-only mapping: never write into it); other F32 layouts are copied; F16 and BF16
    /// are converted exactly, F64 rounded to nearest. Integer and bool dtypes throw
    /// `unsupportedDType` (use `int64Values`).
    public func tensor(_ name: String) throws -> Tensor { try tensor(try lookup(name)) }

    /// Any tensor of the file as fp32, e.g. one found in `root` outside the state dict.
    public func tensor(_ info: TorchTensorInfo) throws -> Tensor {
        try checkOwned(info)
        let n = info.elementCount
        switch info.dtype {
        case .f32:
            if n == 0 { return Tensor(storage: TensorStorage(uninitializedCount: 0), shape: info.shape) }
            let p = start(info)!
            if info.isContiguous, Int(bitPattern: p) % MemoryLayout<Float>.alignment == 0 {
                let floats = UnsafeMutablePointer(mutating: p.assumingMemoryBound(to: Float.self))
                return Tensor(storage: TensorStorage(borrowing: floats, count: n, owner: mapping), shape: info.shape)
            }
            let out = Tensor(uninitializedShape: info.shape)
            gather(info, into: UnsafeMutableRawPointer(out.mutablePointer))
            return out
        case .f16, .bf16:
            let out = Tensor(uninitializedShape: info.shape)
            if n == 0 { return out }
            let bits = info.isContiguous ? nil : contiguousBytes(info)  // strided: gathered first
            withExtendedLifetime(bits) {
                let src = bits.map { UnsafeRawPointer($0.raw) } ?? start(info)!
                SafeTensorsConversion.convert(UnsafeRawBufferPointer(start: src, count: n * 2), to: out.mutablePointer,
                                              count: n, bfloat16: info.dtype == .bf16)
            }
            return out
        case .f64:
            let out = Tensor(uninitializedShape: info.shape)
            if n == 0 { return out }
            let bits = contiguousBytes(info)
            let dst = out.mutablePointer
            for i in 0..<n { dst[i] = Float(Double(bitPattern: bits.raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))) }
            return out
        default:
            throw unsupported(info)
        }
    }

    /// Tensor `name` (an integer or bool dtype: I64, I32, I16, I8, U8, BOOL) as Int64 values
    /// in row-major order, e.g. a `position_ids` buffer. Float dtypes throw `unsupportedDType`.
    public func int64Values(_ name: String) throws -> [Int64] { try int64Values(try lookup(name)) }

    /// As `int64Values(_:)` for any tensor of the file.
    public func int64Values(_ info: TorchTensorInfo) throws -> [Int64] {
        try checkOwned(info)
        let n = info.elementCount
        let storage = contiguousBytes(info)
        defer { withExtendedLifetime(storage) {} }
        let b = storage.raw
        switch info.dtype {
        case .i64: return (0..<n).map { b.load(fromByteOffset: 8 * $0, as: Int64.self) }
        case .i32: return (0..<n).map { Int64(b.load(fromByteOffset: 4 * $0, as: Int32.self)) }
        case .i16: return (0..<n).map { Int64(b.load(fromByteOffset: 2 * $0, as: Int16.self)) }
        case .i8: return (0..<n).map { Int64(b.load(fromByteOffset: $0, as: Int8.self)) }
        case .u8: return (0..<n).map { Int64(b.load(fromByteOffset: $0, as: UInt8.self)) }
        case .bool: return (0..<n).map { b.load(fromByteOffset: $0, as: UInt8.self) != 0 ? 1 : 0 }
        default:
            throw unsupported(info)
        }
    }

    /// The stored 16-bit patterns of an F16 or BF16 tensor in row-major order (copied, any
    /// layout); nil for other dtypes or unknown names.
    public func halfBits(_ name: String) -> [UInt16]? {
        guard let info = byName[name], info.dtype == .f16 || info.dtype == .bf16 else { return nil }
        let n = info.elementCount
        return [UInt16](unsafeUninitializedCapacity: n) { buffer, initialized in
            if n > 0 { gather(info, into: UnsafeMutableRawPointer(buffer.baseAddress!)) }
            initialized = n
        }
    }

    /// Tensor `name` as a bf16 `WeightMatrix` [rows, cols] copied bit for bit when it is stored
    /// as BF16 and two-dimensional (any strides); nil otherwise.
    public func bf16Matrix(_ name: String) -> WeightMatrix? {
        guard let info = byName[name], info.dtype == .bf16, info.shape.count == 2 else { return nil }
        return .bf16(contiguousBytes(info), rows: info.shape[0], cols: info.shape[1])
    }

    /// As `bf16Matrix`, for a matrix stored as F16 (IEEE half): an `.f16` `WeightMatrix`.
    public func f16Matrix(_ name: String) -> WeightMatrix? {
        guard let info = byName[name], info.dtype == .f16, info.shape.count == 2 else { return nil }
        return .f16(contiguousBytes(info), rows: info.shape[0], cols: info.shape[1])
    }

    /// Whether `tensor`'s storage points into this file's mapping (i.e. it was loaded zero-copy).
    public func isMapped(_ tensor: Tensor) -> Bool {
        mapping.contains(UnsafeRawPointer(tensor.storage.pointer))
    }
}
