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
        case .f16:
            let out = Tensor(uninitializedShape: info.shape)
            let dst = out.mutablePointer
            for i in 0..<n {
                dst[i] = SafeTensorsConversion.halfToFloat(
                    UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            }
            return out
        case .bf16:
            let out = Tensor(uninitializedShape: info.shape)
            let dst = out.mutablePointer
            for i in 0..<n {
                dst[i] = SafeTensorsConversion.bfloat16ToFloat(
                    UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            }
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

/// Exact conversions from 16-bit float formats to fp32.
public enum SafeTensorsConversion {
    /// IEEE 754 binary16 → fp32 (exact; subnormals, ±0, ±inf and NaN payloads preserved).
    @inline(__always)
    public static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = UInt32(h >> 10) & 0x1F
        let mantissa = UInt32(h & 0x03FF)
        if exponent == 0x1F {  // inf / NaN
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        }
        if exponent == 0 {  // zero / subnormal: mantissa × 2^-24, exact in fp32
            let magnitude = Float(mantissa) * 0x1p-24
            return sign != 0 ? -magnitude : magnitude
        }
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }

    /// bfloat16 → fp32 (exact: bfloat16 is the top half of an fp32).
    @inline(__always)
    public static func bfloat16ToFloat(_ b: UInt16) -> Float {
        Float(bitPattern: UInt32(b) << 16)
    }
}

// MARK: - Header parsing

struct HeaderEntry: Decodable {
    let dtype: String
    let shape: [Int]
    let dataOffsets: [Int]

    enum CodingKeys: String, CodingKey {
        case dtype, shape
        case dataOffsets = "data_offsets"
    }

    /// Decodes field by field so messages say which field is wrong and how.
    init(from decoder: Decoder) throws {
        let c: KeyedDecodingContainer<CodingKeys>
        do {
            c = try decoder.container(keyedBy: CodingKeys.self)
        } catch {
            throw HeaderParser.FieldError(reason: "entry must be an object with dtype, shape and data_offsets")
        }
        func field<T: Decodable>(_ key: CodingKeys, _ type: T.Type, _ expected: String) throws -> T {
            guard c.contains(key) else { throw HeaderParser.FieldError(reason: "missing \"\(key.stringValue)\"") }
            do {
                return try c.decode(type, forKey: key)
            } catch {
                throw HeaderParser.FieldError(reason: "\"\(key.stringValue)\" must be \(expected)")
            }
        }
        dtype = try field(.dtype, String.self, "a string")
        shape = try field(.shape, [Int].self, "an array of integers")
        dataOffsets = try field(.dataOffsets, [Int].self, "an array of two integers")
    }
}

struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// A short, readable summary of a DecodingError.
func describeDecodingError(_ error: Error) -> String {
    guard let e = error as? DecodingError else { return "\(error)" }
    func path(_ p: [CodingKey]) -> String {
        p.isEmpty ? "value" : "\"" + p.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".") + "\""
    }
    switch e {
    case let .keyNotFound(key, _):
        return "missing \"\(key.stringValue)\""
    case let .typeMismatch(type, ctx):
        return "\(path(ctx.codingPath)) has the wrong type (expected \(type))"
    case let .valueNotFound(type, ctx):
        return "\(path(ctx.codingPath)) is null (expected \(type))"
    case let .dataCorrupted(ctx):
        let detail = ctx.underlyingError.map { " (\($0))" } ?? ""
        return (ctx.codingPath.isEmpty ? "" : path(ctx.codingPath) + ": ") + ctx.debugDescription + detail
    @unknown default:
        return "\(e)"
    }
}

enum HeaderParser {
    struct Header {
        var metadata: [String: String] = [:]
        var entries: [(String, HeaderEntry)] = []
    }

    /// What is wrong with one field of an entry.
    struct FieldError: Error {
        let reason: String
    }

    /// Error thrown from inside `Decodable` so the tensor name survives JSONDecoder.
    struct EntryError: Error {
        let key: String
        let reason: String
    }

