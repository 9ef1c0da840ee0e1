import CKernels
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// Reading and writing the safetensors format:
//
//     [8 bytes: header length N, little-endian u64]
//     [N bytes: UTF-8 JSON object]  {"__metadata__": {"k": "v"}, "name": {"dtype": "F32",
//                                     "shape": [2, 3], "data_offsets": [begin, end]}, ...}
//     [data section: tensors' bytes, little-endian; offsets are relative to its start]
//
// This is an independent implementation written from the format description.
// The host is assumed to be little-endian (all supported platforms are).

// MARK: - Errors

/// Errors from reading or writing safetensors files. Every message names the file and,
/// where relevant, the tensor.
public enum SafeTensorsError: Error, CustomStringConvertible, Sendable {
    /// The file could not be opened, inspected, mapped or written.
    case io(file: String, reason: String)
    /// The 8-byte length prefix or the JSON header is malformed.
    case invalidHeader(file: String, reason: String)
    /// One header entry is malformed (bad dtype, shape, offsets, overlap...).
    case invalidTensor(file: String, tensor: String, reason: String)
    /// No tensor with this name in the file or checkpoint.
    case tensorNotFound(file: String, tensor: String)
    /// The tensor exists but its dtype cannot be read as fp32.
    case unsupportedDType(file: String, tensor: String, dtype: String)
    /// A sharded checkpoint's `model.safetensors.index.json` is malformed or disagrees with its shards.
    case invalidIndex(file: String, reason: String)
    /// A directory holds neither `model.safetensors` nor `model.safetensors.index.json`.
    case noCheckpoint(directory: String)
    /// The writer was given something it cannot write.
    case invalidArgument(file: String, reason: String)

    public var description: String {
        switch self {
        case let .io(file, reason):
            return "safetensors: \(file): \(reason)"
        case let .invalidHeader(file, reason):
            return "safetensors: \(file): invalid header: \(reason)"
        case let .invalidTensor(file, tensor, reason):
            return "safetensors: \(file): tensor \"\(tensor)\": \(reason)"
        case let .tensorNotFound(file, tensor):
            return "safetensors: \(file): no tensor named \"\(tensor)\""
        case let .unsupportedDType(file, tensor, dtype):
            return "safetensors: \(file): tensor \"\(tensor)\" has dtype \(dtype), which cannot be read as fp32 (supported: F32, F16, BF16, F64)"
        case let .invalidIndex(file, reason):
            return "safetensors: \(file): invalid index: \(reason)"
        case let .noCheckpoint(directory):
            return "safetensors: \(directory): neither model.safetensors nor model.safetensors.index.json found"
        case let .invalidArgument(file, reason):
            return "safetensors: \(file): \(reason)"
        }
    }
}

extension SafeTensorsError: LocalizedError {
    public var errorDescription: String? { description }
}

// MARK: - Header types

/// Element types defined by the safetensors format.
public enum SafeTensorsDType: String, Sendable, CaseIterable {
    case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
    case f8e4m3 = "F8_E4M3", f8e5m2 = "F8_E5M2"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8"
    case u64 = "U64", u32 = "U32", u16 = "U16", u8 = "U8"
    case bool = "BOOL"

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .f64, .i64, .u64: return 8
        case .f32, .i32, .u32: return 4
        case .f16, .bf16, .i16, .u16: return 2
        case .f8e4m3, .f8e5m2, .i8, .u8, .bool: return 1
        }
    }

    /// Whether `SafeTensorsFile.tensor(_:)` can return this dtype as fp32.
    public var isReadableAsFloat: Bool {
        switch self {
        case .f32, .f16, .bf16, .f64: return true
        default: return false
        }
    }
}

/// One tensor's header entry.
public struct SafeTensorInfo: Sendable, Equatable {
    public let name: String
    public let dtype: SafeTensorsDType
    public let shape: [Int]
    /// Byte range relative to the start of the data section (`data_offsets` in the header).
    public let dataOffsets: Range<Int>

