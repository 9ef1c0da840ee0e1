import Foundation

// What GLOBAL / STACK_GLOBAL / INST / OBJ, REDUCE / NEWOBJ and BINPERSID may do: names are
// resolved against the fixed allow-list of TorchPickle.swift (anything else throws
// `forbiddenGlobal`), the allowed callables are implemented here, and persistent ids are
// checked and recorded as storage references.

/// A storage referenced by a persistent id: a (view of a) root storage `key`.
struct PickleStorageRef: Equatable {
    let key: String
    let dtype: SafeTensorsDType
    /// Elements of the root storage.
    let numel: Int
    let location: String
    /// The view's first element and element count inside the root storage (the whole storage
    /// except for legacy storage views).
    let base: Int
    let count: Int
}

extension Unpickler {
    enum Global: Equatable {
        case orderedDict, rebuildTensorV2, rebuildTensor, rebuildParameter, rebuildParameterWithState
        case storageType(SafeTensorsDType)
        case codecsEncode, bytesType
    }

    struct TensorRef {
        let storage: PickleStorageRef
        /// Offset from the start of `storage`'s view, in elements.
        let offset: Int
        let shape: [Int]
        let strides: [Int]
    }

    // MARK: Globals

    private static let storageTypes: [String: SafeTensorsDType] = [
        "FloatStorage": .f32, "HalfStorage": .f16, "BFloat16Storage": .bf16, "DoubleStorage": .f64,
        "LongStorage": .i64, "IntStorage": .i32, "ShortStorage": .i16, "CharStorage": .i8,
        "ByteStorage": .u8, "BoolStorage": .bool,
    ]

    func resolve(module: String, name: String) throws -> Item {
        let full = "\(module).\(name)"
        let g: Global?
        switch (module, name) {
        case ("collections", "OrderedDict"): g = .orderedDict
        case ("torch._utils", "_rebuild_tensor_v2"): g = .rebuildTensorV2
        case ("torch._utils", "_rebuild_tensor"): g = .rebuildTensor
        case ("torch._utils", "_rebuild_parameter"): g = .rebuildParameter
        case ("torch._utils", "_rebuild_parameter_with_state"): g = .rebuildParameterWithState
        case ("_codecs", "encode"): g = .codecsEncode
        case ("builtins", "bytes"), ("__builtin__", "bytes"): g = .bytesType
        case let ("torch", n): g = Unpickler.storageTypes[n].map { .storageType($0) }
        default: g = nil
        }
        guard let g else {
            throw TorchCheckpointError.forbiddenGlobal(file: file, record: record, offset: opStart, global: full)
        }
        return .global(g, full)
    }