    struct Top: Decodable {
        var header = Header()
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: AnyKey.self)
            for key in c.allKeys {
                let name = key.stringValue
                if name == "__metadata__" {
                    do {
                        header.metadata = try c.decode([String: String].self, forKey: key)
                    } catch {
                        throw EntryError(key: name, reason: "__metadata__ must be an object of strings to strings")
                    }
                } else {
                    do {
                        header.entries.append((name, try c.decode(HeaderEntry.self, forKey: key)))
                    } catch {
                        throw EntryError(key: name, reason: (error as? FieldError)?.reason ?? describeDecodingError(error))
                    }
                }
            }
        }
    }

    static func parse(_ bytes: UnsafeRawBufferPointer, file: String) throws -> Header {
        let data = Data(bytes)
        let top: Top
        do {
            top = try JSONDecoder().decode(Top.self, from: data)
        } catch let e as EntryError {
            if e.key == "__metadata__" { throw SafeTensorsError.invalidHeader(file: file, reason: e.reason) }
            throw SafeTensorsError.invalidTensor(file: file, tensor: e.key, reason: "bad header entry: \(e.reason)")
        } catch DecodingError.typeMismatch(_, let ctx) where ctx.codingPath.isEmpty {
            throw SafeTensorsError.invalidHeader(file: file, reason: "header is not a JSON object")
        } catch {
            throw SafeTensorsError.invalidHeader(file: file, reason: "header is not valid JSON: \(describeDecodingError(error))")
        }
        // JSONDecoder silently keeps one of several equal keys; reject duplicates explicitly.
        if let dup = duplicateTopLevelKey(in: bytes) {
            throw SafeTensorsError.invalidHeader(file: file, reason: "duplicate key \"\(dup)\"")
        }
        return top.header
    }

    /// Scans already-validated JSON text for a repeated key in the top-level object.
    static func duplicateTopLevelKey(in bytes: UnsafeRawBufferPointer) -> String? {
        var seen = Set<String>()
        var depth = 0
        var i = 0
        let n = bytes.count
        while i < n {
            let c = bytes[i]
            switch c {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                i += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                i += 1
            case UInt8(ascii: "\""):
                // Find the closing quote, skipping escapes.
                var j = i + 1
                var escaped = false
                while j < n, bytes[j] != UInt8(ascii: "\"") {
                    if bytes[j] == UInt8(ascii: "\\") { escaped = true; j += 1 }
                    j += 1
                }
                let raw = UnsafeRawBufferPointer(rebasing: bytes[i...min(j, n - 1)])
                i = j + 1
                guard depth == 1 else { continue }
                // A key is followed (after whitespace) by ':'.
                var k = i
                while k < n, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[k]) { k += 1 }
                guard k < n, bytes[k] == UInt8(ascii: ":") else { continue }
                let key: String
                if escaped {
                    key = (try? JSONDecoder().decode(String.self, from: Data(raw))) ?? String(decoding: raw, as: UTF8.self)
                } else {
                    key = String(decoding: raw.dropFirst().dropLast(), as: UTF8.self)
                }
                if !seen.insert(key).inserted { return key }
            default:
                i += 1
            }
        }
        return nil
    }
}

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

    /// Tensor `name` as fp32 (see `SafeTensorsFile.tensor(_:)`).
    public func tensor(_ name: String) throws -> Tensor {
        guard let f = fileFor[name] else {
            throw SafeTensorsError.tensorNotFound(file: directory.path, tensor: name)
        }
        return try f.tensor(name)
    }
}

// MARK: - Writer

/// Writes F32 safetensors files.
public enum SafeTensorsWriter {
    /// Writes `tensors` (in the given order, as F32) and optional `__metadata__` to `url`.
    ///
    /// The JSON header is padded with spaces to a multiple of 8 bytes, so every tensor's data
    /// is 8-byte aligned in the file. The file is written to a temporary file in the same
    /// directory and renamed into place, so readers never see a partial file.
    public static func write(_ tensors: [(name: String, tensor: Tensor)], to url: URL,
                             metadata: [String: String]? = nil) throws
    {
        let file = url.path
        var seen = Set<String>()
        var entries: [String] = []
        if let metadata {
            let items = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
            entries.append("\"__metadata__\":{\(items.joined(separator: ","))}")
        }
        var offset = 0
        for (name, t) in tensors {
            guard name != "__metadata__" else {
                throw SafeTensorsError.invalidArgument(file: file, reason: "\"__metadata__\" cannot name a tensor")
            }
            guard seen.insert(name).inserted else {
                throw SafeTensorsError.invalidArgument(file: file, reason: "duplicate tensor name \"\(name)\"")
            }
            let bytes = t.count * MemoryLayout<Float>.size
            let shape = t.shape.map(String.init).joined(separator: ",")
            entries.append("\(jsonString(name)):{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        var header = Array(("{" + entries.joined(separator: ",") + "}").utf8)
        while header.count % 8 != 0 { header.append(UInt8(ascii: " ")) }

        let directory = url.deletingLastPathComponent()
        let temp = directory.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        let fd = open(temp.path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else {
            throw SafeTensorsError.io(file: file, reason: "cannot create \(temp.path): \(MappedFile.errnoString())")
        }
        var fdOpen = true
        var finished = false
        defer {
            if fdOpen { close(fd) }
            if !finished { unlink(temp.path) }
        }
        func put(_ p: UnsafeRawPointer?, _ count: Int) throws {
            var done = 0
            while done < count {
                let r = posixWrite(fd, p! + done, count - done)
                if r < 0 {
                    if errno == EINTR { continue }
                    throw SafeTensorsError.io(file: file, reason: "write failed: \(MappedFile.errnoString())")
                }
                done += r
            }
        }
        var length = UInt64(header.count).littleEndian
        try withUnsafeBytes(of: &length) { try put($0.baseAddress, 8) }
        try header.withUnsafeBytes { try put($0.baseAddress, header.count) }
        for (_, t) in tensors where t.count > 0 {
            let c = t.contiguous()
            try put(UnsafeRawPointer(c.pointer), c.count * MemoryLayout<Float>.size)
        }
        let synced = fsync(fd) == 0
        fdOpen = false
        guard close(fd) == 0, synced else {
            throw SafeTensorsError.io(file: file, reason: "cannot flush \(temp.path): \(MappedFile.errnoString())")
        }
        guard rename(temp.path, file) == 0 else {
            throw SafeTensorsError.io(file: file, reason: "cannot rename \(temp.path) into place: \(MappedFile.errnoString())")
        }
        finished = true
    }

    /// A JSON string literal for `s`.
    static func jsonString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20:
                out += "\\u" + String(repeating: "0", count: 4 - String(u.value, radix: 16).count) + String(u.value, radix: 16)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }
}

@inline(__always)
private func posixWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
    write(fd, p, n)
}