    /// Number of elements (product of `shape`; 1 for a scalar).
    public var elementCount: Int { shape.reduce(1, *) }
    /// Number of bytes of data.
    public var byteCount: Int { dataOffsets.count }
}

// MARK: - Single file

/// A memory-mapped `.safetensors` file.
///
/// The header is fully validated on open: the length prefix, JSON syntax, `__metadata__`
/// (a string→string map), each entry's dtype, shape and `data_offsets`, that the byte length
/// matches shape × dtype size, that ranges lie inside the data section, and that no two
/// non-empty tensors overlap. Duplicate top-level keys are rejected too.
///
/// `tensor(_:)` returns F32 data zero-copy (a `Tensor` view over the mapping, which it keeps
/// alive) when the data is 4-byte aligned, and converts F16, BF16 and F64 to fp32 copies.
/// The object is immutable after `init` and safe to share between threads.
public final class SafeTensorsFile: Sendable {
    /// Largest accepted JSON header (100 MB), guarding against absurd length prefixes.
    public static let maxHeaderSize = 100_000_000

    /// The file.
    public let url: URL
    /// The `__metadata__` map (empty if absent).
    public let metadata: [String: String]
    /// Tensor names in data-section order (by begin offset, then name).
    public let names: [String]
    /// All header entries in `names` order.
    public let infos: [SafeTensorInfo]
    /// The mapping; tensors returned zero-copy keep it alive.
    public let mapping: MappedFile
    /// Offset of the data section in the file (8 + header length).
    public let dataStart: Int

    private let byName: [String: SafeTensorInfo]

    /// Maps and validates the file at `url`.
    public init(url: URL) throws {
        self.url = url
        let file = url.path
        let mapping = try MappedFile(url: url)
        self.mapping = mapping
        let bytes = mapping.bytes

        guard bytes.count >= 8 else {
            throw SafeTensorsError.invalidHeader(
                file: file, reason: "file is \(bytes.count) bytes, too short for the 8-byte header length")
        }
        let declared = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        guard declared <= UInt64(SafeTensorsFile.maxHeaderSize) else {
            throw SafeTensorsError.invalidHeader(
                file: file, reason: "header length \(declared) exceeds the \(SafeTensorsFile.maxHeaderSize)-byte limit")
        }
        let headerLength = Int(declared)
        guard headerLength <= bytes.count - 8 else {
            throw SafeTensorsError.invalidHeader(
                file: file, reason: "header length \(headerLength) runs past the end of the \(bytes.count)-byte file")
        }
        let dataStart = 8 + headerLength
        let dataSize = bytes.count - dataStart
        self.dataStart = dataStart

        let headerBytes = UnsafeRawBufferPointer(rebasing: bytes[8..<dataStart])
        let header = try HeaderParser.parse(headerBytes, file: file)

        var infos: [SafeTensorInfo] = []
        infos.reserveCapacity(header.entries.count)
        for (name, entry) in header.entries {
            infos.append(try SafeTensorsFile.validate(name: name, entry: entry, dataSize: dataSize, file: file))
        }
        infos.sort { ($0.dataOffsets.lowerBound, $0.dataOffsets.upperBound, $0.name)
                   < ($1.dataOffsets.lowerBound, $1.dataOffsets.upperBound, $1.name) }
        // Overlap check over non-empty ranges, in begin order.
        var previous: SafeTensorInfo?
        for info in infos where !info.dataOffsets.isEmpty {
            if let p = previous, info.dataOffsets.lowerBound < p.dataOffsets.upperBound {
                throw SafeTensorsError.invalidTensor(
                    file: file, tensor: info.name,
                    reason: "bytes \(info.dataOffsets) overlap tensor \"\(p.name)\" at bytes \(p.dataOffsets)")
            }
            if previous == nil || info.dataOffsets.upperBound > previous!.dataOffsets.upperBound { previous = info }
        }
        self.infos = infos
        self.names = infos.map(\.name)
        self.byName = Dictionary(uniqueKeysWithValues: infos.map { ($0.name, $0) })
        self.metadata = header.metadata
    }