    func call(_ callable: Item, _ args: [Item]) throws -> Item {
        guard case let .global(g, name) = callable else { throw invalid("REDUCE on something that is not a global") }
        func int(_ item: Item, _ what: String) throws -> Int {
            guard case let .int(v) = item, let i = Int(exactly: v) else { throw invalid("\(name): \(what) must be an int") }
            return i
        }
        func ints(_ item: Item, _ what: String) throws -> [Int] {
            guard case let .box(b) = item, b.kind != .dict else { throw invalid("\(name): \(what) must be a tuple of ints") }
            guard b.items.count <= PickleLimits.maxRank else {
                throw limit("\(name): \(what) has \(b.items.count) dimensions (at most \(PickleLimits.maxRank))")
            }
            return try b.items.map { try int($0, what) }
        }
        switch g {
        case .orderedDict:
            let d = newBox(.dict)
            if args.count == 1, case let .box(pairs) = args[0], pairs.kind != .dict {
                for p in pairs.items {
                    guard case let .box(kv) = p, kv.kind != .dict, kv.items.count == 2 else {
                        throw invalid("OrderedDict() argument must be (key, value) pairs")
                    }
                    try setItem(try dictBox(d, "OrderedDict"), kv.items[0], kv.items[1])
                }
            } else if !args.isEmpty {
                throw invalid("OrderedDict() takes no arguments or a list of pairs here")
            }
            return d
        case .rebuildTensorV2, .rebuildTensor:
            let v2 = g == .rebuildTensorV2
            guard v2 ? (args.count == 6 || args.count == 7) : args.count == 4 else {
                throw invalid("\(name) takes \(v2 ? "6 or 7" : "4") arguments, got \(args.count)")
            }
            guard case let .storage(storage) = args[0] else { throw invalid("\(name): first argument must be a storage") }
            let offset = try int(args[1], "storage_offset")
            let shape = try ints(args[2], "size"), strides = try ints(args[3], "stride")
            return .tensor(TensorRef(storage: storage, offset: offset, shape: shape, strides: strides))
        case .rebuildParameter, .rebuildParameterWithState:
            let arity = g == .rebuildParameter ? 3 : 4
            guard args.count == arity else { throw invalid("\(name) takes \(arity) arguments, got \(args.count)") }
            guard case .tensor = args[0] else { throw invalid("\(name): first argument must be a tensor") }
            return args[0]
        case .codecsEncode:
            guard args.count == 2, case let .string(s) = args[0], case let .string(enc) = args[1],
                  ["latin1", "latin-1", "iso-8859-1", "iso8859-1"].contains(enc.lowercased())
            else { throw invalid("_codecs.encode is only accepted as encode(str, \"latin1\")") }
            var out: [UInt8] = []
            out.reserveCapacity(s.unicodeScalars.count)
            for u in s.unicodeScalars {
                guard u.value <= 0xFF else { throw invalid("_codecs.encode: character U+\(String(u.value, radix: 16)) is not latin-1") }
                out.append(UInt8(u.value))
            }
            return .bytes(out)
        case .bytesType:
            guard args.isEmpty else { throw invalid("\(name) is only accepted with no arguments") }
            return .bytes([])
        case .storageType:
            throw invalid("\(name) can only appear inside a persistent id")
        }
    }

    // MARK: Persistent ids

    func persistentLoad(_ pid: Item) throws -> Item {
        guard case let .box(t) = pid, t.kind == .tuple, t.items.count == 5 || t.items.count == 6,
              case .string("storage") = t.items[0]
        else { throw invalid("persistent id must be a ('storage', type, key, location, numel) tuple") }
        guard case let .global(.storageType(dtype), _) = t.items[1] else {
            throw invalid("persistent id: second element must be a storage type")
        }
        let key: String
        switch t.items[2] {
        case let .string(s): key = s
        case let .int(i): key = String(i)
        default: throw invalid("persistent id: storage key must be a string")
        }
        guard case let .string(location) = t.items[3] else { throw invalid("persistent id: location must be a string") }
        guard case let .int(n) = t.items[4], n >= 0, let numel = Int(exactly: n),
              !numel.multipliedReportingOverflow(by: dtype.byteSize).overflow
        else { throw invalid("persistent id: numel must be a non-negative int") }
        var base = 0, count = numel
        if t.items.count == 6 {
            switch t.items[5] {
            case .none: break
            case let .box(v) where v.kind == .tuple && v.items.count == 3:
                // Legacy storage view: (view key, offset, size) in elements of the root storage.
                guard case let .int(o) = v.items[1], case let .int(s) = v.items[2], o >= 0, s >= 0,
                      let off = Int(exactly: o), let size = Int(exactly: s), off <= numel, size <= numel - off
                else { throw invalid("persistent id: storage view (key, offset, size) out of the storage's \(numel) elements") }
                base = off
                count = size
            default: throw invalid("persistent id: view metadata must be None or (key, offset, size)")
            }
        }
        let ref = PickleStorageRef(key: key, dtype: dtype, numel: numel, location: location, base: base, count: count)
        if let seen = storages[key] {
            guard seen.dtype == dtype, seen.numel == numel else {
                throw TorchCheckpointError.invalidStorage(
                    file: file, storage: key,
                    reason: "referenced as \(seen.numel) × \(seen.dtype.rawValue) and as \(numel) × \(dtype.rawValue)")
            }
        } else {
            storages[key] = PickleStorageRef(key: key, dtype: dtype, numel: numel, location: location, base: 0, count: numel)
            storageOrder.append(key)
        }
        return .storage(ref)
    }
}