    private static func validate(name: String, entry: HeaderEntry, dataSize: Int, file: String) throws -> SafeTensorInfo {
        func fail(_ reason: String) -> SafeTensorsError {
            .invalidTensor(file: file, tensor: name, reason: reason)
        }
        guard let dtype = SafeTensorsDType(rawValue: entry.dtype) else {
            throw fail("unknown dtype \"\(entry.dtype)\"")
        }
        var elements = 1
        for d in entry.shape {
            guard d >= 0 else { throw fail("negative dimension in shape \(entry.shape)") }
            let (p, overflow) = elements.multipliedReportingOverflow(by: d)
            guard !overflow else { throw fail("shape \(entry.shape) overflows") }
            elements = p
        }
        let (expected, overflow) = elements.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow else { throw fail("shape \(entry.shape) overflows") }
        guard entry.dataOffsets.count == 2 else {
            throw fail("data_offsets must be [begin, end], got \(entry.dataOffsets)")
        }
        let begin = entry.dataOffsets[0], end = entry.dataOffsets[1]
        guard begin >= 0, begin <= end else {
            throw fail("data_offsets [\(begin), \(end)] must satisfy 0 <= begin <= end")
        }
        guard end <= dataSize else {
            throw fail("data_offsets [\(begin), \(end)] run past the \(dataSize)-byte data section (file truncated?)")
        }
        guard end - begin == expected else {
            throw fail("shape \(entry.shape) of \(dtype.rawValue) needs \(expected) bytes but data_offsets [\(begin), \(end)] span \(end - begin)")
        }
        return SafeTensorInfo(name: name, dtype: dtype, shape: entry.shape, dataOffsets: begin..<end)
    }

    /// The header entry for `name`, or `nil`.
    public func info(_ name: String) -> SafeTensorInfo? { byName[name] }

    /// Whether the file holds a tensor named `name`.
    public func contains(_ name: String) -> Bool { byName[name] != nil }

    /// The raw bytes of tensor `name` inside the mapping (valid while this object lives).
    public func rawBytes(_ name: String) throws -> UnsafeRawBufferPointer {
        guard let info = byName[name] else { throw SafeTensorsError.tensorNotFound(file: url.path, tensor: name) }
        return rawBytes(info)
    }

    private func rawBytes(_ info: SafeTensorInfo) -> UnsafeRawBufferPointer {
        guard let base = mapping.base else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: base + dataStart + info.dataOffsets.lowerBound, count: info.byteCount)
    }

    /// Tensor `name` as fp32.
    ///
    /// F32 data that is 4-byte aligned in memory is returned zero-copy: the tensor's storage
    /// borrows the read-only mapping (never write into it). Unaligned F32 data is copied.
    /// F16 and BF16 are converted exactly (including subnormals, infinities and NaNs); F64 is
    /// rounded to the nearest fp32. Other dtypes throw `SafeTensorsError.unsupportedDType`.
    /// Tensor `name` as a bf16 `WeightMatrix` [rows, cols] copied bit for bit when it is stored
    /// as BF16 and two-dimensional (no fp32 copy on the way); nil otherwise.
    public func bf16Matrix(_ name: String) -> WeightMatrix? {
        guard let info = byName[name], info.dtype == .bf16, info.shape.count == 2 else { return nil }
        return .bf16(copy(info), rows: info.shape[0], cols: info.shape[1])
    }

    /// As `bf16Matrix`, for a matrix stored as F16 (IEEE half): an `.f16` `WeightMatrix`.
    public func f16Matrix(_ name: String) -> WeightMatrix? {
        guard let info = byName[name], info.dtype == .f16, info.shape.count == 2 else { return nil }
        return .f16(copy(info), rows: info.shape[0], cols: info.shape[1])
    }

    /// The stored bytes of a tensor, copied bit for bit.
    private func copy(_ info: SafeTensorInfo) -> ByteStorage {
        let storage = ByteStorage(byteCount: info.byteCount)
        if info.byteCount > 0 { storage.raw.copyMemory(from: rawBytes(info).baseAddress!, byteCount: info.byteCount) }
        return storage
    }

    public func tensor(_ name: String) throws -> Tensor {
        guard let info = byName[name] else { throw SafeTensorsError.tensorNotFound(file: url.path, tensor: name) }
        let n = info.elementCount
        let src = rawBytes(info)
        switch info.dtype {
        case .f32:
            if n == 0 { return Tensor(storage: TensorStorage(uninitializedCount: 0), shape: info.shape) }
            let p = src.baseAddress!
            if Int(bitPattern: p) % MemoryLayout<Float>.alignment == 0 {
                let floats = UnsafeMutablePointer(mutating: p.assumingMemoryBound(to: Float.self))
                return Tensor(storage: TensorStorage(borrowing: floats, count: n, owner: mapping), shape: info.shape)
            }
            let out = Tensor(uninitializedShape: info.shape)
            UnsafeMutableRawPointer(out.mutablePointer).copyMemory(from: p, byteCount: info.byteCount)
            return out
        case .f16, .bf16:
            let out = Tensor(uninitializedShape: info.shape)
            SafeTensorsConversion.convert(src, to: out.mutablePointer, count: n, bfloat16: info.dtype == .bf16)
            return out
        case .f64:
            let out = Tensor(uninitializedShape: info.shape)
            let dst = out.mutablePointer
            for i in 0..<n {
                let bits = UInt64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))
                dst[i] = Float(Double(bitPattern: bits))
            }
            return out
        default:
            throw SafeTensorsError.unsupportedDType(file: url.path, tensor: name, dtype: info.dtype.rawValue)
        }
    }

    /// Whether `tensor`'s storage points into this file's mapping (i.e. it was loaded zero-copy).
    public func isMapped(_ tensor: Tensor) -> Bool {
        mapping.contains(UnsafeRawPointer(tensor.storage.pointer))
    }
}

// MARK: - Conversions

/// Exact conversions from 16-bit float formats to fp32, through the SIMD kernels of CKernels
/// (`bk_f16_to_f32`, `bk_bf16_to_f32`).
public enum SafeTensorsConversion {
    /// IEEE 754 binary16 → fp32 (exact; subnormals, ±0, ±inf and NaN payloads preserved).
    public static func halfToFloat(_ h: UInt16) -> Float {
        var h = h, f: Float = 0
        bk_f16_to_f32(&h, &f, 1)
        return f
    }

    /// bfloat16 → fp32 (exact: bfloat16 is the top half of an fp32).
    public static func bfloat16ToFloat(_ b: UInt16) -> Float {
        var b = b, f: Float = 0
        bk_bf16_to_f32(&b, &f, 1)
        return f
    }

    /// `count` little-endian F16 (or BF16) values at `src` → fp32 at `dst`; read in place when
    /// 2-byte aligned, copied to an aligned buffer first otherwise.
    static func convert(_ src: UnsafeRawBufferPointer, to dst: UnsafeMutablePointer<Float>, count: Int, bfloat16: Bool) {
        let kernel = bfloat16 ? bk_bf16_to_f32 : bk_f16_to_f32
        guard let p = src.baseAddress, count > 0 else { return }
        if Int(bitPattern: p) % MemoryLayout<UInt16>.alignment == 0 {
            kernel(p.assumingMemoryBound(to: UInt16.self), dst, count)
        } else {
            let aligned = (0..<count).map { src.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self) }
            aligned.withUnsafeBufferPointer { kernel($0.baseAddress!, dst, count) }
        }
    }
}
